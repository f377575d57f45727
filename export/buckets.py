"""Fixed-length artifacts (ExecuTorch .pte, LiteRT .tflite) ship one file per sequence-length bucket; a batch
goes to the smallest bucket that fits its longest sentence, padded on the right (the student ignores pads,
so the result equals the eager model's). Longer inputs are cut to the largest bucket, like the tokenizer's
max_length cut. The batch axis has a bound too (1 for LiteRT; `--max-batch` for ExecuTorch, whose runtime
allocates its planned buffers for the largest batch when a file is loaded): bigger batches run in slices.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def bucket_file(length: int, suffix: str) -> str:
    return f"model-s{length}{suffix}"


def buckets_for(max_length: int, wanted: tuple[int, ...]) -> list[int]:
    """The asked-for buckets that fit the model's max length (or that length alone)."""
    return sorted(b for b in wanted if b <= max_length) or [max_length]


def pick_bucket(length: int, buckets: list[int]) -> int:
    fits = [b for b in sorted(buckets) if b >= length]
    return fits[0] if fits else max(buckets)


def fit(ids: np.ndarray, mask: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad (or cut) the last axis of both arrays (the tokens of each sentence) to `length`."""
    if ids.shape[-1] >= length:
        return np.ascontiguousarray(ids[..., :length]), np.ascontiguousarray(mask[..., :length])
    pad = ((0, 0),) * (ids.ndim - 1) + ((0, length - ids.shape[-1]),)
    return np.pad(ids, pad), np.pad(mask, pad)


def bucketed(runners: dict[int, Callable], max_batch: int | None = None) -> Callable:
    """One runner over per-bucket runners. A file built for at most `max_batch` rows (1 for a static-batch
    .tflite) gets larger batches in slices of that many rows, joined in order."""
    buckets = sorted(runners)

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        b = pick_bucket(int(mask.sum(-1).max()), buckets)
        ids, mask = fit(ids, mask, b)
        if max_batch is None or len(ids) <= max_batch:
            return runners[b](ids, mask)
        return np.concatenate([runners[b](ids[i:i + max_batch], mask[i:i + max_batch])
                               for i in range(0, len(ids), max_batch)])

    return run
