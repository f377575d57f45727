"""Which transfer-set rows a student trains on, beyond originals / all: the class-balance filter.

A pair augmentation that replaces or masks words in a paraphrase pair mostly makes a pair that is no longer a
paraphrase; on QQP the teacher labels far fewer augmented pairs duplicate than the originals' gold labels
are (class_shares in results/qqp/transfer_diagnostics.json). A kd-aug student then learns a class prior the dev set
does not have. `balance_augmented` keeps a seeded subsample of the augmented rows whose teacher classes have
the originals' gold class shares, so an ablation row can test whether that prior shift is what costs kd-aug.
That row also trains on fewer augmented rows, so its size control (`size_only`) keeps as many, drawn at random
whatever their class: the difference between the two rows is the class shares alone.
"""

from __future__ import annotations

import numpy as np


def balance_augmented(rows: np.ndarray, gold: np.ndarray, teacher_class: np.ndarray, num_labels: int,
                      seed: int, size_only: bool = False) -> np.ndarray:
    """`rows` (indices into the transfer set) with the augmented ones (gold < 0) subsampled: as many as can be
    kept while each class c makes up the share the originals among `rows` give it by gold label; within a class,
    which rows stay is a seeded draw. Originals are all kept; the result keeps `rows`' order.

    `size_only`: as many augmented rows as that, drawn at random from all of them (their class shares stay as
    the teacher labelled them)."""
    rows = np.asarray(rows)
    original = gold[rows] >= 0
    target = np.bincount(gold[rows[original]], minlength=num_labels) / max(int(original.sum()), 1)
    aug = rows[~original]
    by_class = [aug[teacher_class[aug] == c] for c in range(num_labels)]
    # the largest augmented total n with n·share_c ≤ available_c for every class that has a share
    n = min((len(by_class[c]) / target[c] for c in range(num_labels) if target[c] > 0), default=0.0)
    rng = np.random.default_rng([seed, 7])
    sizes = [int(n * target[c]) for c in range(num_labels)]
    kept = ([rng.choice(aug, size=sum(sizes), replace=False)] if size_only else
            [rng.choice(by_class[c], size=sizes[c], replace=False) for c in range(num_labels)])
    keep = np.zeros(len(gold), dtype=bool)
    keep[rows[original]] = True
    keep[np.concatenate(kept).astype(np.int64)] = True
    return rows[keep[rows]]
