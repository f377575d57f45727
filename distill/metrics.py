"""Accuracy with a percentile-bootstrap 95% confidence interval."""

from __future__ import annotations

import numpy as np


def accuracy_ci(correct: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    correct = np.asarray(correct, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = rng.choice(correct, size=(n_boot, len(correct)), replace=True).mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return {"accuracy": float(correct.mean()), "ci95": [float(lo), float(hi)], "n": int(len(correct))}
