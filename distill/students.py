"""The students: a single-layer BiLSTM classifier (Tang et al. 2019, fig. 1) and its Siamese form for
sentence pairs (fig. 2), in one readable file.

embedding (optionally multichannel: a frozen and a trainable copy, concatenated) → BiLSTM → [last forward
state ; last backward state] → FC + ReLU → dropout → FC → logits.

Inputs are right-padded token ids plus each sentence's length. Packing is kept out of the forward so the
graph exports (ONNX, ExecuTorch, LiteRT). Instead:
- forward direction: an LSTM over the padded input; its state at position length-1 has seen only real tokens.
- backward direction: an LSTM over each sentence reversed *within its length* (pads stay at the end), so its
  state at position length-1 has also seen only real tokens.
Both states are picked with `gather` by length. Pads therefore never reach the features: a sentence gets the
same logits alone as inside any padded batch, and a fixed-length mobile export agrees with training.
Two unidirectional `nn.LSTM`s hold exactly the parameters of one bidirectional one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn


@dataclass(kw_only=True)
class StudentArch:
    """The sizes a user chooses; the run config (distill/train.py StudentRunConfig) takes these fields as is."""

    embed_dim: int = field(default=300, metadata={"help": "embedding width (random embeddings; the others "
                                                           "take their table's width)"})
    multichannel: bool = field(default=False, metadata={"help": "a frozen + a trainable copy of the "
                                                                "embeddings, concatenated"})
    hidden: int = field(default=150, metadata={"help": "LSTM hidden size per direction"})
    fc: int = field(default=200, metadata={"help": "width of the FC + ReLU layer"})
    dropout: float = field(default=0.1, metadata={"help": "dropout before the classifier"})


@dataclass(kw_only=True)
class StudentConfig(StudentArch):
    vocab_size: int
    num_labels: int = 2
    pad_id: int = 0
    pair: bool = False  # a Siamese student for sentence pairs (SiameseBiLSTMClassifier)

    def to_dict(self) -> dict:
        return asdict(self)


class BiLSTMClassifier(nn.Module):
    def __init__(self, cfg: StudentConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=cfg.pad_id)
        self.embed_static = None
        if cfg.multichannel:
            self.embed_static = nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=cfg.pad_id)
            self.embed_static.weight.requires_grad_(False)
        in_dim = cfg.embed_dim * (2 if cfg.multichannel else 1)
        self.lstm_fwd = nn.LSTM(in_dim, cfg.hidden, batch_first=True)
        self.lstm_bwd = nn.LSTM(in_dim, cfg.hidden, batch_first=True)
        self.fc = nn.Linear(self.feature_width(cfg.hidden), cfg.fc)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.fc, cfg.num_labels)

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

    def encode(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Sentence features [last forward state ; last backward state], shape (batch, 2 × hidden)."""
        seq_len = input_ids.shape[1]
        lengths = lengths.clamp(min=1, max=seq_len).to(torch.long)
        positions = torch.arange(seq_len, device=input_ids.device).unsqueeze(0)
        last = (lengths - 1).unsqueeze(1)
        # Reverse each sentence inside its length: position t reads token length-1-t; pads stay in place.
        reverse_index = torch.where(positions <= last, last - positions, positions)
        x = self.embed_tokens(input_ids)
        x_rev = torch.gather(x, 1, reverse_index.unsqueeze(-1).expand_as(x))
        h_fwd, _ = self.lstm_fwd(x)
        h_bwd, _ = self.lstm_bwd(x_rev)
        pick = last.unsqueeze(-1).expand(-1, 1, self.cfg.hidden)
        return torch.cat([h_fwd.gather(1, pick).squeeze(1), h_bwd.gather(1, pick).squeeze(1)], dim=-1)

    @staticmethod
    def feature_width(hidden: int) -> int:
        return 2 * hidden

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """FC + ReLU → dropout → FC: logits from the sentence (or pair) features."""
        return self.out(self.dropout(torch.relu(self.fc(self.dropout(features)))))

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.classify(self.encode(input_ids, lengths))

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameter count; with non_embedding=True the embedding tables are left out, as the paper counts."""
        total = sum(p.numel() for p in self.parameters())
        if non_embedding:
            total -= self.embed.weight.numel()
            if self.embed_static is not None:
                total -= self.embed_static.weight.numel()
        return total


class SiameseBiLSTMClassifier(BiLSTMClassifier):
    """Sentence pairs (Tang et al. 2019, fig. 2): one shared BiLSTM encodes each sentence to h1 and h2; the
    classifier reads [h1, h2, h1 ⊙ h2, |h1 − h2|].

    Each sentence is right-padded on its own row; its length keeps the pads out of its features, so the
    logits do not depend on how wide either side was padded.
    """

    @staticmethod
    def feature_width(hidden: int) -> int:
        return 8 * hidden  # four vectors of [forward ; backward] = 2 × hidden each

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor, input_ids_b: torch.Tensor,
                lengths_b: torch.Tensor) -> torch.Tensor:
        # Rows are independent, so two calls equal one call over both sides (what the exported graph does).
        return self.classify_pair(self.encode(input_ids, lengths), self.encode(input_ids_b, lengths_b))

    def classify_pair(self, h1: torch.Tensor, h2: torch.Tensor) -> torch.Tensor:
        return self.classify(torch.cat([h1, h2, h1 * h2, (h1 - h2).abs()], dim=-1))


def build_student(cfg: StudentConfig) -> BiLSTMClassifier:
    return (SiameseBiLSTMClassifier if cfg.pair else BiLSTMClassifier)(cfg)
