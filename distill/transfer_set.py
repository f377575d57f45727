"""The transfer set and its logits as files: the format `augment` writes and `label` and `student` read.

transfer.tsv: a header, then one row per example — text[, text_b], label (gold for an original, -1 for an
augmented row), origin (index of the original it comes from). logits/logits.npy: float32 (rows, labels), in
transfer-set order, read without pickle. A row left unlabelled by a subset labelling (`label_subset`) holds NaN
logits; students train on the rows whose logits are finite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from distill.errors import UserError


def transfer_header(pair: bool) -> str:
    return "text\ttext_b\tlabel\torigin" if pair else "text\tlabel\torigin"


@dataclass
class TransferSet:
    texts: list[str]
    texts_b: list[str] | None  # second sentences of a pair task, else None
    labels: list[int]  # gold label of an original, -1 for an augmented row
    origins: list[int]  # index of the original each row comes from

    def __len__(self) -> int:
        return len(self.texts)


def read_transfer_set(path: str | Path) -> TransferSet:
    """A transfer set written above (single sentences or pairs, told apart by the header)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: transfer set not found (run `distill-bench augment` first)")
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n")
        pair = header == transfer_header(True)
        if header not in (transfer_header(False), transfer_header(True)):
            raise UserError(f"{path}:1: not a transfer set (header {header!r}, expected "
                            f"{transfer_header(False)!r} or {transfer_header(True)!r})")
        width = 4 if pair else 3
        columns: list[list[str]] = [[] for _ in range(width)]
        for lineno, line in enumerate(f, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != width:
                raise UserError(f"{path}:{lineno}: expected {width} tab-separated fields, found {len(parts)}")
            for col, value in zip(columns, parts):
                col.append(value)
    try:
        labels, origins = [int(x) for x in columns[-2]], [int(x) for x in columns[-1]]
    except ValueError as e:
        raise UserError(f"{path}: label and origin must be integers ({e})") from None
    return TransferSet(columns[0], columns[1] if pair else None, labels, origins)


def load_logits(folder: str | Path) -> np.ndarray:
    path = Path(folder) / "logits.npy"
    if not path.is_file():
        raise UserError(f"{path}: logits not found (run `distill-bench label` first)")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        raise UserError(f"{path}: not a valid logits file ({e})") from None


def label_subset(ts: TransferSet, fraction: float, seed: int) -> np.ndarray:
    """Which rows to label: every original, and of each original's augmented rows the share `fraction`
    (stratified by original sentence, rounded to the nearest row), chosen by `seed` alone: the same seed and
    transfer set give the same rows on any machine."""
    labels, origins = np.asarray(ts.labels), np.asarray(ts.origins)
    keep = labels >= 0
    if fraction >= 1.0:
        return np.ones(len(ts), bool)
    aug = np.flatnonzero(~keep)
    key = np.random.default_rng(seed).random(len(aug))
    order = aug[np.lexsort((key, origins[aug]))]  # by original, then by random key within it
    groups = origins[order]
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    quota = np.repeat(np.floor(fraction * sizes + 0.5).astype(int), sizes)
    keep[order[rank < quota]] = True
    return keep
