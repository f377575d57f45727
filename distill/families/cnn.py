"""`cnn`: Kim (2014) — convolutions of widths 3/4/5 over the embeddings, ReLU, max over time, dropout —
then the shared FC head (pairs: the shared Siamese combination).

Padding invariance: embeddings at pad positions are zeroed and each convolution pads the sentence with
width − 1 zeros on both sides, so the output positions a sentence owns (those whose window touches one of
its tokens: t < length + width − 1) see the same values however far the batch was padded; every other
position is masked to −inf before the max. A sentence alone and inside a padded batch get the same logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from distill.errors import UserError
from distill.families import Family, register
from distill.families.base import EmbeddingStudent, length_mask


@dataclass(kw_only=True)
class CNNOptions:
    filters: int = field(default=100, metadata={"help": "feature maps per filter width (Kim: 100)"})
    widths: list[int] = field(default_factory=lambda: [3, 4, 5], metadata={"help": "filter widths (Kim: 3, 4, 5)"})

    def __post_init__(self):
        if self.filters <= 0 or not self.widths or min(self.widths) <= 0:
            raise UserError(f"cnn options: filters and every width must be positive, got filters {self.filters}, "
                            f"widths {self.widths}")


class CNNClassifier(EmbeddingStudent):
    def __init__(self, cfg, options: CNNOptions):
        super().__init__(cfg)
        self.widths = list(options.widths)
        self.convs = nn.ModuleList(nn.Conv1d(self.in_dim, options.filters, w, padding=w - 1) for w in self.widths)
        self._head(options.filters * len(self.widths))

    def encode(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        seq_len = input_ids.shape[1]
        real = length_mask(lengths, seq_len)
        x = (self.embed_tokens(input_ids) * real.unsqueeze(-1)).transpose(1, 2)  # (batch, channels, seq)
        owned = lengths.clamp(min=1, max=seq_len).to(torch.long).unsqueeze(1)
        pooled = []
        for w, conv in zip(self.widths, self.convs):
            h = torch.relu(conv(x))  # (batch, filters, seq + w - 1)
            t = torch.arange(h.shape[-1], device=h.device).unsqueeze(0)
            h = h.masked_fill(~(t < owned + w - 1).unsqueeze(1), float("-inf"))
            pooled.append(h.amax(dim=-1))
        return torch.cat(pooled, dim=-1)


register(Family(name="cnn", summary="Kim 2014: filter widths 3/4/5, max-over-time pooling", options=CNNOptions,
                build=CNNClassifier, reads=("embed_dim", "multichannel", "fc", "dropout")))
