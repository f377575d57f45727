"""The onnx-int8 labeller (export/labeller.py): measured against the fp32 teacher on dev before it labels,
refused below its threshold with both numbers, and recorded with the logits it made."""

from __future__ import annotations

import json

import numpy as np
import pytest

from distill.augment import AugmentConfig, build_transfer_set
from distill.data import get_task
from distill.errors import UserError
from distill.label import label_transfer_set
from export.labeller import make_labeller


@pytest.fixture(scope="module")
def transfer(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "transfer.tsv"
    build_transfer_set(get_task("sst2"), path, AugmentConfig(n_iter=1, train_limit=40), progress=False)
    return path


@pytest.mark.parametrize("name", ["onnx-int8", "onnx-int8-pc"])
def test_int8_labeller_labels_close_to_fp32_and_records_itself(tiny_teacher, transfer, tmp_path, name):
    fp32 = label_transfer_set(tiny_teacher, transfer, tmp_path / "fp32", progress=False, chunk_size=30)
    int8 = label_transfer_set(tiny_teacher, transfer, tmp_path / "int8", progress=False, chunk_size=30,
                              labeller=name, min_agreement=0.5, task=get_task("sst2"),
                              make_labeller=make_labeller)
    a, b = (np.load(tmp_path / d / "logits.npy") for d in ("fp32", "int8"))
    assert a.shape == b.shape and 0 < np.abs(a - b).max() < 0.5  # quantised: close, not equal
    gate = int8["labeller_gate"]
    assert gate["threshold"] == 0.5 and gate["passed"] and gate["n_dev"] == 872 and 0.5 <= gate["value"] <= 1
    assert int8["labeller"] == name and fp32["labeller"] == "torch" and fp32["labeller_gate"] is None
    record = json.loads((tmp_path / "int8" / "record.json").read_text())
    assert record["settings"]["labeller"] == name and record["settings"]["min_agreement"] == 0.5
    quantised = list((tmp_path / ".int8-labeller").rglob("model.int8*.onnx"))
    assert [q.name for q in quantised] == ["model.int8-pc.onnx" if name.endswith("-pc") else "model.int8.onnx"]
    assert "labeller" not in json.loads((tmp_path / "fp32" / "record.json").read_text())["settings"]


def test_int8_labeller_below_its_threshold_is_refused_before_labelling(tiny_teacher, transfer, tmp_path,
                                                                        monkeypatch):
    """An int8 model that disagrees with fp32 (here: its logits negated, so every argmax flips) is refused
    with both numbers, and nothing is labelled."""
    import export.labeller as labeller_module

    real = labeller_module.ort_runner

    def negated(path, threads=None):
        run = real(path, threads)
        return lambda ids, mask: -run(ids, mask)
    monkeypatch.setattr(labeller_module, "ort_runner", negated)
    with pytest.raises(UserError, match=r"agreement with the fp32 teacher on sst2 dev is 0\.\d{4}, below the "
                                        r"threshold 0\.98 \(n = 872; dev accuracy int8 0\.\d{4}, fp32 0\.\d{4}\)"):
        label_transfer_set(tiny_teacher, transfer, tmp_path / "out", progress=False, labeller="onnx-int8",
                           task=get_task("sst2"), make_labeller=make_labeller)
    assert not (tmp_path / "out" / "logits.npy").exists() and not list((tmp_path / "out").glob("chunk_*"))
    # nothing was made, so the refused claim does not block labelling with the fp32 teacher instead
    stats = label_transfer_set(tiny_teacher, transfer, tmp_path / "out", progress=False)
    assert stats["labeller"] == "torch" and (tmp_path / "out" / "logits.npy").exists()


def test_int8_labeller_needs_a_task_and_a_known_name(tiny_teacher, transfer, tmp_path):
    with pytest.raises(UserError, match="give --task"):
        label_transfer_set(tiny_teacher, transfer, tmp_path / "x", progress=False, labeller="onnx-int8")
    with pytest.raises(UserError, match="labeller must be one of torch, onnx-int8"):
        label_transfer_set(tiny_teacher, transfer, tmp_path / "y", progress=False, labeller="tflite")
