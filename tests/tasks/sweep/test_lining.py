"""When a sweep lines trials up, and when it waits for its recorder."""

from __future__ import annotations

from components.experiment.leaderboard import Leaderboard
from components.experiment.results import TrialResult
from tasks.sweep.lining import LINE_UP_UNRECORDED, MAX_UNRECORDED, lines_up, recorder_keeps_pace, waits_for_recorder


def test_trials_line_up_once_the_last_few_took_under_a_second():
    board = Leaderboard("AUC_weighted")
    for i in range(3):
        board.add(TrialResult(i, "SGD", {}, "completed", 0.9, 0.05))
    assert not lines_up(board, "random", 2)  # too few to go by
    board.add(TrialResult(3, "SGD", {}, "failed", None, 0.01))
    assert lines_up(board, "random", 2) and lines_up(board, "random", 1) and lines_up(board, "bayesian", 2)
    assert not lines_up(board, "bayesian", 1)  # each trial sampled knowing every result before it
    for i in range(4, 9):  # the last eight: five of 3 s and three short ones
        board.add(TrialResult(i, "RandomForest", {}, "completed", 0.9, 3.0))
    assert not lines_up(board, "random", 2)


def test_lined_up_trials_pause_while_the_recorder_is_behind_but_not_while_it_starts():
    assert recorder_keeps_pace(LINE_UP_UNRECORDED - 1, recorder_ready=True)
    assert not recorder_keeps_pace(LINE_UP_UNRECORDED, recorder_ready=True)
    assert recorder_keeps_pace(LINE_UP_UNRECORDED + 50, recorder_ready=False)  # a starting process's backlog of seconds


def test_only_a_sweep_under_a_budget_waits_for_a_recorder_far_behind():
    assert waits_for_recorder(limited=True, n_unrecorded=MAX_UNRECORDED, recorder_ready=True)
    assert not waits_for_recorder(limited=True, n_unrecorded=MAX_UNRECORDED - 1, recorder_ready=True)
    assert not waits_for_recorder(limited=False, n_unrecorded=10 * MAX_UNRECORDED, recorder_ready=True)
    assert not waits_for_recorder(limited=True, n_unrecorded=10 * MAX_UNRECORDED, recorder_ready=False)
