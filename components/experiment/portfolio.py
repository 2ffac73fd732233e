"""Which model families an experiment searches, in which order, with which fixed parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.errors import JidoError
from components.features.columns import ColumnProfile
from components.models.dnn import find_encoder, plan_text_models


@dataclass(frozen=True)
class Portfolio:
    """The families to search, in order, and each one's fixed parameters (settings of the experiment, not
    hyperparameters).

    Attributes:
        overrides: Per family, parameters that replace its defaults: ``featurization: off`` for every family,
            or a deep text model's text columns and encoder.
        warnings: What was left out and why, for the run's log.
        text_models: With ``enable_dnn``, the text columns and the deep families reading them; else None.
    """

    model_names: list[str]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    text_models: tuple[list[str], list[str]] | None = None


def plan_portfolio(
    model_names: list[str],
    profiles: tuple[ColumnProfile, ...],
    with_gpu: bool,
    featurization: str = "auto",
    enable_dnn: bool = False,
    text_columns: list[str] | None = None,
    pretrained_path: str | None = None,
) -> Portfolio:
    """The allowed families fitted to the data: the deep text families only with free text (and an encoder for BERT).

    Args:
        model_names: The families the spec allows, in order.
        profiles: The training columns' profiles (free text among them).
        with_gpu: Whether trials of GPU-capable families get a GPU.
        featurization, enable_dnn, text_columns, pretrained_path: The spec's settings of those names.

    Raises:
        JidoError: ``pretrained_path`` is not an encoder folder, or no family is left to try.
    """
    names = list(model_names)
    if featurization == "off":
        return Portfolio(names, {name: {"featurization": "off"} for name in names})
    if not enable_dnn:
        return Portfolio(names)
    text_columns = text_columns or [p.name for p in profiles if p.kind == "text"]
    try:
        encoder = find_encoder(pretrained_path)
    except ValueError as error:
        raise JidoError(str(error)) from None
    plan = plan_text_models(names, text_columns, encoder, with_gpu)
    if not plan.model_names:
        raise JidoError(f"no model left to try: {'; '.join(plan.notes)}")
    deep = [n for n in plan.model_names if n in plan.overrides]
    return Portfolio(plan.model_names, plan.overrides, plan.notes, (text_columns, deep) if text_columns else None)
