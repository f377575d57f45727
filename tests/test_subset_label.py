"""Labelling an expensive teacher as planned: a stated fraction of the augmented rows (every original, and the
same share of each original's augmentations, chosen by a seed), a time estimate before it starts, NaN logits
for the rows left out, and students that train on the labelled rows only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from distill.augment import AugmentConfig, build_transfer_set
from distill.data import get_task
from distill.errors import UserError
from distill.label import label_transfer_set
from distill.train import StudentRunConfig, train_student
from distill.transfer_set import TransferSet, label_subset, read_transfer_set


def test_subset_is_stratified_by_original_and_deterministic_by_seed():
    origins = [0] * 11 + [1] * 5 + [2]
    labels = [1] + [-1] * 10 + [0] + [-1] * 4 + [1]
    ts = TransferSet(["x"] * len(labels), None, labels, origins)
    a, b, c = label_subset(ts, 0.5, 0), label_subset(ts, 0.5, 0), label_subset(ts, 0.5, 1)
    assert (a == b).all() and not (a == c).all()
    assert a[[0, 11, 16]].all()  # every original
    assert a[1:11].sum() == 5 and a[12:16].sum() == 2  # half of each original's augmentations
    assert label_subset(ts, 1.0, 0).all()


@pytest.fixture(scope="module")
def transfer(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "transfer.tsv"
    build_transfer_set(get_task("sst2"), path, AugmentConfig(n_iter=4, train_limit=30), progress=False)
    return path


def test_a_fraction_is_labelled_estimated_and_recorded(tiny_teacher, transfer, tmp_path, capsys):
    stats = label_transfer_set(tiny_teacher, transfer, tmp_path / "part", progress=False, fraction=0.5, subset_seed=3)
    logits = np.load(tmp_path / "part" / "logits.npy")
    chosen = label_subset(read_transfer_set(transfer), 0.5, 3)
    assert np.isfinite(logits[chosen]).all() and np.isnan(logits[~chosen]).all()
    assert stats["labelled_rows"] == chosen.sum() < len(logits) and stats["fraction"] == 0.5
    assert stats["estimate"]["rows"] == chosen.sum() and stats["estimate"]["rows_per_s"] > 0
    assert "rows to label" in capsys.readouterr().out
    record = json.loads((tmp_path / "part" / "record.json").read_text())
    assert record["settings"]["fraction"] == 0.5 and record["settings"]["subset_seed"] == 3
    full = label_transfer_set(tiny_teacher, transfer, tmp_path / "full", progress=False)
    whole = np.load(tmp_path / "full" / "logits.npy")
    np.testing.assert_array_equal(logits[chosen], whole[chosen])  # the same rows get the same logits
    assert "fraction" not in json.loads((tmp_path / "full" / "record.json").read_text())["settings"]
    assert full["labelled_rows"] == len(whole)
    with pytest.raises(UserError, match=r"fraction must be in \(0, 1\]"):
        label_transfer_set(tiny_teacher, transfer, tmp_path / "bad", progress=False, fraction=0.0)


def test_students_train_on_the_labelled_rows_only(tiny_teacher, transfer, tmp_path):
    label_transfer_set(tiny_teacher, transfer, tmp_path / "part", progress=False, fraction=0.5, subset_seed=3)
    cfg = StudentRunConfig(examples="all", embedding="random", embed_dim=8, hidden=6, fc=6, batch_size=20,
                           epochs=1.0, eval_every=5, threads=1)
    m = train_student(get_task("sst2"), transfer, tmp_path / "part", tmp_path / "s", cfg, progress=False)
    assert m["train_rows"] == label_subset(read_transfer_set(transfer), 0.5, 3).sum()
    assert np.isfinite(m["history"][-1]["train_loss"])
