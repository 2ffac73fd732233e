"""The model registry: one name per family, each with its typed search space."""

from __future__ import annotations

from components.metrics import Task
from components.models._base import ModelFamily
from components.models.boosting import LightGBMFamily, XGBoostFamily
from components.models.dnn import BertFamily, BiLSTMFamily
from components.models.linear import ElasticNetFamily, LinearSVMFamily, LogisticRegressionFamily, SGDFamily
from components.models.neighbors import KNNFamily
from components.models.trees import ExtremeRandomTreesFamily, HistGradientBoostingFamily, RandomForestFamily

REGISTRY: dict[str, ModelFamily] = {
    family.name: family
    for family in (
        LightGBMFamily(),
        LogisticRegressionFamily(),
        ElasticNetFamily(),
        RandomForestFamily(),
        ExtremeRandomTreesFamily(),
        HistGradientBoostingFamily(),
        XGBoostFamily(),
        KNNFamily(),
        LinearSVMFamily(),
        SGDFamily(),
        BiLSTMFamily(),
        BertFamily(),
    )
}


def family_names(task: Task) -> list[str]:
    """Names of the families that can learn ``task``, in registry order."""
    return [name for name, family in REGISTRY.items() if task in family.tasks]


def get_family(name: str) -> ModelFamily:
    """Looks up a family by the name users write in a spec."""
    return REGISTRY[name]


__all__ = ["REGISTRY", "ModelFamily", "family_names", "get_family"]
