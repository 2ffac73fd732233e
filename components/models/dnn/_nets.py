"""The torch networks behind the deep text families (imported only when one is fitted or loaded)."""

from __future__ import annotations

import torch
from torch import nn


class EncoderClassifier(nn.Module):
    """A transformer encoder, mean-pooled over real tokens, whose output joins the tabular features in a linear head."""

    def __init__(self, encoder: nn.Module, n_tabular: int, n_classes: int, dropout: float):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size + n_tabular, n_classes)

    def embed(self, ids: torch.Tensor, mask: torch.Tensor, tabular: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, tabular: torch.Tensor) -> torch.Tensor:
        pooled = self.embed(ids, mask)
        return self.head(self.dropout(torch.cat([pooled, tabular.to(pooled.dtype)], dim=1)))


class BiLSTMAttention(nn.Module):
    """Token embeddings, a bidirectional LSTM, additive attention pooling, and a linear head with the tabular
    features."""

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        n_tabular: int,
        n_classes: int,
        dropout: float,
        freeze_embeddings: bool,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.embedding.weight.requires_grad = not freeze_embeddings
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True, bidirectional=True)
        self.project = nn.Linear(2 * hidden_size, 2 * hidden_size)
        self.score = nn.Linear(2 * hidden_size, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden_size + n_tabular, n_classes)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, tabular: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(dim=1).clamp(min=1)
        embedded = self.dropout(self.embedding(ids))
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        states, _ = self.lstm(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=ids.shape[1])
        scores = self.score(torch.tanh(self.project(states))).squeeze(-1)
        scores = scores.float().masked_fill(mask == 0, float("-inf"))
        weights = torch.softmax(scores, dim=1).to(states.dtype)
        pooled = (weights.unsqueeze(-1) * states).sum(dim=1)
        return self.head(self.dropout(torch.cat([pooled, tabular.to(pooled.dtype)], dim=1)))
