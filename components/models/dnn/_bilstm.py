"""A bidirectional LSTM with attention: the deep text model that trains fast enough on a CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from components.models.dnn._bert import load_tokenizer
from components.models.dnn._estimator import TorchTextClassifier

_PAD, _UNKNOWN = 0, 1
_WORD_PATTERN = r"(?u)\b\w+\b"


def _pretrained_embeddings(folder: Path) -> np.ndarray:
    """The token embedding table of a transformer checkpoint (safetensors), read without building the model."""
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="numpy") as weights:
        names = [n for n in weights.keys() if n.endswith("word_embeddings.weight")]
        if not names:
            raise ValueError(f"{folder / 'model.safetensors'} holds no word embedding table")
        return np.asarray(weights.get_tensor(names[0]), dtype=np.float32)


class BiLSTMTextClassifier(TorchTextClassifier):
    """Embeddings, a BiLSTM and attention pooling, trained from the task's own text.

    With a ``pretrained_path`` (a transformer folder), texts are split by its
    WordPiece tokenizer and its token embeddings start the network, frozen
    (as Azure's BiLSTM starts from GloVe vectors); without one, a vocabulary of
    the training text's ``max_vocabulary`` most frequent words is learned with
    embeddings of ``embedding_dim``.

    Args:
        pretrained_path: Optional transformer folder for the tokenizer and embeddings.
        hidden_size: LSTM units per direction.
        max_length: Tokens kept per text.
        dropout: Dropout on embeddings and before the head.
        embedding_dim: Width of learned embeddings (without ``pretrained_path``).
        max_vocabulary: Words kept in a learned vocabulary.
    """

    def __init__(
        self,
        pretrained_path: str | None = None,
        epochs: int = 5,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        max_length: int = 128,
        hidden_size: int = 128,
        dropout: float = 0.3,
        embedding_dim: int = 128,
        max_vocabulary: int = 20000,
        weight_decay: float = 0.01,
        warm_start: bool = False,
        stop_at_epoch: int | None = None,
        device: str = "auto",
        random_state: int = 0,
    ):
        self.pretrained_path = pretrained_path
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_length = max_length
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.embedding_dim = embedding_dim
        self.max_vocabulary = max_vocabulary
        self.weight_decay = weight_decay
        self.warm_start = warm_start
        self.stop_at_epoch = stop_at_epoch
        self.device = device
        self.random_state = random_state

    def _prepare(self, texts: list[str]) -> None:
        if self.pretrained_path:
            folder = Path(self.pretrained_path)
            if not (folder / "tokenizer.json").is_file():
                raise ValueError(f"pretrained_path {self.pretrained_path!r} has no tokenizer.json")
            self.tokenizer_json_ = (folder / "tokenizer.json").read_text(encoding="utf-8")
            self.vocabulary_ = None
            self._pretrained = _pretrained_embeddings(folder)
            self.vocabulary_size_, self.embedding_width_ = self._pretrained.shape
        else:
            counter = CountVectorizer(token_pattern=_WORD_PATTERN, max_features=self.max_vocabulary).fit(texts)
            # One newline-joined string: a token's id is its line number + 2 (0 pads, 1 is unknown).
            self.vocabulary_ = "\n".join(sorted(counter.vocabulary_, key=counter.vocabulary_.get))
            self.tokenizer_json_ = None
            self.vocabulary_size_, self.embedding_width_ = len(counter.vocabulary_) + 2, self.embedding_dim

    def _make_net(self):
        import torch

        from components.models.dnn._nets import BiLSTMAttention

        net = BiLSTMAttention(
            self.vocabulary_size_,
            self.embedding_width_,
            self.hidden_size,
            self.n_tabular_,
            len(self.classes_),
            self.dropout,
            freeze_embeddings=self.vocabulary_ is None,
        )
        pretrained = self.__dict__.pop("_pretrained", None)
        if pretrained is not None:
            with torch.no_grad():
                net.embedding.weight.copy_(torch.from_numpy(pretrained))
        return net

    def _encode(self, texts: list[str]) -> list[list[int]]:
        encoder = self.__dict__.get("_tokenizer_cache")
        if encoder is None:
            if self.vocabulary_ is None:
                encoder = load_tokenizer(self.tokenizer_json_, self.max_length)
            else:
                index = {word: i + 2 for i, word in enumerate(self.vocabulary_.split("\n"))}
                encoder = (CountVectorizer(token_pattern=_WORD_PATTERN).build_analyzer(), index)
            self._tokenizer_cache = encoder
        if self.vocabulary_ is None:
            return [encoding.ids or [_UNKNOWN] for encoding in encoder.encode_batch(texts)]
        analyze, index = encoder
        return [[index.get(w, _UNKNOWN) for w in analyze(text)][: self.max_length] or [_UNKNOWN] for text in texts]
