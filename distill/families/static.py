"""`static`: a bag of static token vectors — the (optionally frequency-weighted) mean of the sentence's
token vectors — and the shared MLP head (pairs: the Siamese combination). No sequence model at all, so
its cost is a lookup and a mean: the Model2Vec family. Its vectors start from the teacher's own contextual
token vectors reduced by PCA (embedding "teacher-pca", distill/embeddings.py), then are distilled.

weighting "frequency" multiplies each token's vector by a fixed weight a / (a + p(token)) (SIF, Arora et
al. 2017; Model2Vec's Zipf weighting is the same idea), p from the training texts' token counts; the
weights are a buffer saved with the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from distill.errors import UserError
from distill.families import Family, register
from distill.families.base import EmbeddingStudent, length_mask

WEIGHTINGS = ("none", "frequency")


@dataclass(kw_only=True)
class StaticOptions:
    weighting: str = field(default="none", metadata={"help": "none | frequency (SIF weights a/(a+p))"})

    def __post_init__(self):
        if self.weighting not in WEIGHTINGS:
            raise UserError(f"static options: weighting must be one of {', '.join(WEIGHTINGS)}, "
                            f"got {self.weighting!r}")


class StaticClassifier(EmbeddingStudent):
    def __init__(self, cfg, options: StaticOptions):
        super().__init__(cfg)
        self.weighting = options.weighting
        # per-token weights (ones unless weighting = frequency, set by fit_statistics before training)
        self.register_buffer("token_weight", torch.ones(cfg.vocab_size))
        self._head(self.in_dim)

    def fit_statistics(self, counts: torch.Tensor, a: float = 1e-3) -> None:
        if self.weighting == "frequency":
            p = counts.float() / counts.sum().clamp(min=1)
            self.token_weight.copy_(a / (a + p))

    def encode(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        real = length_mask(lengths, input_ids.shape[1]).to(torch.float32)
        w = self.token_weight[input_ids] * real  # pads weigh nothing: padding changes no sentence's mean
        x = self.embed_tokens(input_ids)
        # the weighted sum as one batched matmul, not a broadcast multiply and a sum: with the multiply-and-sum
        # form ExecuTorch's XNNPACK int8 partition split the pooling around a portable `sum` and the second
        # delegate answered one sentence with the export's batch bound, (max_batch, 2) (tests/test_families.py)
        pooled = torch.bmm(w.unsqueeze(1), x).squeeze(1)
        return pooled / w.sum(1, keepdim=True).clamp(min=1e-6)


register(Family(name="static", summary="static token vectors (teacher PCA init), weighted mean, MLP head",
                options=StaticOptions, build=StaticClassifier, reads=("embed_dim", "multichannel", "fc",
                                                                      "dropout")))
