"""The distillation objective: L = α·CE(hard label) + (1−α)·L_distill (Tang et al. 2019, eq. 3).

L_distill is the paper's squared error between logit vectors, ‖z_teacher − z_student‖² summed over classes
and averaged over the batch; KL divergence on temperature-softened distributions (Hinton et al.) is offered as
an option, scaled by T² so its gradients keep their size as T changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DISTILL_LOSSES = ("mse", "kl")


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, kind: str = "mse",
                 temperature: float = 1.0) -> torch.Tensor:
    if kind == "mse":
        return (student - teacher).pow(2).sum(-1).mean()
    if kind == "kl":
        t = temperature
        return F.kl_div(F.log_softmax(student / t, -1), F.log_softmax(teacher / t, -1),
                        log_target=True, reduction="batchmean") * t * t
    raise ValueError(f"unknown distillation loss {kind!r}; choose from {DISTILL_LOSSES}")


def total_loss(student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None, alpha: float,
               kind: str = "mse", temperature: float = 1.0) -> torch.Tensor:
    """α·CE(labels) + (1−α)·distill; with no teacher logits (the plain baseline) only CE is used."""
    if teacher is None or alpha >= 1.0:
        return F.cross_entropy(student, labels)
    soft = distill_loss(student, teacher, kind, temperature)
    return soft if alpha <= 0.0 else alpha * F.cross_entropy(student, labels) + (1 - alpha) * soft
