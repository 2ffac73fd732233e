"""The durable record of a sweep: an Optuna study in SQLite (or any database Optuna takes).

The sampler works on a fast in-memory study; each finished trial is copied
here as it finishes. Running the same experiment again (same spec, same data)
after a crash or a kill finds the unfinished sweep and continues it. Once an
experiment ends, its sweep is closed and the next run starts a new one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path

import optuna

from components.experiment.results import TrialResult
from components.sqlite import write_ahead

_RESULT_ATTR = "jido.result"
_CLOSED_ATTR = "jido.closed"
_PARENT_RUN_ATTR = "jido.parent_run_id"
_STATES = {
    "completed": optuna.trial.TrialState.COMPLETE,
    "early_terminated": optuna.trial.TrialState.PRUNED,
    "failed": optuna.trial.TrialState.FAIL,
}


def sweep_fingerprint(spec_json: str, data_hash: str) -> str:
    """Identifies a sweep by what its trials mean: the spec's search settings and the data."""
    return hashlib.sha256(f"{spec_json}\n{data_hash}".encode()).hexdigest()[:12]


def sqlite_url(folder: Path) -> str:
    """The default storage: ``study.db`` in the experiment's folder (created when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'study.db'}"


def result_to_trial(result: TrialResult, params: dict, distributions: dict) -> optuna.trial.FrozenTrial:
    """A finished trial as Optuna keeps it, with jido's whole result in a user attribute."""
    return optuna.trial.create_trial(
        state=_STATES[result.status],
        value=result.metric if result.status == "completed" else None,
        params=params,
        distributions=distributions,
        user_attrs={_RESULT_ATTR: json.dumps(asdict(result), default=str)},
        intermediate_values=dict(enumerate(result.curve, start=1)),
    )


def trial_to_result(trial: optuna.trial.FrozenTrial) -> TrialResult:
    raw = json.loads(trial.user_attrs[_RESULT_ATTR])
    return TrialResult(**{**raw, "fold_metrics": tuple(raw["fold_metrics"]), "curve": tuple(raw["curve"])})


class SweepStore:
    """One experiment's sweep in an Optuna storage.

    Studies are named ``NAME-FINGERPRINT-N``; :meth:`open` resumes the newest
    one with this fingerprint unless it is closed, and starts ``N+1`` otherwise.

    Args:
        url: An Optuna storage URL (``sqlite:///...``, ``postgresql://...``).
        study_name: The study this store writes to.
        resumed: Whether the study already existed and was not closed.
    """

    def __init__(self, url: str, study_name: str, resumed: bool, storage: optuna.storages.BaseStorage | None = None):
        self.url = url
        self.study_name = study_name
        self.resumed = resumed
        self._study = optuna.load_study(study_name=study_name, storage=storage or url)

    @classmethod
    def open(cls, url: str, experiment_name: str, fingerprint: str, greater_is_better: bool) -> SweepStore:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        write_ahead(url)  # a commit per finished trial: see components/sqlite.py
        storage = optuna.storages.get_storage(
            url
        )  # one engine and schema check for all four calls, not one each (~0.09 s each)
        prefix = f"{experiment_name}-{fingerprint}-"
        numbers = [
            int(name[len(prefix) :])
            for name in optuna.get_all_study_names(storage)
            if re.fullmatch(re.escape(prefix) + r"\d+", name)
        ]
        if numbers:
            latest = f"{prefix}{max(numbers)}"
            if not optuna.load_study(study_name=latest, storage=storage).user_attrs.get(_CLOSED_ATTR):
                return cls(url, latest, resumed=True, storage=storage)
        name = f"{prefix}{max(numbers, default=0) + 1}"
        optuna.create_study(storage=storage, study_name=name, direction="maximize" if greater_is_better else "minimize")
        return cls(url, name, resumed=False, storage=storage)

    def finished(self) -> list[optuna.trial.FrozenTrial]:
        """The trials this sweep finished so far (any state jido records: completed, stopped early, failed)."""
        return [t for t in self._study.get_trials(deepcopy=False) if _RESULT_ATTR in t.user_attrs]

    def add(self, trial: optuna.trial.FrozenTrial) -> None:
        self._study.add_trial(trial)

    @property
    def parent_run_id(self) -> str | None:
        """The MLflow parent run that last worked on this sweep."""
        return self._study.user_attrs.get(_PARENT_RUN_ATTR)

    @parent_run_id.setter
    def parent_run_id(self, run_id: str) -> None:
        self._study.set_user_attr(_PARENT_RUN_ATTR, run_id)

    def close(self) -> None:
        """Marks the sweep finished: the next run of the same experiment starts a new one."""
        self._study.set_user_attr(_CLOSED_ATTR, True)

    @classmethod
    def close_study(cls, url: str, study_name: str) -> None:
        cls(url, study_name, resumed=True).close()
