"""Early termination policies with Azure's semantics, as Optuna pruners.

Each policy is one small class behind Optuna's ``BasePruner`` interface, so a
trial on any worker asks ``trial.should_prune()`` after reporting a metric and
the same code serves Azure's policies and Optuna's own (ASHA, Hyperband).
"""

from components.search.termination._bandit import BanditPolicy
from components.search.termination._base import TerminationPolicy
from components.search.termination._median import MedianStoppingPolicy
from components.search.termination._truncation import TruncationSelectionPolicy

__all__ = ["BanditPolicy", "MedianStoppingPolicy", "TerminationPolicy", "TruncationSelectionPolicy", "make_policy"]


def make_policy(
    policy: str,
    *,
    slack_factor: float | None = None,
    slack_amount: float | None = None,
    evaluation_interval: int = 1,
    delay_evaluation: int = 0,
    truncation_percentage: int = 5,
    min_resource: int = 1,
    reduction_factor: int = 3,
):
    """Builds a policy by its spec name: bandit, median_stopping, truncation_selection, asha or hyperband.

    Raises:
        ValueError: an unknown policy or impossible settings, naming them.
    """
    import optuna

    if policy == "bandit":
        return BanditPolicy(slack_factor, slack_amount, evaluation_interval, delay_evaluation)
    if policy == "median_stopping":
        return MedianStoppingPolicy(evaluation_interval, delay_evaluation)
    if policy == "truncation_selection":
        return TruncationSelectionPolicy(truncation_percentage, evaluation_interval, delay_evaluation)
    if policy == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=reduction_factor)
    if policy == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=min_resource, reduction_factor=reduction_factor)
    raise ValueError(
        f"unknown early termination policy {policy!r}; use bandit, median_stopping, truncation_selection, asha or "
        "hyperband"
    )
