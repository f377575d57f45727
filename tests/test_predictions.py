"""Kept dev predictions (distill/predictions.py) and the paired bootstrap (distill/metrics.paired_gap)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from distill.data import get_task, load_split
from distill.encode import encode_split
from distill.errors import UserError
from distill.evaluate import predict_logits
from distill.metrics import paired_gap
from distill.predictions import dev_predictions
from distill.student_files import load_student


def test_predictions_are_made_once_from_the_checkpoint_and_must_match_its_metrics(tiny_run, tmp_path):
    task, student = get_task("sst2"), tiny_run / "students" / "tiny-s0"
    kept = tmp_path / "predictions" / "tiny-s0.json"
    with pytest.raises(UserError, match="not the ones its metrics were measured on"):
        dev_predictions(student, kept, task, accuracy=1.0)  # a checkpoint that scores 1.0 is not this one
    assert not kept.exists()
    labels = np.asarray(load_split(task, "dev")["label"])
    model, vocab, extra = load_student(student)  # the tiny random student's true dev accuracy
    acc = float((predict_logits(model, encode_split(vocab, load_split(task, "dev"), extra["max_length"])).argmax(-1)
                 == labels).mean())
    pred = dev_predictions(student, kept, task, accuracy=acc)
    assert kept.exists() and (pred == labels).mean() == acc
    record = json.loads(kept.read_text())
    assert record["n"] == len(labels) == len(record["predictions"]) and len(record["model_sha256"]) == 64
    # the same checkpoint: read back, not recomputed (an edited file is what comes back)
    record["predictions"] = "1" * len(labels)
    kept.write_text(json.dumps(record))
    assert (dev_predictions(student, kept, task, accuracy=0.0) == 1).all()
    # another checkpoint (sha differs): recomputed, so its accuracy must match again
    record["model_sha256"] = "0" * 64
    kept.write_text(json.dumps(record))
    with pytest.raises(UserError):
        dev_predictions(student, kept, task, accuracy=1.0)


def test_paired_gap_is_tight_for_a_consistent_gain_and_straddles_zero_for_a_tie():
    rng = np.random.default_rng(0)
    base = rng.random((3, 2000)) < 0.8
    better = base | (rng.random((3, 2000)) < 0.25)  # each seed right wherever base was, and more
    gain = paired_gap(list(better), list(base))
    assert gain["gap"] > 0.04 and gain["ci95"][0] > 0.03 and gain["seeds"] == [3, 3] and gain["n"] == 2000
    tie = paired_gap(list(base), list(base[::-1]))
    assert tie["ci95"][0] < 0 < tie["ci95"][1]
    with pytest.raises(ValueError, match="different example counts"):
        paired_gap(list(base), list(base[:, :10]))


def test_paired_f1_gap_is_the_mean_f1_difference_and_can_disagree_with_accuracy():
    """With labels, paired_gap reads predicted classes and compares F1 of class 1. Arm A predicts the positive
    class more often: fewer correct rows but a higher F1 — the case where QQP's two metrics give opposite
    verdicts, which is why both are reported."""
    from distill.metrics import f1_score

    rng = np.random.default_rng(2)
    labels = (rng.random(3000) < 0.37).astype(int)  # QQP-like: 37% duplicates
    noise = rng.random((3, 3000))  # per seed
    # B: precise but misses 45% of the positives; A: finds 85% of them at the cost of 28% false positives
    b = np.where(labels == 1, noise < 0.55, noise >= 0.95).astype(int)
    a = np.where(labels == 1, noise < 0.85, noise >= 0.72).astype(int)
    acc = paired_gap(list(a == labels), list(b == labels))
    f1 = paired_gap(list(a), list(b), labels=labels)
    want = np.mean([f1_score(x, labels) for x in a]) - np.mean([f1_score(x, labels) for x in b])
    assert f1["gap"] == pytest.approx(want) and f1["gap"] > 0.05 and f1["ci95"][0] > 0
    assert acc["gap"] < 0 and acc["ci95"][1] < 0  # the same pair, reversed in accuracy
    assert f1["resamples"] == acc["resamples"] and f1["seeds"] == [3, 3]
    tie = paired_gap(list(b), list(b[::-1]), labels=labels)
    assert tie["ci95"][0] < 0 < tie["ci95"][1]


def test_teacher_predictions_are_made_once_and_must_match_its_metrics(tiny_teacher, tmp_path):
    from distill.predictions import teacher_dev_predictions
    from distill.teacher import evaluate_teacher

    task = get_task("sst2")
    kept = tmp_path / "predictions" / "teacher.json"
    with pytest.raises(UserError, match="not the ones its metrics were measured on"):
        teacher_dev_predictions(tiny_teacher, kept, task, accuracy=1.0, max_length=24)
    assert not kept.exists()
    acc = evaluate_teacher(tiny_teacher, task, max_length=24)["dev_accuracy"]
    pred = teacher_dev_predictions(tiny_teacher, kept, task, accuracy=acc, max_length=24)
    labels = np.asarray(load_split(task, "dev")["label"])
    assert (pred == labels).mean() == acc and json.loads(kept.read_text())["n"] == len(labels)
    # kept: read back while the weights are the same, whatever accuracy is asked
    assert (teacher_dev_predictions(tiny_teacher, kept, task, accuracy=0.0, max_length=24) == pred).all()
    # a published folder keeps the file but not the weights: the file is what there is
    assert (teacher_dev_predictions(tmp_path / "no-weights", kept, task, accuracy=0.0, max_length=24) == pred).all()
    assert teacher_dev_predictions(tmp_path / "no-weights", tmp_path / "none.json", task, 0.0, 24) is None


def test_paired_ratio_is_the_share_kept_with_its_interval():
    rng = np.random.default_rng(1)
    teacher = rng.random((1, 2000)) < 0.9
    student = teacher & (rng.random((3, 2000)) < 0.9)  # right on ~90% of what the teacher gets right
    p = paired_gap(list(student), list(teacher), ratio=True)
    assert p["ratio"] == pytest.approx(student.mean() / teacher.mean())
    assert p["ratio_ci95"][0] < p["ratio"] < p["ratio_ci95"][1] < 0.93 and p["ratio_ci95"][0] > 0.87
    assert p["gap"] == paired_gap(list(student), list(teacher))["gap"]  # the same resamples, the same gap CI
    assert p["ci95"] == paired_gap(list(student), list(teacher))["ci95"]
    assert "ratio" not in paired_gap(list(student), list(teacher))


def test_a_published_dev_split_folder_scores_against_its_split_made_again(tiny_pair_run, tmp_path):
    """A published folder keeps only data/split.json: its dev labels (what paired CIs score predictions against)
    come from the split made again with the recorded seed, checked against the recorded sha256."""
    import shutil

    from distill.layout import RunLayout

    pub = tmp_path / "pub"
    (pub / "data").mkdir(parents=True)
    shutil.copy2(tiny_pair_run / "config.json", pub / "config.json")
    shutil.copy2(tiny_pair_run / "data" / "split.json", pub / "data" / "split.json")
    (pub / "weights.json").write_text("{}")
    recorded = json.loads((pub / "data" / "split.json").read_text())
    dev = load_split(RunLayout(pub).task(), "dev")
    assert len(dev) == recorded["splits"]["dev"]["rows"] < len(load_split(get_task("qqp"), "dev"))
    assert list(dev["label"]) == list(load_split(RunLayout(tiny_pair_run).task(), "dev")["label"])
    recorded["splits"]["dev"]["sha256"] = "0" * 64
    (pub / "data" / "split.json").write_text(json.dumps(recorded))
    with pytest.raises(UserError, match="does not match the recorded sha256"):
        RunLayout(pub).task()
