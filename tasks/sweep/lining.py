"""When a sweep lines trials up behind running ones, and when it waits for its recorder to catch up.

Lining up (see ``placement``) saves the ~20 ms a worker idles between short
trials on a 2-core machine while a result travels to the sweep and a new
trial back. It costs the recorder CPU on a small machine, so it pauses while
the recorder is behind; under a time budget the sweep also stops handing out
trials while the recorder is far behind, so the run does not outlast its
budget waiting for it at the end.
"""

from __future__ import annotations

import numpy as np

from components.experiment.leaderboard import Leaderboard

# A sweep lines trials up once this many have finished and the median of the last few took less than
# LINE_UP_BELOW_S: there the ~20 ms a worker idles between trials is 2% or more of each, and a trial left waiting on a
# busy worker at the sweep's end costs at most about a second.
LINE_UP_AFTER = 4
LINE_UP_BELOW_S = 1.0
# ... and while the recorder is fewer than this many trials behind. On the 2-core machine, lining up regardless
# ended a sweep of 200 trials of 50 ms sooner only while the recorder kept pace (~30 ms of CPU a trial): in runs
# where it fell 45-79 trials behind, waiting for it at the end took 1.7-3.6 s and lining up saved nothing.
LINE_UP_UNRECORDED = 8
# Trials the recorder may be behind by, under a time budget, before the sweep waits for it (~0.03-0.3 s each).
MAX_UNRECORDED = 16


def lines_up(board: Leaderboard, sampling: str, slots: int) -> bool:
    """Whether the sweep's trials are short enough to line up behind each other on the workers.

    Never for a bayesian sweep of one trial at a time: a trial sampled while
    the one before it runs would not know its result, and such a sweep is
    reproducible (a resumed one tries what an uninterrupted one would) only
    because each trial does.
    """
    if sampling == "bayesian" and slots == 1:
        return False
    recent = [r.duration_s for r in board.results[-2 * LINE_UP_AFTER :]]
    return len(recent) >= LINE_UP_AFTER and float(np.median(recent)) < LINE_UP_BELOW_S


def recorder_keeps_pace(n_unrecorded: int, recorder_ready: bool) -> bool:
    """Whether lined-up trials may keep the workers busier: the recorder is not behind (or is still starting).

    While it starts, the trials finished meanwhile are a few seconds' backlog; once it runs and falls behind,
    trials go out one per thread and the round trips give it the CPU.
    """
    return n_unrecorded < LINE_UP_UNRECORDED or not recorder_ready


def waits_for_recorder(limited: bool, n_unrecorded: int, recorder_ready: bool) -> bool:
    """Whether the sweep holds new trials back until the recorder catches up.

    Only under a time budget, where a recorder far behind (MLflow on a loaded machine, trials of milliseconds) would
    make the run outlast it after the sweep; and not while its process starts: holding trials back for its imports
    cost 2.4 s of a 13 s sweep of 50 ms trials. Without a budget the backlog is waited for at the end only: holding
    trials back meanwhile cost ~1 s of a 10 s sweep of 50 ms trials.
    """
    return limited and n_unrecorded >= MAX_UNRECORDED and recorder_ready
