"""`bilstm`: the single-layer BiLSTM classifier of Tang et al. 2019 (fig. 1) and its Siamese pair form
(fig. 2): embedding → BiLSTM → [last forward state ; last backward state] → FC + ReLU → dropout → FC.

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

from dataclasses import dataclass

import torch
from torch import nn

from distill.families import Family, register
from distill.families.base import EmbeddingStudent


@dataclass(kw_only=True)
class BiLSTMOptions:
    """No options of its own: its sizes are the common ones (hidden = LSTM units per direction)."""


class BiLSTMClassifier(EmbeddingStudent):
    def __init__(self, cfg, options: BiLSTMOptions | None = None):
        super().__init__(cfg)
        self.lstm_fwd = nn.LSTM(self.in_dim, cfg.hidden, batch_first=True)
        self.lstm_bwd = nn.LSTM(self.in_dim, cfg.hidden, batch_first=True)
        self._head(2 * cfg.hidden)

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


register(Family(name="bilstm", summary="Tang et al. 2019: BiLSTM, last states of both directions (Siamese for "
                                       "pairs)", options=BiLSTMOptions, build=BiLSTMClassifier,
                reads=("embed_dim", "multichannel", "hidden", "fc", "dropout"), foldable=True, recurrent=True))
