"""BERT-family encoders: fine-tuned with a classification head, or frozen as a featurizer for a fast classifier."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from components.models.dnn._estimator import TorchTextClassifier
from components.models.dnn._inputs import TEXT_FEATURE, split_inputs

# Frozen embeddings depend only on the encoder, the length cap and the text, so
# a worker computes each text's once and reuses it across trials and folds.
# Bounded: 200k texts of a 384-wide encoder are ~300 MB.
_EMBEDDING_CACHE: OrderedDict[tuple[str, int, str], np.ndarray] = OrderedDict()
_EMBEDDING_CACHE_SIZE = 200_000


def load_tokenizer(tokenizer_json: str, max_length: int):
    """A fast tokenizer from its JSON, truncating at ``max_length`` tokens and padding nothing (batches pad
    themselves)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(tokenizer_json)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def quiet_transformers() -> None:
    """Silences transformers' progress bars and advice, which would flood trial logs."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


class BertTextClassifier(TorchTextClassifier):
    """A pretrained transformer encoder (BERT, MiniLM, ...) loaded from a local folder.

    Args:
        pretrained_path: Folder with ``config.json``, the weights and ``tokenizer.json``.
        mode: ``finetune`` trains the encoder with a linear head; ``frozen`` uses
            its mean-pooled embeddings as features of a logistic regression.
        frozen_layers: With ``finetune``, how many of the lowest encoder layers
            (with the embeddings) stay fixed.
        max_length: Tokens kept per text.
        dropout: Dropout before the head.
        C: Inverse regularisation of the logistic regression in ``frozen`` mode.
    """

    def __init__(
        self,
        pretrained_path: str = "",
        mode: Literal["finetune", "frozen"] = "finetune",
        epochs: int = 3,
        batch_size: int = 32,
        learning_rate: float = 5e-5,
        max_length: int = 128,
        frozen_layers: int = 0,
        dropout: float = 0.1,
        C: float = 1.0,
        weight_decay: float = 0.01,
        warm_start: bool = False,
        stop_at_epoch: int | None = None,
        device: str = "auto",
        random_state: int = 0,
    ):
        self.pretrained_path = pretrained_path
        self.mode = mode
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_length = max_length
        self.frozen_layers = frozen_layers
        self.dropout = dropout
        self.C = C
        self.weight_decay = weight_decay
        self.warm_start = warm_start
        self.stop_at_epoch = stop_at_epoch
        self.device = device
        self.random_state = random_state

    def _prepare(self, texts: list[str]) -> None:
        from transformers import AutoModel

        quiet_transformers()
        folder = Path(self.pretrained_path)
        if not (folder / "config.json").is_file() or not (folder / "tokenizer.json").is_file():
            raise ValueError(
                f"pretrained_path {self.pretrained_path!r} is not a transformer folder with config.json and "
                "tokenizer.json"
            )
        # Trained in float32 (bfloat16 autocast on GPUs), whatever precision the checkpoint was saved in.
        pretrained = AutoModel.from_pretrained(str(folder), local_files_only=True).float()
        self.encoder_config_ = pretrained.config.to_json_string(use_diff=False)
        self.tokenizer_json_ = (folder / "tokenizer.json").read_text(encoding="utf-8")
        # Identifies the pristine encoder in the embedding cache.
        self.encoder_key_ = hashlib.sha1(f"{folder.resolve()}|{self.encoder_config_}".encode()).hexdigest()
        self._pretrained = pretrained

    def _make_net(self):
        from transformers import AutoConfig, AutoModel

        from components.models.dnn._nets import EncoderClassifier

        quiet_transformers()
        encoder = self.__dict__.pop("_pretrained", None)
        if encoder is None:
            settings = json.loads(self.encoder_config_)
            encoder = AutoModel.from_config(AutoConfig.for_model(settings.pop("model_type"), **settings))
        net = EncoderClassifier(encoder, self.n_tabular_, len(self.classes_), self.dropout)
        layers = getattr(getattr(encoder, "encoder", None), "layer", [])
        fixed = (
            [getattr(encoder, "embeddings", None), *list(layers)[: self.frozen_layers]] if self.frozen_layers else []
        )
        for module in fixed:
            for parameter in module.parameters() if module is not None else ():
                parameter.requires_grad = False
        return net

    def _param_groups(self) -> list[dict[str, Any]]:
        # The head starts from random weights: it learns at a rate of its own.
        encoder = [p for p in self.net_.encoder.parameters() if p.requires_grad]
        head = list(self.net_.head.parameters())
        return [{"params": encoder, "lr": self.learning_rate}, {"params": head, "lr": max(self.learning_rate, 1e-3)}]

    def _encode(self, texts: list[str]) -> list[list[int]]:
        tokenizer = self.__dict__.get("_tokenizer_cache")
        if tokenizer is None:
            tokenizer = self._tokenizer_cache = load_tokenizer(self.tokenizer_json_, self.max_length)
        return [encoding.ids for encoding in tokenizer.encode_batch(texts)]

    # Frozen mode ------------------------------------------------------------

    def _embeddings(self, X: pd.DataFrame) -> np.ndarray:
        texts, tabular = split_inputs(X)
        width = self.net_.encoder.config.hidden_size
        keys = [(self.encoder_key_, self.max_length, text) for text in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in _EMBEDDING_CACHE))
        if missing:
            frame = pd.DataFrame({TEXT_FEATURE: [k[2] for k in missing]})
            for key, vector in zip(missing, self._batched_outputs(frame, "embed", width)):
                _EMBEDDING_CACHE[key] = vector
            while len(_EMBEDDING_CACHE) > _EMBEDDING_CACHE_SIZE:
                _EMBEDDING_CACHE.popitem(last=False)
        embedded = np.stack([_EMBEDDING_CACHE[k] for k in keys]) if keys else np.zeros((0, width), np.float32)
        return np.hstack([embedded, tabular])

    def fit(self, X: pd.DataFrame, y):
        if self.mode == "finetune":
            self.__dict__.pop("head_", None)
            return super().fit(X, y)
        if self.mode != "frozen":
            raise ValueError(f"mode must be 'finetune' or 'frozen'; got {self.mode!r}")
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        self.n_tabular_ = X.shape[1] - 1
        self._prepare([])
        self.net_ = self._make_net()
        self.head_: Pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))
        self.head_.fit(self._embeddings(X), y)
        self.epochs_done_ = 0
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if "head_" in self.__dict__:
            check_is_fitted(self, "net_")
            if len(X) == 0:
                return np.zeros((0, len(self.classes_)))
            return self.head_.predict_proba(self._embeddings(X))
        return super().predict_proba(X)
