"""The whole pipeline on a pair task (QQP, dev-split protocol) with a tiny random BERT and a Siamese student."""

import re

import numpy as np
import pytest
from pipeline_config import tiny_config

from distill.io import read_json
from distill.pipeline import run_pipeline

STUDENTS = """
[student_defaults]
embedding = "random"
embed_dim = 16
hidden = 8
fc = 8
eval_every = 10

[students.bilstm-plain]
examples = "original"
alpha = 1.0
epochs = 2.0

[students.bilstm-kd-aug]
examples = "all"
epochs = 1.0
"""


@pytest.fixture(scope="module")
def pair_run(tiny_teacher, tmp_path_factory):
    root = tmp_path_factory.mktemp("pair-pipeline")
    cfg = root / "pair.toml"
    cfg.write_text(tiny_config("qqp", tiny_teacher, STUDENTS, max_length=64, n_iter=3))
    return root / "runs" / "pair", run_pipeline(config_path=cfg, run_id="pair", runs=root / "runs")


def test_pair_pipeline_splits_dev_and_trains_siamese_students(pair_run):
    run, ablation = pair_run
    split = read_json(run / "data" / "split.json")
    assert split["splits"]["train"]["rows"] + split["splits"]["dev"]["rows"] == 40430
    header = (run / "transfer.tsv").read_text().splitlines()[0]
    assert header == "text\ttext_b\tlabel\torigin"
    rows = (run / "transfer.tsv").read_text().count("\n") - 1
    assert np.load(run / "logits" / "logits.npy").shape == (rows, 2)
    student = read_json(run / "students" / "bilstm-kd-aug-s0" / "config.json")["student"]
    assert student["pair"] is True and student["dropout"] == 0.2  # the task's official pair defaults
    assert read_json(run / "students" / "bilstm-kd-aug-s0" / "metrics.json")["config"]["batch_size"] == 256
    by_name = {r["name"]: r for r in ablation["rows"]}
    assert set(by_name) == {"teacher", "bilstm-plain", "bilstm-kd-aug"}
    for r in ablation["rows"]:
        assert r["n"] == split["splits"]["dev"]["rows"] and 0.0 <= r["f1"] <= 1.0
        assert r["f1_ci95"][0] <= r["f1"] <= r["f1_ci95"][1]
    md = (run / "ablation.md").read_text()
    assert "dev-split" in md and split["splits"]["dev"]["sha256"][:16] in md and "mean F1" in md
    # the paired comparison reads F1 too, from the same predictions (one seed each: the F1s' difference)
    [pair] = [p for p in ablation["paired"] if p["b"] != "teacher"]
    assert (pair["a"], pair["b"]) == ("bilstm-kd-aug", "bilstm-plain")
    assert pair["f1_gap"] == pytest.approx(by_name["bilstm-kd-aug"]["f1"] - by_name["bilstm-plain"]["f1"])
    assert pair["f1_ci95"][0] <= pair["f1_gap"] <= pair["f1_ci95"][1]
    assert re.search(r"\| A − B F1 \(points\) +\|", md)  # tabulate pads the header to the column's width
