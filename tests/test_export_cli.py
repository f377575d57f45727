"""`distill-bench export` and `predict` end to end on a tiny run folder."""

from __future__ import annotations

import json
import shutil

import numpy as np

from distill_bench import main
from export.predict import predict
from export.student_source import load_student_source
from export.teacher_source import load_teacher_source


def test_export_command_writes_artifacts_summary_and_table(tiny_run, tmp_path, capsys):
    out, table = tmp_path / "artifacts", tmp_path / "table"
    rc = main(["export", str(tiny_run), "--models", "best,teacher", "--targets", "onnx,onnx-int8",
               "--out", str(out), "--table-out", str(table)])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads((out / "export.json").read_text())["outcomes"]
    assert {(o["model"], o["target"], o["status"]) for o in summary} == {
        ("tiny-s0", "onnx", "ok"), ("tiny-s0", "onnx-int8", "ok"), ("teacher", "onnx", "ok"),
        ("teacher", "onnx-int8", "ok")}
    rows = json.loads((table / "export.json").read_text())["rows"]
    assert {r["target"] for r in rows} == {"onnx", "onnx-int8"}
    assert all(r["smaller_than_fp32"] > 1 for r in rows if r["target"] == "onnx-int8")
    md = (table / "export.md").read_text()
    assert "| tiny-s0" in md and "max |Δlogit|" in md
    assert (table / "export.csv").read_text().startswith("model,kind,target,status")
    assert md.startswith(f"# Export of run `{tiny_run.name}`\n")
    # a second run exporting into the same folder: its rows join the table, whose header names both runs
    other = tmp_path / "other-run"
    shutil.copytree(tiny_run, other)
    assert main(["export", str(other), "--models", "tiny-s0", "--targets", "onnx", "--out", str(out),
                 "--table-out", str(table)]) == 0
    md = (table / "export.md").read_text()
    assert md.startswith(f"# Export of runs `{tiny_run.name}`, `other-run`\n")
    assert md.split("\n")[2].count("`export_run(") == 2  # both commands (called in-process: the call)


def test_predict_runs_an_artifact_alone(tiny_run, tmp_path, capsys):
    out = tmp_path / "artifacts"
    assert main(["export", str(tiny_run), "--models", "tiny-s0,teacher", "--targets", "onnx", "--out", str(out)]) == 0
    texts = ["a gorgeous , witty film", "dull and lifeless"]
    for model, load in (("tiny-s0", lambda: load_student_source(tiny_run / "students" / "tiny-s0")),
                        ("teacher", lambda: load_teacher_source(tiny_run / "teacher" / "model"))):
        shipped = tmp_path / f"shipped-{model}"  # the artifact folder alone, far from the run
        shutil.copytree(out / model / "onnx", shipped)
        got = predict(shipped, texts)
        source = load()
        ids, mask = source.encoder(texts, source.max_length)
        np.testing.assert_allclose([g["logits"] for g in got], source.logits(ids, mask), atol=1e-4)
        assert all(g["label"] in source.label_names for g in got)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "shipped-tiny-s0" / "model.onnx"), "fine"]) == 0
    line = json.loads(capsys.readouterr().out.strip())
    assert line["text"] == "fine" and set(line["probabilities"]) == {"negative", "positive"}


def test_export_input_errors_are_clear(tiny_run, tmp_path, capsys):
    assert main(["export", str(tiny_run), "--targets", "onnx,tflite9"]) == 2
    assert "unknown tflite9" in capsys.readouterr().err
    assert main(["export", str(tiny_run), "--models", "nope"]) == 2
    assert "no model 'nope'" in capsys.readouterr().err
    assert main(["export", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["export", str(tiny_run), "--buckets", "8,x"]) == 2
    assert "--buckets" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), "text"]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_export_rerun_is_kept_refused_or_forced_from_the_command_line(tiny_run, tmp_path, capsys):
    out = tmp_path / "artifacts"
    args = ["export", str(tiny_run), "--models", "tiny-s0", "--targets", "onnx-int8", "--out", str(out)]
    assert main(args) == 0
    assert main(args) == 0 and "skipped" in capsys.readouterr().out  # same record: kept
    assert main([*args, "--min-agreement", "0.995"]) == 2  # other thresholds: refused, artifact untouched
    err = capsys.readouterr().err
    assert "tiny-s0/onnx-int8 refused" in err and "settings.gates.argmax_agreement: 0.98 → 0.995" in err
    assert main([*args, "--min-agreement", "0.995", "--force"]) == 0
    assert main([*args, "--min-agreement", "0.995", "--rebuild"]) == 0  # the old name still works
    assert main([*args, "--min-agreement", "1.5"]) == 2
    assert "--min-agreement: expected a fraction in (0, 1]" in capsys.readouterr().err


def test_row_best_exports_each_rows_most_accurate_seed(tiny_run, tmp_path):
    """`--models row-best`: one model per config row, its most accurate trained seed (untrained seeds skipped)."""
    from distill.layout import RunLayout
    from export.run import _run_models

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("export"))
    config = json.loads((run / "config.json").read_text())
    config["students"] = {"tiny": {"seeds": [0, 1, 2]}, "long": {"epochs": 2, "seeds": [0, 1]}}
    (run / "config.json").write_text(json.dumps(config))
    for folder, acc in (("tiny-s1", 0.7), ("tiny-s0", 0.6), ("long-s0", 0.55), ("long-s1", 0.5)):
        shutil.copytree(tiny_run / "students" / "tiny-s0", run / "students" / folder, dirs_exist_ok=True)
        (run / "students" / folder / "metrics.json").write_text(json.dumps({"accuracy": acc}))
    assert list(_run_models(RunLayout(run), ["row-best"])) == ["long-s0", "tiny-s1"]  # tiny-s2 never trained
