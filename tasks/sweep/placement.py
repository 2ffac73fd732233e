"""Where a trial goes: a worker with a free thread (a GPU worker for a GPU trial), or lined up behind a running trial.

jido places trials itself rather than leave them to Dask's scheduler, for two
measured reasons (docs/architecture.md): left to the scheduler, trials
sometimes queued on one worker while another idled, and only a trial waiting
on its worker starts the moment the one ahead ends, without the round trip of
a result to the sweep and a new trial back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class WorkerTable:
    """The cluster's workers (threads, GPUs, name), asked of the scheduler again only when the set of workers changes.

    Placing a trial then costs one scheduler call (what each worker is running).

    Args:
        parts: the futures every trial takes (the data and the fold plan).
    """

    def __init__(self, client, parts: Sequence = ()):
        self.client = client
        self.workers: dict[str, tuple[int, float, str]] = {}
        self.parts = list(parts)
        self._holding: set[str] = set()

    def processing(self) -> dict[str, tuple]:
        """Keys each worker is running, refreshing the table when workers came or went."""
        processing = self.client.processing()
        if set(processing) != set(self.workers):
            info = self.client.scheduler_info(n_workers=-1)["workers"]
            self.workers = {
                w: (i["nthreads"], i.get("resources", {}).get("GPU", 0), i["name"]) for w, i in info.items()
            }
            self._holding = set()  # a worker that came back at the same address holds nothing
        return {w: keys for w, keys in processing.items() if w in self.workers}

    def holding(self, candidates: list[str]) -> list[str]:
        """Those of ``candidates`` that hold every part a trial takes, in their order.

        A trial lined up on a worker that must first fetch the parts (one that
        joined or was replaced after they were shipped) may run before the
        trial it was lined up behind: when the parts arrive, Dask starts
        whichever of the two waiting tasks it comes to first, whatever their
        priorities. The sweep would then blame a failure on the wrong trial
        (CI saw a trial that never ran recorded as failed, and the crashing
        one sent again). Here 2 to 16 pairs in 200 sent to a worker that had
        to fetch their data ran in reverse, none in 600 to one that held it.
        """
        if self.parts and any(w not in self._holding for w in candidates):
            who_has = self.client.who_has(self.parts)
            self._holding = set.intersection(*(set(who_has.get(part.key, ())) for part in self.parts))
        return [w for w in candidates if not self.parts or w in self._holding]


def placement(
    table: WorkerTable,
    gpus: float,
    running_gpus: dict[str, float],
    placed: dict[str, str],
    slots: float = math.inf,
    line_up: bool = False,
) -> tuple[dict, str, bool] | None:
    """Where a trial may go now: ``client.submit`` options, the worker's address and whether it waits there; None when
    nowhere.

    While fewer than ``slots`` trials run, a new trial goes to one worker with
    an idle thread. Once every slot runs one, a CPU trial may be lined up
    (``line_up``) behind a running trial, one per busy thread: the worker
    starts it the moment its thread frees, instead of idling through the round
    trip of a result to this process and a new trial back (~20 ms on the
    2-core machine, a fifth of a 50 ms trial's turn), and only on a worker
    that holds the trials' data already (see WorkerTable.holding). CPU trials
    stay off workers that advertise GPUs, unless the cluster has no other
    kind; GPU trials hold ``resources={"GPU": gpus}`` on a worker with that
    many GPUs unheld, and are never lined up.

    Args:
        running_gpus: GPUs held by each running trial, by Dask key.
        placed: the worker (address) each running trial was sent to, by Dask
            key. A trial just submitted may not be on the scheduler's
            ``processing`` list yet; counting it here keeps the next trial
            off its worker. Entries for workers that are gone are ignored.
        slots: how many trials may run at once (max_concurrent_iterations).
        line_up: whether a trial may wait behind a running one.
    """
    processing = table.processing()
    workers = table.workers
    trials = {w: {k for k in keys if str(k).startswith("trial-")} for w, keys in processing.items()}
    for key, worker in placed.items():
        if worker in trials:
            trials[worker].add(key)
    busy = sum(min(len(trials[w]), workers[w][0]) for w in processing)
    if busy < slots:
        open_ = [w for w in processing if len(trials[w]) < workers[w][0]]
        queued = False
    elif line_up and not gpus:  # a busy thread's next trial, never one on an idle thread past the slots
        open_ = table.holding([w for w in processing if workers[w][0] <= len(trials[w]) < 2 * workers[w][0]])
        queued = True
    else:
        return None
    if gpus:
        free = [w for w in open_ if workers[w][1] - sum(running_gpus.get(k, 0) for k in trials[w]) >= gpus]
        return (
            ({"workers": free[:1], "allow_other_workers": True, "resources": {"GPU": gpus}}, free[0], False)
            if free
            else None
        )
    has_gpu = {w for w in processing if workers[w][1]}
    if has_gpu and len(has_gpu) < len(processing):
        open_ = [w for w in open_ if w not in has_gpu]
    if not open_:
        return None
    if queued or (has_gpu and len(has_gpu) < len(processing)):
        # Bound by name, strictly: a CPU trial must not drift onto a GPU worker,
        # nor a lined-up trial be stolen by a worker past the slots; a worker
        # keeps its name when its nanny restarts it.
        return {"workers": [workers[open_[0]][2]], "allow_other_workers": False}, open_[0], queued
    return {"workers": open_[:1], "allow_other_workers": True}, open_[0], queued


def cluster_gpus(client) -> float:
    """The GPUs the cluster's workers advertise, in all."""
    return sum(
        info.get("resources", {}).get("GPU", 0) for info in client.scheduler_info(n_workers=-1)["workers"].values()
    )
