"""Waiting on trials, and ending them: cancelled, with their workers restarted so their computations really stop."""

from __future__ import annotations

from components.experiment.results import TrialResult
from components.experiment.trial import TrialConfig


def stop_trials(client, futures: list, logger, restart: bool = True, patience_s: float = 60) -> None:
    """Cancels trials and restarts the workers running them (all at once), so their computations really end.

    Without ``restart`` the trials are only cancelled: for jido's own cluster
    when the sweep is over, since closing the cluster ends them anyway.
    ``patience_s`` bounds the wait for the restarted workers to come back.
    """
    keys = {future.key for future in futures}
    running_on = [worker for worker, held in client.processing().items() if keys & set(held)] if restart else []
    for future in futures:
        future.cancel()
    if running_on:
        try:
            client.restart_workers(running_on, timeout=patience_s)
        except Exception as error:  # a worker without a nanny cannot be restarted; say so, keep going
            logger.warning("could not restart worker(s) %s to stop trial(s) %s: %s", running_on, sorted(keys), error)


def first_completed(futures: list, timeout_s: float) -> set:
    """The futures done within ``timeout_s`` (possibly none), waiting for the first one to finish."""
    from distributed import wait

    if timeout_s <= 0:
        return {f for f in futures if f.done()}
    try:
        return wait(futures, timeout=timeout_s, return_when="FIRST_COMPLETED").done
    except TimeoutError:
        return set()


def worker_error(error: BaseException) -> str:
    """Why a trial's future failed, as its result records it."""
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return "the trial's worker process died (a crash, sys.exit or running out of memory); the worker was replaced"
    return f"worker error: {error!r}"


def stopped(config: TrialConfig, started: float, reason: str, now: float) -> TrialResult:
    """The failed result of a trial the sweep stopped (or lost), timed from when it started running until ``now``."""
    return TrialResult(config.iteration, config.model_name, config.params, "failed", None, now - started, reason)
