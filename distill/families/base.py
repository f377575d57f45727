"""What every family's module shares: the token embeddings (optionally two channels, one frozen), the
classifier head, the pair combination, and the parameter count.

embedding (× 2 channels if multichannel) → the family's encoder → features → FC + ReLU → dropout → FC.
A pair model encodes each sentence with the same encoder and classifies [h1, h2, h1 ⊙ h2, |h1 − h2|]
(Tang et al. 2019, fig. 2, for any encoder). Attribute names (embed, embed_static, fc, out) are those of the
BiLSTM students saved before families existed, so their weights load unchanged.
"""

from __future__ import annotations

import torch
from torch import nn


class EmbeddingStudent(nn.Module):
    """Subclasses set up their encoder, define `encode` and `features(cfg)` (the encoder's output width),
    and call `_head()` last."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=cfg.pad_id)
        self.embed_static = None
        if cfg.multichannel:
            self.embed_static = nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=cfg.pad_id)
            self.embed_static.weight.requires_grad_(False)

    @property
    def in_dim(self) -> int:
        return self.cfg.embed_dim * (2 if self.cfg.multichannel else 1)

    def _head(self, feature_width: int) -> None:
        self.fc = nn.Linear(feature_width * (4 if self.cfg.pair else 1), self.cfg.fc)
        self.dropout = nn.Dropout(self.cfg.dropout)
        self.out = nn.Linear(self.cfg.fc, self.cfg.num_labels)

    def fit_statistics(self, counts: torch.Tensor) -> None:
        """Called once before training with each vocabulary id's count in the training texts; a family
        that keeps corpus statistics (static's frequency weights) overrides it."""

    def init_embeddings(self, vectors: torch.Tensor) -> None:
        """Copy pre-trained vectors (vocab_size × embed_dim) into every embedding channel."""
        with torch.no_grad():
            self.embed.weight.copy_(vectors)
            if self.embed_static is not None:
                self.embed_static.weight.copy_(vectors)

    def embed_tokens(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(input_ids)
        if self.embed_static is not None:
            x = torch.cat([x, self.embed_static(input_ids)], dim=-1)
        return x

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """FC + ReLU → dropout → FC: logits from the sentence (or pair) features."""
        return self.out(self.dropout(torch.relu(self.fc(self.dropout(features)))))

    def classify_pair(self, h1: torch.Tensor, h2: torch.Tensor) -> torch.Tensor:
        return self.classify(torch.cat([h1, h2, h1 * h2, (h1 - h2).abs()], dim=-1))

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor, input_ids_b: torch.Tensor | None = None,
                lengths_b: torch.Tensor | None = None) -> torch.Tensor:
        if self.cfg.pair:
            # rows are independent, so two calls equal one call over both sides (what the exported graph does)
            return self.classify_pair(self.encode(input_ids, lengths), self.encode(input_ids_b, lengths_b))
        return self.classify(self.encode(input_ids, lengths))

    def embedding_tables(self) -> list[nn.Parameter]:
        return [e.weight for e in (self.embed, self.embed_static) if e is not None]

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameter count; with non_embedding=True the embedding tables are left out, as the paper counts."""
        total = sum(p.numel() for p in self.parameters())
        return total - sum(t.numel() for t in self.embedding_tables()) if non_embedding else total


def length_mask(lengths: torch.Tensor, seq_len: int) -> torch.Tensor:
    """(batch, seq_len) bool: True at real tokens. Lengths are clamped to [1, seq_len] (an empty sentence
    reads its first position, [UNK] by the encoder's rule)."""
    lengths = lengths.clamp(min=1, max=seq_len).to(torch.long)
    return torch.arange(seq_len, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)
