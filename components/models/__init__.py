"""The model registry: one name per family, each with its typed search space."""

from __future__ import annotations

from components.models._base import ModelFamily
from components.models.boosting import CatBoostFamily, LightGBMFamily, XGBoostFamily
from components.models.dnn import BertFamily, BiLSTMFamily
from components.models.linear import ElasticNetFamily, LinearSVMFamily, LogisticRegressionFamily, SGDFamily
from components.models.neighbors import KNNFamily
from components.models.trees import ExtremeRandomTreesFamily, HistGradientBoostingFamily, RandomForestFamily

# In the order a sweep of the default portfolio tries each family's defaults: the cheap, strong
# gradient boosting first, the linear models, then the forests, whose defaults cost several times a
# booster's on wide tables (under a one-minute budget the forests otherwise ran and XGBoost never did).
REGISTRY: dict[str, ModelFamily] = {
    family.name: family
    for family in (
        LightGBMFamily(),
        CatBoostFamily(),
        XGBoostFamily(),
        HistGradientBoostingFamily(),
        LogisticRegressionFamily(),
        ElasticNetFamily(),
        RandomForestFamily(),
        ExtremeRandomTreesFamily(),
        KNNFamily(),
        LinearSVMFamily(),
        SGDFamily(),
        BiLSTMFamily(),
        BertFamily(),
    )
}


def family_names(task: str) -> list[str]:
    """Names of the families that can learn the task type ``task``, in registry order."""
    return [name for name, family in REGISTRY.items() if task in family.tasks]


def get_family(name: str) -> ModelFamily:
    """Looks up a family by the name users write in a spec."""
    return REGISTRY[name]


__all__ = ["REGISTRY", "ModelFamily", "family_names", "get_family"]
