"""Sentence pairs: augmentation cycling, the Siamese student, the dev-split protocol and F1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from distill.augment import (
    AugmentConfig,
    TagSampler,
    augment_examples,
    build_transfer_set,
    sides_for_round,
)
from distill.data import get_task, load_split, with_files
from distill.encode import model_inputs
from distill.errors import UserError
from distill.evaluate import predict_logits
from distill.metrics import f1_ci, scores
from distill.protocol import dev_split, resolve
from distill.students import BiLSTMClassifier, StudentConfig, build_student
from distill.transfer_set import read_transfer_set

TAGGED_A = [("the", "DT"), ("cat", "NN"), ("sat", "VBD"), ("down", "RP")]
TAGGED_B = [("a", "DT"), ("dog", "NN"), ("ran", "VBD"), ("off", "RP")]


def test_pair_rounds_cycle_first_second_both():
    assert [sides_for_round(r, 2) for r in range(6)] == [(0,), (1,), (0, 1)] * 2
    assert {sides_for_round(r, 1) for r in range(5)} == {(0,)}


def test_pair_augmentation_touches_only_the_sentences_of_its_round():
    sampler = TagSampler([TAGGED_A, TAGGED_B])
    cfg = AugmentConfig(p_mask=0.5, p_pos=0.5, p_ng=0.0, n_iter=9, seed=3)
    (rounds,) = augment_examples([(TAGGED_A, TAGGED_B)], sampler, cfg, progress=False)
    a, b = "the cat sat down", "a dog ran off"
    assert len(rounds) == 9
    for r, (va, vb) in enumerate(rounds):
        sides = sides_for_round(r, 2)
        if 0 not in sides:
            assert va == a
        if 1 not in sides:
            assert vb == b
    assert any(va != a for va, _ in rounds[0::3]) and any(vb != b for _, vb in rounds[1::3])
    again = augment_examples([(TAGGED_A, TAGGED_B)], sampler, cfg, progress=False)
    assert again == [rounds]  # same seed, same variants


def test_pair_transfer_set_is_deterministic_and_drops_duplicate_pairs(tmp_path):
    task = with_files(get_task("qqp"), get_task("qqp").path("dev"))  # the vendored dev file as a train file
    cfg = AugmentConfig(n_iter=4, train_limit=60, seed=1)
    stats = build_transfer_set(task, tmp_path / "a.tsv", cfg, progress=False)
    build_transfer_set(task, tmp_path / "b.tsv", cfg, progress=False)
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    ts = read_transfer_set(tmp_path / "a.tsv")
    pairs = list(zip(ts.texts, ts.texts_b))
    assert len(pairs) == len(set(pairs)) == stats["rows"]  # no pair twice, originals included
    assert ts.labels[:60] != [-1] * 60 and set(ts.labels[60:]) == {-1}
    assert stats["made"] == 240 and stats["made"] == stats["kept_augmented"] + stats["dropped_duplicates"]
    originals = load_split(task, "train", 60)
    assert pairs[:60] == list(zip(originals["text"], originals["text_b"]))
    # every augmented row changes the first, the second or both sentences of its original
    for (a, b), o in zip(pairs[60:], ts.origins[60:]):
        assert (a, b) != pairs[o]


def test_siamese_features_and_shapes():
    torch.manual_seed(0)
    cfg = StudentConfig(vocab_size=40, embed_dim=8, hidden=5, fc=7, num_labels=3, pair=True)
    model = build_student(cfg).eval()
    assert isinstance(model, BiLSTMClassifier) and model.cfg.pair and model.fc.in_features == 8 * 5
    ids_a, ids_b = torch.randint(3, 40, (4, 6)), torch.randint(3, 40, (4, 6))
    len_a, len_b = torch.tensor([6, 1, 3, 2]), torch.tensor([2, 6, 1, 3])
    logits = model(ids_a, len_a, ids_b, len_b)
    assert logits.shape == (4, 3)
    h1, h2 = model.encode(ids_a, len_a), model.encode(ids_b, len_b)
    want = model.classify(torch.cat([h1, h2, h1 * h2, (h1 - h2).abs()], -1))
    torch.testing.assert_close(logits, want)
    swapped = model(ids_b, len_b, ids_a, len_a)  # [h1, h2] is ordered: the pair is not symmetric
    assert not torch.allclose(logits, swapped)


def test_pair_logits_do_not_depend_on_the_other_rows_or_padding():
    torch.manual_seed(1)
    model = build_student(StudentConfig(vocab_size=30, embed_dim=6, hidden=4, fc=5, pair=True)).eval()
    rng = np.random.default_rng(0)
    a = [rng.integers(3, 30, n) for n in (1, 9, 4)]
    b = [rng.integers(3, 30, n) for n in (7, 1, 4)]
    together = predict_logits(model, [a, b])
    alone = np.concatenate([predict_logits(model, [[x], [y]]) for x, y in zip(a, b)])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    ids_a, len_a, ids_b, len_b = model_inputs([a, b], [0, 1])
    assert ids_a.shape == ids_b.shape == (2, 9)  # both sides padded to one width


def test_dev_split_is_seeded_stratified_and_checked(tmp_path):
    qqp = get_task("qqp")
    task = dev_split(qqp, tmp_path / "data", seed=0)
    train, dev = load_split(task, "train"), load_split(task, "dev")
    full = load_split(qqp, "dev")
    assert len(train) + len(dev) == len(full)
    assert abs(len(train) / len(full) - 0.8) < 0.001
    share = lambda ds: np.mean(ds["label"])  # noqa: E731
    assert abs(share(train) - share(full)) < 0.001 and abs(share(dev) - share(full)) < 0.002
    from collections import Counter  # the two parts are disjoint as multisets of rows (QQP repeats some pairs)

    rows = lambda ds: Counter(zip(ds["text"], ds["text_b"], ds["label"]))  # noqa: E731
    assert rows(train) + rows(dev) == rows(full)
    assert "dev-split" in task.protocol and "sha256" in task.protocol
    again = dev_split(qqp, tmp_path / "data", seed=0)  # reused, not rewritten
    assert again.files == task.files
    with pytest.raises(UserError, match="other settings"):
        dev_split(qqp, tmp_path / "data", seed=1)
    other = dev_split(qqp, tmp_path / "other", seed=1)
    assert (tmp_path / "other" / "dev.tsv").read_bytes() != (tmp_path / "data" / "dev.tsv").read_bytes()
    assert other.protocol != task.protocol
    (tmp_path / "data" / "dev.tsv").write_text("question1\tquestion2\tis_duplicate\nx\ty\t1\n")
    with pytest.raises(UserError, match="changed"):
        dev_split(qqp, tmp_path / "data", seed=0)


def test_protocol_auto_splits_only_without_a_train_file(tmp_path):
    mnli = resolve(get_task("mnli"), tmp_path, "auto")
    assert mnli.protocol.startswith("dev-split") and "dev_mismatched" in mnli.protocol
    assert mnli.path("dev_mismatched").name == "dev_mismatched.tsv"
    assert resolve(get_task("sst2"), tmp_path, "auto") is get_task("sst2")
    real_train = with_files(get_task("mnli"), tmp_path / "data" / "train.tsv")
    assert resolve(real_train, tmp_path / "x", "auto").protocol.startswith("standard")
    with pytest.raises(UserError, match="no 'train' split"):
        resolve(get_task("qqp"), tmp_path, "standard")


def test_f1_matches_a_hand_count_and_its_ci_brackets_it():
    pred = np.array([1, 1, 0, 0, 1, 0, 1, 1])
    gold = np.array([1, 0, 0, 1, 1, 0, 1, 0])
    tp, fp, fn = 3, 2, 1
    out = f1_ci(pred, gold)
    assert out["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert out["f1_ci95"][0] <= out["f1"] <= out["f1_ci95"][1]
    s = scores(np.eye(2)[pred], gold, with_f1=True)
    assert s["accuracy"] == pytest.approx(5 / 8) and s["f1"] == out["f1"]
