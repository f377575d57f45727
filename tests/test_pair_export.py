"""Two-input (sentence-pair) models through every export target: the Siamese student takes (batch, 2, seq),
the pair teacher one joined input; parity is checked where the two sentences differ in length, 1 included."""

from __future__ import annotations

import numpy as np
import pytest

from distill.data import load_split
from distill.layout import RunLayout
from export.context import ExportContext, ExportOptions
from export.litert_env import litert_python
from export.manifest import read_manifest
from export.predict import predict
from export.registry import all_targets
from export.run import export_source
from export.student_source import load_student_source
from export.teacher_source import load_teacher_source
from tests.tiny import TINY_GATES

# One length bucket: routing a batch to its bucket is the same code for one and two inputs and is checked with
# two buckets in tests/test_export_targets.py; each bucket is one more ExecuTorch and LiteRT lowering (the
# slowest part of this file). ExecuTorch int8 with one activation scheme ("auto" builds both: tests/test_families.py).
OPTIONS = ExportOptions(buckets=(8,), dev_limit=48, et_int8_activations="static", **TINY_GATES)


@pytest.fixture(scope="module")
def pair_exported(tiny_pair_run, tmp_path_factory):
    task = RunLayout(tiny_pair_run).task()
    dev, train = load_split(task, "dev", 48), load_split(task, "train", 64)
    root = tmp_path_factory.mktemp("pair-export")
    ctx = ExportContext(root / "scratch", OPTIONS, calibration_texts=list(train["text"]),
                        calibration_texts_b=list(train["text_b"]))
    sources = {"student": load_student_source(tiny_pair_run / "students" / "tiny-pair-s0"),
               "teacher": load_teacher_source(tiny_pair_run / "teacher" / "model", max_length=24, pair=True)}
    out = {}
    for kind, source in sources.items():
        for o in export_source(source, list(all_targets().values()), root / "out", ctx, list(dev["text"]),
                               np.asarray(dev["label"]), log=lambda *a: None, dev_texts_b=list(dev["text_b"])):
            out[(kind, o["target"])] = o
    return sources, out


CASES = [(t, k) for t, spec in all_targets().items() for k in spec.kinds if k != "imported"]


@pytest.mark.parametrize("target,kind", CASES, ids=[f"{t}-{k}" for t, k in CASES])
def test_pair_target_exports_and_matches_eager(target, kind, pair_exported):
    sources, outcomes = pair_exported
    outcome = outcomes[(kind, target)]
    if target in ("litert", "litert-int8") and litert_python() is None:
        assert outcome["status"] == "unavailable"
        pytest.skip("LiteRT converter env not installed here; reported, not faked")
    assert outcome["status"] == "ok", outcome.get("error")
    folder, manifest = read_manifest(outcome["manifest"])
    assert manifest["pair"] is True
    assert manifest["inputs"][0]["shape"] == (["batch", 2, "seq"] if kind == "student" else ["batch", "seq"])
    parity = manifest["parity_max_abs"]
    if kind == "student":  # unequal sentence lengths, 1 included, both ways round
        assert {"b1-s1|1", "b1-s8|1", "b1-s1|8"} <= set(parity) and any("unequal" in k for k in parity)
    spec = all_targets()[target]
    if spec.tolerance is not None:
        assert max(parity.values()) <= spec.tolerance
    else:
        assert manifest["dev"]["argmax_agreement"] >= 0.9


def test_pair_predict_reads_texts_two_at_a_time(pair_exported):
    sources, outcomes = pair_exported
    folder, _ = read_manifest(outcomes[("student", "onnx")]["manifest"])
    got = predict(folder, ["how do i learn python", "what is the best way to learn python",
                           "why is the sky blue", "how old is the moon"])
    assert [r["text_b"] for r in got] == ["what is the best way to learn python", "how old is the moon"]
    ids, mask = sources["student"].encoder(["how do i learn python", "why is the sky blue"], 8,
                                           ["what is the best way to learn python", "how old is the moon"])
    want = sources["student"].logits(ids, mask)
    np.testing.assert_allclose([r["logits"] for r in got], want, atol=1e-4)
    with pytest.raises(Exception, match="two at a time"):
        predict(folder, ["only one sentence"])
