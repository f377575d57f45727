"""Property tests (hypothesis): any Unicode text, any length in the supported range, gives finite logits or a
clear UserError — never a crash, a NaN or a hang — through augmentation, vocabulary lookup, the student
forward and `predict`."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distill.augment import AugmentConfig, TagSampler, augment_once, pos_tagger
from distill.errors import UserError
from distill.students import StudentConfig, build_student
from distill.vocab import Vocab, load_wordpiece

# any character Python can hold except surrogates (not encodable as UTF-8, so no file or argv can carry them)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=0, max_size=300)
WORDS = st.lists(st.text(st.characters(exclude_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=12),
                 min_size=1, max_size=60)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def tagger_and_sampler():
    tagger = pos_tagger()
    corpus = [tagger.tag(s.split()) for s in ("a gorgeous film", "the plot is dull", "we loved every minute")]
    return tagger, TagSampler(corpus)


@SETTINGS
@given(words=WORDS, seed=st.integers(0, 2**31 - 1))
def test_augmentation_takes_any_words_and_is_deterministic(tagger_and_sampler, words, seed):
    tagger, sampler = tagger_and_sampler
    tagged = tagger.tag(words)
    cfg = AugmentConfig(p_mask=0.3, p_pos=0.3, p_ng=0.5)
    first = augment_once(tagged, sampler, cfg, random.Random(seed))
    assert first == augment_once(tagged, sampler, cfg, random.Random(seed))
    assert 1 <= len(first) <= len(words) and all(isinstance(w, str) and w for w in first)


@pytest.fixture(scope="module")
def vocabularies(tiny_teacher):
    texts = ["a gorgeous film", "the plot is dull", "最高の映画 🎬", "naïve café"]
    return [Vocab.build(texts, "word"), Vocab.build(texts, "wordpiece", load_wordpiece(tiny_teacher))]


@SETTINGS
@given(text=TEXT, max_length=st.integers(1, 512))
def test_vocabulary_lookup_of_any_text_stays_in_range(vocabularies, text, max_length):
    for vocab in vocabularies:
        [ids] = vocab.encode([text], max_length)
        assert 1 <= len(ids) <= max_length  # empty text reads one [UNK]; long text is cut
        assert ids.min() >= 1 and ids.max() < len(vocab)  # never the pad id, never out of the table


@pytest.fixture(scope="module")
def students():
    torch.manual_seed(0)
    configs = [StudentConfig(vocab_size=50, embed_dim=8, hidden=6, fc=5, pair=p, multichannel=p) for p in (False, True)]
    return [build_student(c).eval() for c in configs]


@SETTINGS
@given(data=st.data(), batch=st.integers(1, 6), width=st.integers(1, 128))
def test_student_forward_is_finite_for_any_ids_and_lengths(students, data, batch, width):
    ids = torch.tensor(data.draw(st.lists(st.lists(st.integers(0, 49), min_size=width, max_size=width),
                                          min_size=batch, max_size=batch)))
    lengths = torch.tensor(data.draw(st.lists(st.integers(0, width), min_size=batch, max_size=batch)))
    single, pair = students
    with torch.inference_mode():
        assert torch.isfinite(single(ids, lengths)).all()
        assert torch.isfinite(pair(ids, lengths, ids.flip(0), lengths.flip(0))).all()


@pytest.fixture(scope="module")
def onnx_student(tiny_run, tmp_path_factory):
    from export.context import ExportOptions
    from export.run import export_run

    out = tmp_path_factory.mktemp("props-export")
    export_run(tiny_run, models=["tiny-s0"], targets=["onnx"], out=out, options=ExportOptions(dev_limit=16))
    return out / "tiny-s0" / "onnx"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, min_size=1, max_size=3))
def test_predict_any_text_gives_probabilities_or_a_clear_error(onnx_student, texts):
    from export.predict import predict

    try:
        results = predict(onnx_student, texts)
    except UserError as e:
        assert any(not t.strip() for t in texts) and "empty" in str(e)
        return
    assert len(results) == len(texts)
    for r in results:
        probs = np.array(list(r["probabilities"].values()))
        assert np.isfinite(r["logits"]).all() and abs(probs.sum() - 1) < 1e-6
