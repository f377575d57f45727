"""Token ids to padded arrays: the one text-to-ids path of training, validation, predict and bench.

`Vocab.encode` (distill/vocab.py) turns each sentence into an id array; `pad_sides` right-pads them into one
array. A pair task has two sides, padded to one width, the (batch, 2, seq) layout an exported pair student
takes. Id 0 is [PAD] only: every real token, [UNK] included, is ≥ 1, so a row's length is its count of ids ≠ 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def pad_sides(sides: Sequence[Sequence[np.ndarray]], width: int = 0) -> np.ndarray:
    """(n, len(sides), width) int64 ids, right-padded with 0 to the longest row of any side (or `width`)."""
    n = len(sides[0])
    width = max(width, max((len(s) for side in sides for s in side), default=0))
    ids = np.zeros((n, len(sides), width), np.int64)
    for k, side in enumerate(sides):
        for i, s in enumerate(side):
            ids[i, k, :len(s)] = s
    return ids


def lengths_of(ids: np.ndarray) -> np.ndarray:
    """Tokens per row of padded ids (any shape ending in seq)."""
    return (ids != 0).sum(-1).astype(np.int64)


def model_inputs(encoded: list[list[np.ndarray]], rows) -> tuple[torch.Tensor, ...]:
    """The student's inputs for `rows`: (ids, lengths), or for pairs (ids, lengths, ids_b, lengths_b), both
    sides padded to one width (the (batch, 2, seq) layout of an exported pair student)."""
    ids = pad_sides([[side[i] for i in rows] for side in encoded])
    lengths = np.array([[len(side[i]) for side in encoded] for i in rows], np.int64).reshape(len(ids), -1)
    return tuple(t for k in range(ids.shape[1])
                 for t in (torch.from_numpy(ids[:, k].copy()), torch.from_numpy(lengths[:, k].copy())))


def total_lengths(encoded: list[list[np.ndarray]]) -> np.ndarray:
    """Tokens per example over all its sentences (what a length-sorted batch groups by)."""
    return np.sum([[len(s) for s in side] for side in encoded], axis=0).astype(np.int64)


def encode_split(vocab, ds, max_length: int) -> list[list[np.ndarray]]:
    """Token ids of a split's sentences (a distill.vocab.Vocab): [first sentences] or [first, second] for a
    pair task."""
    columns = ["text", "text_b"] if "text_b" in ds.column_names else ["text"]
    return [vocab.encode(ds[c], max_length) for c in columns]
