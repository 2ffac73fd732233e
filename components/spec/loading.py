"""A spec from YAML or a mapping: relative paths resolved, and every bad key or value named in one message."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from components.errors import JidoError
from components.spec.experiment import ExperimentSpec

_PATH_FIELDS = ("training_data", "validation_data")
_SCORING_PATH_FIELDS = ("input", "output")


def _allowed_keys(parent: tuple) -> list[str]:
    """The field names of the (nested) spec section at ``parent``."""
    model: type[BaseModel] = ExperimentSpec
    for part in parent:
        if str(part) not in model.model_fields:
            return []
        annotation = model.model_fields[str(part)].annotation
        candidates = [annotation, *get_args(annotation)]  # `Section | None` names its section among its args
        sections = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not sections:
            return []
        model = sections[0]
    return list(model.model_fields)


def describe_validation_error(error: ValidationError) -> str:
    """Turns pydantic's report into lines that name the key, the rule and the value given."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "spec"
        given = item.get("input")
        if item["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(item["loc"][:-1]))
            lines.append(f"unknown key {key!r} (given: {given!r}); allowed keys here: {allowed}")
        elif item["type"] == "missing":
            lines.append(f"missing required key {key!r}")
        elif item["type"] == "value_error":
            lines.append(str(item["ctx"]["error"]) if "ctx" in item else item["msg"])
        else:
            lines.append(f"{key}: {item['msg'].lower()} (given: {given!r})")
    return "invalid experiment spec:\n  - " + "\n  - ".join(lines)


def build_spec(data: dict[str, Any], base_dir: Path | None = None) -> ExperimentSpec:
    """Validates a mapping into a spec; relative paths are resolved against ``base_dir``.

    Raises:
        JidoError: naming each key that is unknown or has an impossible value.
    """
    data = dict(data)
    if base_dir is not None:
        for key in _PATH_FIELDS:
            if isinstance(data.get(key), str):
                data[key] = str((base_dir / data[key]).resolve())
        if isinstance(data.get("scoring"), dict):
            scoring = dict(data["scoring"])
            for key in _SCORING_PATH_FIELDS:
                if isinstance(scoring.get(key), str):
                    scoring[key] = str((base_dir / scoring[key]).resolve())
            data["scoring"] = scoring
        if isinstance(data.get("text_dnn"), dict) and isinstance(data["text_dnn"].get("pretrained_path"), str):
            data["text_dnn"] = {
                **data["text_dnn"],
                "pretrained_path": str((base_dir / data["text_dnn"]["pretrained_path"]).resolve()),
            }
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as error:
        raise JidoError(describe_validation_error(error)) from None


def load_spec(path: str | Path) -> ExperimentSpec:
    """Reads a YAML spec; relative paths inside it are relative to the YAML file.

    Raises:
        JidoError: the file is missing, is not YAML, or does not describe a valid spec.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise JidoError(f"spec file not found: {path}. Give the path to an experiment YAML file.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise JidoError(f"spec file {path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise JidoError(
            f"spec file {path} must hold a mapping of keys (name, task, training_data, ...); got {type(data).__name__}"
        )
    return build_spec(data, base_dir=path.parent.resolve())
