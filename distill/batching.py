"""Batches of similar length, the one batcher every stage uses: padding never changes a model's output here
(students read lengths, teachers masks), so grouping by length only saves the time spent on padding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def length_order(lengths: Sequence[int] | np.ndarray) -> np.ndarray:
    """Row indices, shortest first; ties keep their order (stable), so the same lengths give the same order."""
    return np.argsort(np.asarray(lengths), kind="stable")


def length_batches(lengths: Sequence[int] | np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Row indices in batches of `batch_size`, rows of similar length together (the last batch may be smaller):
    for inference, where the order of the batches does not matter."""
    order = length_order(lengths)
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Shuffled training batches of similar lengths: shuffle, sort within pools of 50 batches, shuffle the
    batches. The same (seed, epoch) gives the same batches, so a resumed run sees the data order it would have."""
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for i in range(0, len(perm), pool):
        p = perm[i:i + pool]
        p = p[length_order(lengths[p])]
        batches.extend(p[j:j + batch_size] for j in range(0, len(p), batch_size))
    order = rng.permutation(len(batches))
    return [batches[k] for k in order]
