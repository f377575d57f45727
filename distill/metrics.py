"""Accuracy (and F1 of class 1, as GLUE reports for QQP) with percentile-bootstrap 95% confidence intervals."""

from __future__ import annotations

import numpy as np


def accuracy_ci(correct: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    correct = np.asarray(correct, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = rng.choice(correct, size=(n_boot, len(correct)), replace=True).mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return {"accuracy": float(correct.mean()), "ci95": [float(lo), float(hi)], "n": int(len(correct))}


def _f1(pred: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """F1 of the positive class along the last axis of boolean `pred`/`labels` (0 where nothing is positive)."""
    tp, fp, fn = (pred & labels).sum(-1), (pred & ~labels).sum(-1), (~pred & labels).sum(-1)
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def f1_score(pred: np.ndarray, labels: np.ndarray) -> float:
    """F1 of the positive class (label 1), the point figure of f1_ci (learning curves record it per evaluation)."""
    return float(_f1(np.asarray(pred) == 1, np.asarray(labels) == 1))


def f1_ci(pred: np.ndarray, labels: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """F1 of the positive class (label 1) and its bootstrap CI (the same rows resampled for every statistic)."""
    pred, labels = np.asarray(pred) == 1, np.asarray(labels) == 1
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(pred), size=(n_boot, len(pred)))
    boot = _f1(pred[idx], labels[idx])
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return {"f1": float(_f1(pred, labels)), "f1_ci95": [float(lo), float(hi)]}


def scores(logits: np.ndarray, labels: np.ndarray, with_f1: bool = False, seed: int = 0) -> dict:
    """accuracy, ci95, n (and f1, f1_ci95) of argmax predictions."""
    pred, labels = np.asarray(logits).argmax(-1), np.asarray(labels)
    out = accuracy_ci(pred == labels, seed=seed)
    if with_f1:
        out.update(f1_ci(pred, labels, seed=seed))
    return out


def paired_gap(correct_a: list[np.ndarray], correct_b: list[np.ndarray], n_boot: int = 2000, seed: int = 0,
               level: float = 0.95, ratio: bool = False, labels: np.ndarray | None = None) -> dict:
    """Mean-over-seeds accuracy of arm A minus arm B, both scored on the same examples, with a two-level
    bootstrap CI: each resample draws the seeds of each arm with replacement and one set of examples shared by
    both arms, so the interval carries seed-to-seed spread and the pairing of examples. Arrays: per seed, one
    0/1 (correct) entry per example. With `ratio`, also A ÷ B from the same resamples (the share of a teacher's
    accuracy a student keeps). With `labels`, the arrays are each seed's predicted classes instead and the
    statistic is the mean over seeds of F1 of class 1 (GLUE's other QQP metric), resampled the same way."""
    dtype = np.int64 if labels is not None else np.float64
    a, b = np.asarray(correct_a, dtype), np.asarray(correct_b, dtype)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"paired arms scored on different example counts ({a.shape[1]} vs {b.shape[1]})")
    if labels is None:
        def score(x, idx):
            return x[:, idx].mean()
    else:
        positive = np.asarray(labels) == 1

        def score(x, idx):
            return _f1(x[:, idx] == 1, positive[idx]).mean()
    rng = np.random.default_rng(seed)
    n = a.shape[1]
    means = np.empty((n_boot, 2))
    for i in range(n_boot):
        idx = rng.integers(0, n, n)
        sa, sb = rng.integers(0, len(a), len(a)), rng.integers(0, len(b), len(b))
        means[i] = score(a[sa], idx), score(b[sb], idx)
    q = [(1 - level) / 2, (1 + level) / 2]
    lo, hi = np.quantile(means[:, 0] - means[:, 1], q)
    every = slice(None)
    out = {"gap": float(score(a, every) - score(b, every)), "ci95": [float(lo), float(hi)], "n": int(n),
           "seeds": [len(a), len(b)], "resamples": n_boot}
    if ratio:
        lo, hi = np.quantile(means[:, 0] / means[:, 1], q)
        out.update(ratio=float(a.mean() / b.mean()), ratio_ci95=[float(lo), float(hi)])
    return out


def top_probability(logits: np.ndarray) -> np.ndarray:
    """The softmax probability of each row's top class."""
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted.max(-1) / shifted.sum(-1)
