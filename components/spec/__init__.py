"""The experiment spec: one pydantic model, the training flow's parameter.

Field names follow Azure's AutoMLConfig. Unknown keys and impossible values are
refused before anything runs, with a message naming the key, what is allowed
and what was given.
"""

from components.spec.experiment import ExperimentSpec
from components.spec.loading import build_spec, describe_validation_error, load_spec
from components.spec.sections import Compute, EarlyTermination, Limits, Retraining, Scoring, Sweep, TextDnn

__all__ = [
    "Compute",
    "EarlyTermination",
    "ExperimentSpec",
    "Limits",
    "Retraining",
    "Scoring",
    "Sweep",
    "TextDnn",
    "build_spec",
    "describe_validation_error",
    "load_spec",
]
