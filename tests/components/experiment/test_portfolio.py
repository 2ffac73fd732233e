"""Which families a sweep searches: the spec's allowed ones, fitted to the data's columns."""

from __future__ import annotations

import pytest

from components.errors import JidoError
from components.experiment.portfolio import plan_portfolio
from components.features.columns import ColumnProfile

NUMBERS = (ColumnProfile("amount", "numeric", "float64 values"),)
WITH_TEXT = (*NUMBERS, ColumnProfile("review", "text", "free text"))


def test_featurization_off_is_every_familys_fixed_parameter():
    found = plan_portfolio(["LightGBM", "KNN"], NUMBERS, with_gpu=False, featurization="off")
    assert found.model_names == ["LightGBM", "KNN"] and found.overrides == {
        "LightGBM": {"featurization": "off"},
        "KNN": {"featurization": "off"},
    }


def test_without_free_text_the_deep_text_families_are_left_out_and_said_so():
    found = plan_portfolio(["BiLSTM", "BERT", "LightGBM"], NUMBERS, with_gpu=False, enable_dnn=True)
    assert found.model_names == ["LightGBM"] and found.text_models is None
    assert any("no free-text column" in note for note in found.warnings)
    with pytest.raises(JidoError, match="no model left to try"):
        plan_portfolio(["BiLSTM"], NUMBERS, with_gpu=False, enable_dnn=True)


def test_free_text_puts_the_bilstm_first_on_a_cpu_and_names_the_columns():
    found = plan_portfolio(["LightGBM", "BiLSTM"], WITH_TEXT, with_gpu=False, enable_dnn=True)
    assert found.model_names[0] == "BiLSTM" and found.overrides["BiLSTM"]["text_columns"] == ["review"]
    assert found.text_models == (["review"], ["BiLSTM"])
    with pytest.raises(JidoError, match="not a transformer folder"):
        plan_portfolio(["BiLSTM"], WITH_TEXT, with_gpu=False, enable_dnn=True, pretrained_path="/nowhere")
