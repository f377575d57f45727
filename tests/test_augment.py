import random

import pytest

from distill.augment import MASK, AugmentConfig, TagSampler, augment_once, build_transfer_set
from distill.data import get_task
from distill.errors import UserError
from distill.transfer_set import read_transfer_set

SAMPLED = "<sampled>"


class MarkingSampler(TagSampler):
    """Returns a sentinel instead of a word, so POS replacements can be counted exactly."""

    def __init__(self):
        pass

    def sample(self, tag, rng):
        rng.random()
        return SAMPLED


def test_rule_rates_match_probabilities():
    cfg = AugmentConfig(p_ng=0.0)
    sent = [(f"w{i}", "NN") for i in range(20)]
    rng = random.Random(0)
    words = [w for _ in range(5000) for w in augment_once(sent, MarkingSampler(), cfg, rng)]
    assert len(words) == 100_000  # no n-gram sampling: every word kept in place
    assert words.count(MASK) / len(words) == pytest.approx(0.1, abs=0.005)
    assert words.count(SAMPLED) / len(words) == pytest.approx(0.1, abs=0.005)


def test_ngram_rate_and_bounds():
    cfg = AugmentConfig(p_mask=0.0, p_pos=0.0, p_ng=0.25, max_ngram=5)
    sent = [(f"w{i}", "NN") for i in range(12)]
    original = [w for w, _ in sent]
    rng = random.Random(1)
    outs = [augment_once(sent, MarkingSampler(), cfg, rng) for _ in range(8000)]
    grams = [o for o in outs if len(o) < len(sent)]
    assert len(grams) / len(outs) == pytest.approx(0.25, abs=0.015)
    assert {len(g) for g in grams} == {1, 2, 3, 4, 5}
    for g in grams:  # a contiguous slice of the original
        start = original.index(g[0])
        assert original[start:start + len(g)] == g


def test_pos_replacement_keeps_the_tag():
    sampler = TagSampler([[("good", "JJ"), ("film", "NN")], [("bad", "JJ"), ("movie", "NN")]])
    rng = random.Random(0)
    assert {sampler.sample("JJ", rng) for _ in range(200)} == {"good", "bad"}
    assert {sampler.sample("NN", rng) for _ in range(200)} == {"film", "movie"}


def test_unigram_distribution_counts_every_occurrence():
    sampler = TagSampler([[("a", "X")], [("a", "X")], [("a", "X")], [("b", "X")]])
    rng = random.Random(0)
    draws = [sampler.sample("X", rng) for _ in range(8000)]
    assert draws.count("a") / len(draws) == pytest.approx(0.75, abs=0.02)


def test_transfer_set_is_deterministic_and_keeps_originals(tmp_path, capsys):
    task = get_task("sst2")
    cfg = AugmentConfig(n_iter=3, train_limit=200, seed=7)
    a = build_transfer_set(task, tmp_path / "a.tsv", cfg, progress=False)
    build_transfer_set(task, tmp_path / "b.tsv", cfg, progress=False)
    build_transfer_set(task, tmp_path / "c.tsv", AugmentConfig(n_iter=3, train_limit=200, seed=8), progress=False)
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    assert (tmp_path / "a.tsv").read_bytes() != (tmp_path / "c.tsv").read_bytes()
    ts = read_transfer_set(tmp_path / "a.tsv")
    texts, labels = ts.texts, ts.labels
    assert ts.texts_b is None
    assert labels[:200] != [-1] * 200 and all(lab == -1 for lab in labels[200:])
    assert len(texts) == len(set(texts[200:])) + 200  # augmented rows are unique
    assert not set(texts[200:]) & set(texts[:200])  # and never repeat an original
    assert a["made"] == 600 and a["rows"] == 200 + a["kept_augmented"]
    assert a["made"] == a["kept_augmented"] + a["dropped_duplicates"]
    assert "made" in capsys.readouterr().out


def test_bad_probabilities_are_refused():
    with pytest.raises(UserError, match="p_mask"):
        AugmentConfig(p_mask=1.5)
    with pytest.raises(UserError, match="p_mask \\+ p_pos"):
        AugmentConfig(p_mask=0.6, p_pos=0.6)
