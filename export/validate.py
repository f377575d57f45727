"""Validation of an artifact against its eager fp32 source: logit parity at fixed shapes, dev accuracy.

Parity shapes (at least five): batch 1 × length 1, batch 1 × the maximum length, a uniform batch, and two
batches of mixed lengths with right padding (one reaching the maximum). Lossless targets must stay within
their tolerance at every shape; lossy ones (int8) must agree with fp32 on the dev argmax and keep
`accuracy_budget` of its dev accuracy. A failure raises ValidationError naming the target and the numbers.
"""

from __future__ import annotations

import numpy as np

from distill.errors import UserError
from distill.metrics import accuracy_ci


class ValidationError(UserError):
    pass


def _batch(rng, lengths: list[int], seq: int, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.zeros((len(lengths), seq), np.int64)
    mask = np.zeros_like(ids)
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(low, high, n)
        mask[i, :n] = 1
    return ids, mask


def parity_inputs(max_length: int, vocab_size: int, first_id: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    mid = max(2, min(7, max_length))
    mixed = sorted({1, 2, max(1, max_length // 3), max(1, max_length // 2)}, reverse=True)
    shapes = {
        "b1-s1": [1],
        f"b1-s{max_length}": [max_length],
        f"b2-s{mid}": [mid, mid],
        f"b{len(mixed)}-s{mixed[0]}-padded": mixed,
        f"b4-s{max_length}-padded": [max_length, max(1, max_length - 3), max(1, max_length // 4), 1],
    }
    return {name: _batch(rng, lengths, max(lengths), first_id, vocab_size) for name, lengths in shapes.items()}


def check_parity(runner, source, max_length: int) -> dict:
    """Largest |Δlogit| vs the eager source at each parity shape."""
    out = {}
    for name, (ids, mask) in parity_inputs(max_length, source.vocab_size, source.first_token_id).items():
        got = np.asarray(runner(ids, mask), np.float32)
        want = source.logits(ids, mask)
        if got.shape != want.shape:
            raise ValidationError(f"shape {name}: artifact returned logits of shape {got.shape}, eager {want.shape}")
        out[name] = float(np.abs(got - want).max())
    return out


def predict_dev(runner, dev_batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """Logits for the dev set, batched by length; `dev_batches` holds (row indices, ids, mask)."""
    logits = None
    for idx, ids, mask in dev_batches:
        got = np.asarray(runner(ids, mask), np.float32)
        if logits is None:
            logits = np.zeros((n, got.shape[1]), np.float32)
        logits[idx] = got
    return logits


def dev_batches(encoder, texts: list[str], max_length: int, batch_size: int = 32) -> list:
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = []
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        ids, mask = encoder([texts[j] for j in idx], max_length)
        out.append((idx, ids, mask))
    return out


def score(logits: np.ndarray, labels: np.ndarray, reference: np.ndarray) -> dict:
    s = accuracy_ci(logits.argmax(-1) == labels)
    return {"accuracy": s["accuracy"], "ci95": s["ci95"], "n": s["n"],
            "argmax_agreement": float((logits.argmax(-1) == reference.argmax(-1)).mean())}


def judge(target, parity: dict, scores: dict, fp32: dict, budget: float) -> None:
    """Raise ValidationError when the artifact misses its target's bar."""
    if target.tolerance is not None:
        worst = max(parity, key=parity.get)
        if parity[worst] > target.tolerance:
            raise ValidationError(f"target {target.name}: max |Δlogit| {parity[worst]:.3g} at shape {worst} "
                                  f"exceeds tolerance {target.tolerance:g} (all shapes: {parity})")
    if target.lossy and scores["accuracy"] < budget * fp32["accuracy"]:
        raise ValidationError(
            f"target {target.name}: dev accuracy {scores['accuracy']:.4f} is below {budget:.0%} of fp32 "
            f"{fp32['accuracy']:.4f} (needs ≥ {budget * fp32['accuracy']:.4f}; argmax agreement "
            f"{scores['argmax_agreement']:.4f})")
