"""Validation of an artifact against its eager fp32 source: logit parity at fixed shapes, dev accuracy.

Parity shapes (at least five): batch 1 × length 1, batch 1 × the maximum length, a uniform batch, and two
batches of mixed lengths with right padding (one reaching the maximum). For a pair student the two sentences
of a row differ in length (1 and the maximum, both ways, and mixed); a pair teacher's rows carry [SEP]s.
Lossless targets must stay within their tolerance at every shape; lossy ones (int8) must agree with fp32 on
the dev argmax on at least `min_agreement` of dev and keep `accuracy_budget` of its dev accuracy. `judge`
returns every gate as {threshold, value, passed}; a failure raises ValidationError naming the target, each
failed gate and both numbers.
"""

from __future__ import annotations

import numpy as np

from distill.batching import length_batches
from distill.errors import UserError
from distill.metrics import accuracy_ci


class ValidationError(UserError):
    """An artifact that missed a gate; `gates` holds every gate's threshold, value and verdict."""

    def __init__(self, message: str, gates: dict | None = None):
        super().__init__(message)
        self.gates = gates or {}


def _batch(rng, lengths: list, seq: int, low: int, high: int, sep: int | None = None):
    """Right-padded random rows; an entry of `lengths` is one length, or a (first, second) pair of lengths
    for a pair student's (batch, 2, seq) input. With `sep`, each row gets [SEP] tokens mid-way and at its end,
    as a pair teacher's joined input has them."""
    pair = isinstance(lengths[0], tuple)
    ids = np.zeros((len(lengths), 2, seq) if pair else (len(lengths), seq), np.int64)
    mask = np.zeros_like(ids)
    for i, n in enumerate(lengths):
        for k, m in enumerate(n if pair else (n,)):
            row = (i, k) if pair else (i,)
            ids[row][:m] = rng.integers(low, high, m)
            mask[row][:m] = 1
            if sep is not None and m >= 3:
                ids[row][m // 2] = ids[row][m - 1] = sep
    return ids, mask


def parity_inputs(max_length: int, vocab_size: int, first_id: int, seed: int = 0, pair: bool = False,
                  sep: int | None = None) -> dict:
    """Named parity batches. Pair students: the two sentences of a row have different lengths, 1 included."""
    rng = np.random.default_rng(seed)
    mid = max(2, min(7, max_length))
    third, half = max(1, max_length // 3), max(1, max_length // 2)
    if pair:
        shapes = {
            "b1-s1|1": [(1, 1)],
            f"b1-s{max_length}|1": [(max_length, 1)],
            f"b1-s1|{max_length}": [(1, max_length)],
            f"b2-s{mid}|{mid}": [(mid, mid), (mid, mid)],
            f"b4-s{max_length}-padded-unequal": [(max_length, 1), (1, max_length), (third, half),
                                                  (half, max(1, max_length - 3))],
        }
    else:
        mixed = sorted({1, 2, third, half}, reverse=True)
        shapes = {
            "b1-s1": [1],
            f"b1-s{max_length}": [max_length],
            f"b2-s{mid}": [mid, mid],
            f"b{len(mixed)}-s{mixed[0]}-padded": mixed,
            f"b4-s{max_length}-padded": [max_length, max(1, max_length - 3), max(1, max_length // 4), 1],
        }
    return {name: _batch(rng, lengths, max(max(n) if pair else n for n in lengths), first_id, vocab_size, sep)
            for name, lengths in shapes.items()}


def check_parity(runner, source, max_length: int) -> dict:
    """Largest |Δlogit| vs the eager source at each parity shape."""
    out = {}
    inputs = parity_inputs(max_length, source.vocab_size, source.first_token_id,
                           pair=source.siamese, sep=source.sep_token_id)
    for name, (ids, mask) in inputs.items():
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


def dev_batches(encoder, texts: list[str], max_length: int, batch_size: int = 32,
                texts_b: list[str] | None = None) -> list:
    """(row indices, ids, mask) batches of the dev set, rows of similar length (in characters) together."""
    lengths = [len(t) + (len(texts_b[i]) if texts_b is not None else 0) for i, t in enumerate(texts)]
    out = []
    for idx in length_batches(lengths, batch_size):
        pairs = [texts_b[j] for j in idx] if texts_b is not None else None
        ids, mask = encoder([texts[j] for j in idx], max_length, pairs)
        out.append((idx, ids, mask))
    return out


def score(logits: np.ndarray, labels: np.ndarray, reference: np.ndarray) -> dict:
    s = accuracy_ci(logits.argmax(-1) == labels)
    return {"accuracy": s["accuracy"], "ci95": s["ci95"], "n": s["n"],
            "argmax_agreement": float((logits.argmax(-1) == reference.argmax(-1)).mean())}


def judge(target, parity: dict, scores: dict, fp32: dict, budget: float, min_agreement: float) -> dict:
    """Every gate of the artifact as {threshold, value, passed}; raise ValidationError (carrying the gates)
    naming each failed gate with its value and threshold.

    Lossless targets: `parity`, the largest |Δlogit| over the parity shapes ≤ the target's tolerance.
    Lossy targets: `argmax_agreement` with fp32 on dev ≥ `min_agreement`, and `accuracy_ratio`, dev accuracy /
    fp32 dev accuracy ≥ `budget` (their parity is recorded in the manifest, not gated).
    """
    gates: dict[str, dict] = {}
    failed = []
    if target.tolerance is not None:
        worst = max(parity, key=parity.get)
        ok = parity[worst] <= target.tolerance
        gates["parity"] = {"threshold": target.tolerance, "value": parity[worst], "passed": ok,
                           "rule": "max |Δlogit| vs eager fp32 over the parity shapes ≤ threshold", "shape": worst}
        if not ok:
            failed.append(f"max |Δlogit| {parity[worst]:.3g} at shape {worst} exceeds tolerance "
                          f"{target.tolerance:g} (all shapes: {parity})")
    if target.lossy:
        agreement = scores["argmax_agreement"]
        ok = agreement >= min_agreement
        gates["argmax_agreement"] = {"threshold": min_agreement, "value": agreement, "passed": ok,
                                     "rule": "share of dev examples whose argmax equals fp32's ≥ threshold"}
        if not ok:
            failed.append(f"argmax agreement with fp32 {agreement:.4f} is below the threshold {min_agreement:g} "
                          f"(n = {scores['n']})")
        ratio = scores["accuracy"] / fp32["accuracy"] if fp32["accuracy"] else None
        ok = scores["accuracy"] >= budget * fp32["accuracy"]
        gates["accuracy_ratio"] = {"threshold": budget, "value": ratio, "passed": ok,
                                   "rule": "dev accuracy / fp32 dev accuracy ≥ threshold"}
        if not ok:
            failed.append(f"dev accuracy / fp32 {ratio:.4f} is below the threshold {budget:g}: dev accuracy "
                          f"{scores['accuracy']:.4f} is below {budget:.0%} of fp32 {fp32['accuracy']:.4f} (needs ≥ "
                          f"{budget * fp32['accuracy']:.4f})")
    if failed:
        raise ValidationError(f"target {target.name}: " + "; ".join(failed), gates)
    return gates
