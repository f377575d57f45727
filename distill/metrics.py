"""Accuracy (and F1 of class 1, as GLUE reports for QQP) with percentile-bootstrap 95% confidence intervals."""

from __future__ import annotations

import numpy as np


def accuracy_ci(correct: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    correct = np.asarray(correct, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = rng.choice(correct, size=(n_boot, len(correct)), replace=True).mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return {"accuracy": float(correct.mean()), "ci95": [float(lo), float(hi)], "n": int(len(correct))}


def f1_score(pred: np.ndarray, labels: np.ndarray) -> float:
    """F1 of the positive class (label 1), the point figure of f1_ci (learning curves record it per evaluation)."""
    pred, labels = np.asarray(pred) == 1, np.asarray(labels) == 1
    tp, fp, fn = (pred & labels).sum(), (pred & ~labels).sum(), (~pred & labels).sum()
    return float(2 * tp / (2 * tp + fp + fn)) if 2 * tp + fp + fn else 0.0


def f1_ci(pred: np.ndarray, labels: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """F1 of the positive class (label 1) and its bootstrap CI (the same rows resampled for every statistic)."""
    pred, labels = np.asarray(pred) == 1, np.asarray(labels) == 1

    def f1(tp, fp, fn):
        denom = 2 * tp + fp + fn
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(pred), size=(n_boot, len(pred)))
    p, y = pred[idx], labels[idx]
    boot = f1((p & y).sum(1), (p & ~y).sum(1), (~p & y).sum(1))
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    point = f1((pred & labels).sum(), (pred & ~labels).sum(), (~pred & labels).sum())
    return {"f1": float(point), "f1_ci95": [float(lo), float(hi)]}


def scores(logits: np.ndarray, labels: np.ndarray, with_f1: bool = False, seed: int = 0) -> dict:
    """accuracy, ci95, n (and f1, f1_ci95) of argmax predictions."""
    pred, labels = np.asarray(logits).argmax(-1), np.asarray(labels)
    out = accuracy_ci(pred == labels, seed=seed)
    if with_f1:
        out.update(f1_ci(pred, labels, seed=seed))
    return out
