"""bench/report.py and bench/ship.py from a fixed summary.json: headline ratios by hand, golden Markdown and
LaTeX, CSV columns, the plot, and the ship gate's pass and each failure reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from bench_fixture import summary

from bench import report
from bench.headlines import headlines
from bench.ship import Budget, check
from bench.tables import paper_table
from distill_bench import main

GOLDEN = Path(__file__).parent / "golden"


def test_headlines_are_ratios_of_the_fixed_records():
    h = {x["key"]: x for x in headlines(summary())}
    # measured interleaved: the ratio and its interval come from there, and say so
    assert h["student_vs_bert_large"]["value"] == 398.0 and h["student_vs_bert_large"]["ci95"] == [380.5, 410.25]
    assert h["student_vs_bert_large"]["text"] == "398.0× [380.5, 410.2]" and "interleaved" in h[
        "student_vs_bert_large"]["how"]
    assert h["student_vs_bert_large"]["met"] is False  # 398× < 434×
    plain = summary()
    plain["interleaved"] = None  # without it: the separate tests' records, and no interval
    h0 = {x["key"]: x for x in headlines(plain)}
    assert h0["student_vs_bert_large"]["value"] == pytest.approx(6400 / 16) and h0["student_vs_bert_large"][
        "ci95"] is None
    moved = summary()  # an interleaved ratio of other rows than the headline's is not used for it
    moved["interleaved"]["ratios"]["student_vs_bert_large"]["rows"][0] = "stu/onnx-cpu-2t-bs512"
    assert {x["key"]: x for x in headlines(moved)}["student_vs_bert_large"]["value"] == pytest.approx(400)
    assert h["artifact_vs_bert_large"]["value"] == pytest.approx(16000 / 16) and h["artifact_vs_bert_large"]["met"]
    assert h["artifact_vs_eager_p50"]["value"] == pytest.approx(1.0 / 0.2) and h["artifact_vs_eager_p50"]["met"]
    flops = h["gflops_of_peak"]
    assert flops["value"] == pytest.approx(100 / 125) and flops["met"] is False and "(onnx," in flops["name"]
    assert h["int8_accuracy_ratio"]["value"] == pytest.approx(0.992) and h["int8_accuracy_ratio"]["met"]
    assert h["batch1_cv"]["value"] == pytest.approx(2.5) and h["batch1_cv"]["met"]


def test_paper_table_columns():
    headers, rows = paper_table(summary())
    assert headers == ["Model", "Format", "Params (M)", "Size (MB)", "Acc", "Δ vs teacher", "p90 @bs1 (ms)",
                       "samples/s @bs512", "speed-up ×", "compression ×"]
    by = {(r[0], r[1]): r for r in rows}
    assert by[("stu", "ort-mobile-int8")][2:] == [1.0, 1.0, 0.873, -1.7, 0.25, "16,000", 1000.0, 1200.0]
    assert by[("bert-large", "torch")][7] == "16 (bs16)"


@pytest.mark.parametrize("name,render", [("bench_summary.md", report.render_markdown),
                                         ("bench_table.tex", report.render_latex)])
def test_golden_renderings(name, render):
    got = render(summary())
    if os.environ.get("UPDATE_GOLDEN"):
        (GOLDEN / name).write_text(got)
    assert got == (GOLDEN / name).read_text()


def test_report_command_writes_every_rendering(tmp_path, capsys):
    (tmp_path / "summary.json").write_text(json.dumps(summary()))
    assert main(["report", str(tmp_path)]) == 0
    for name in ("summary.md", "summary.csv", "table.tex", "pareto.png"):
        assert (tmp_path / name).stat().st_size > 0
    header = (tmp_path / "summary.csv").read_text().splitlines()[0].split(",")
    for column in ("artifact", "role", "format", "device", "threads", "batch_size", "scenario", "params",
                   "size_mb", "accuracy", "latency_ms.p50", "latency_ms.p90", "latency_ms.p99", "latency_ms.cv_pct",
                   "throughput_sps"):
        assert column in header
    assert (tmp_path / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ship_gate_passes_within_budget():
    ok, checks = check(summary(), "ort-mobile-int8", Budget(max_p90_ms=1.0, max_size_mb=2.0))
    assert ok and all(c["ok"] for c in checks)
    assert [c["name"] for c in checks] == [
        "argmax agreement with eager fp32", "dev accuracy / eager fp32", "accuracy pass covered the whole dev set",
        "p90 latency, end-to-end, batch 1, 1 thread(s), cpu", "latency measurement valid",
        "machine not overloaded during the bench", "file size"]
    # the budget reads the end-to-end p90 (0.33 ms) by default, the model call's (0.25 ms) when asked
    assert next(c for c in checks if c["name"].startswith("p90"))["measured"] == 0.33
    _, model_only = check(summary(), "ort-mobile-int8", Budget(max_p90_ms=0.3, latency="model-only"))
    assert next(c for c in model_only if c["name"].startswith("p90"))["measured"] == 0.25
    assert not check(summary(), "ort-mobile-int8", Budget(max_p90_ms=0.3))[0]  # 0.33 ms end to end: over


def test_ship_gate_refuses_an_overloaded_bench():
    busy = summary()
    busy["load"].update(load_1min_after=3.4, overloaded=True)
    ok, checks = check(busy, "ort-mobile-int8", Budget(max_p90_ms=1.0))
    assert not ok and "3.4 after, above its 2 cores" in _failed(checks)["machine not overloaded during the bench"]
    assert "Overloaded machine" in report.render_markdown(busy)


@pytest.mark.parametrize("budget,reason", [
    (Budget(max_p90_ms=0.1), "p90 latency"),
    (Budget(max_p90_ms=1.0, max_size_mb=0.5), "file size"),
    (Budget(max_p90_ms=1.0, min_accuracy_ratio=0.995), "dev accuracy / eager fp32"),
    (Budget(max_p90_ms=1.0, min_agreement=0.999), "argmax agreement"),
    (Budget(max_p90_ms=1.0, threads=2), "no end-to-end record at end-to-end, batch 1, 2 thread(s)"),
    (Budget(max_p90_ms=1.0, threads=2, latency="model-only"), "no single-stream record at model-only, batch 1, 2"),
])
def test_ship_gate_names_each_failure(budget, reason):
    ok, checks = check(summary(), "ort-mobile-int8", budget)
    assert not ok
    assert any(reason in (c["reason"] or "") for c in checks), checks


def _failed(checks: list[dict]) -> dict:
    return {c["name"]: c["reason"] for c in checks if not c["ok"]}


def test_ship_refuses_an_accuracy_pass_over_part_of_the_dev_set():
    partial = summary()
    partial["conditions"].update(dev_n=40, dev_limit=40)
    partial["artifacts"]["stu/ort-mobile-int8"]["dev_n"] = 40
    ok, checks = check(partial, "ort-mobile-int8", Budget(max_p90_ms=1.0))
    assert not ok
    assert _failed(checks) == {"accuracy pass covered the whole dev set": "accuracy pass covered the whole dev set: "
                               "40 of 872 dev examples scored (--dev-limit 40); its accuracy speaks for a sample only"}
    unknown = summary()
    del unknown["conditions"]["dev_size"]  # an older summary: the full size is not known, so coverage is not
    ok, checks = check(unknown, "ort-mobile-int8", Budget(max_p90_ms=1.0))
    assert not ok and "not recorded" in _failed(checks)["accuracy pass covered the whole dev set"]


def test_ship_refuses_an_invalid_latency_record_and_says_why():
    short = summary()
    row = next(r for r in short["records"] if r["artifact"] == "stu/ort-mobile-int8" and r["threads"] == 1
               and r["scenario"] == "single-stream")
    row.update(valid=False, min_time_met=False, duration_s=1.8)
    ok, checks = check(short, "ort-mobile-int8", Budget(max_p90_ms=1.0, latency="model-only"))
    assert not ok
    failed = _failed(checks)
    assert list(failed) == ["latency measurement valid"]  # the p90 itself is there: never "not measured"
    assert failed["latency measurement valid"] == ("latency measurement valid: 1.8 s of timed rounds, below the "
                                                   "minimum 2.0 s (at model-only, batch 1, 1 thread(s), cpu)")
    assert "not measured" not in str(checks)
    row.update(min_rounds_met=False, rounds=7)
    ok, checks = check(short, "ort-mobile-int8", Budget(max_p90_ms=1.0, latency="model-only"))
    assert "7 timed rounds, below the minimum 20" in _failed(checks)["latency measurement valid"]


def test_ship_command_names_the_failed_checks(tmp_path, capsys):
    bad = summary()
    bad["artifacts"]["stu/ort-mobile-int8"]["dev_n"] = 40
    next(r for r in bad["records"] if r["artifact"] == "stu/ort-mobile-int8" and r["scenario"] == "end-to-end")[
        "valid"] = False
    (tmp_path / "summary.json").write_text(json.dumps(bad))
    assert main(["ship", str(tmp_path), "--target", "ort-mobile-int8", "--max-p90-ms", "1"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  accuracy pass covered the whole dev set: 40 (limit 872)" in out
    assert "FAIL  latency measurement valid: rounds 50, duration_s 2.5" in out
    assert "NO SHIP" in out and "40 of 872 dev examples" in out


def test_ship_gate_checks_logit_parity_of_lossless_formats():
    ok, checks = check(summary(), "onnx", Budget(max_p90_ms=1.0, max_logit_diff=1e-6))
    assert not ok and any("max |Δlogit|" in (c["reason"] or "") for c in checks)


def test_ship_command_exit_codes(tmp_path, capsys):
    (tmp_path / "summary.json").write_text(json.dumps(summary()))
    assert main(["ship", str(tmp_path), "--target", "ort-mobile-int8", "--max-p90-ms", "1"]) == 0
    assert "SHIP" in capsys.readouterr().out
    assert main(["ship", str(tmp_path), "--target", "ort-mobile-int8", "--max-p90-ms", "0.1",
                 "--max-size-mb", "0.5"]) == 1
    out = capsys.readouterr().out
    assert "NO SHIP" in out and "p90 latency" in out and "file size" in out
    assert main(["ship", str(tmp_path), "--target", "litert", "--max-p90-ms", "1"]) == 2
    assert "no artifact 'stu/litert'" in capsys.readouterr().err


def test_repro_lines_up_runs_and_measures_their_spread(tmp_path, capsys):
    runs = []
    for i, scale in enumerate((1.0, 1.02, 0.99)):
        s = summary()
        s["run_id"] = f"rep{i}"
        for r in s["records"]:
            if r["artifact"] == "stu/ort-mobile-int8" and r["scenario"] in ("single-stream", "end-to-end"):
                r["latency_ms"] = {**r["latency_ms"], "p50": r["latency_ms"]["p50"] * scale}
        (tmp_path / f"rep{i}").mkdir()
        (tmp_path / f"rep{i}" / "summary.json").write_text(json.dumps(s))
        runs.append(str(tmp_path / f"rep{i}"))
    assert main(["repro", *runs, "--out", str(tmp_path / "repro")]) == 0
    got = json.loads((tmp_path / "repro" / "repro.json").read_text())
    assert got["runs"] == ["rep0", "rep1", "rep2"] and got["artifact"] == "stu/ort-mobile-int8"
    by = {f["name"]: f for f in got["figures"]}
    model = by["stu/ort-mobile-int8: p50 batch 1, 1 thread, model-only (ms)"]
    assert model["values"] == pytest.approx([0.2, 0.204, 0.198])
    assert model["spread_pct"] == pytest.approx(100 * 0.006 / (0.602 / 3), rel=1e-3)
    assert model["ci95"][0] == pytest.approx([0.196, 0.204])  # each run's own interval rides along
    assert by["best student artifact vs BERT-large eager, samples/s (×)"]["spread_pct"] == 0
    text = (tmp_path / "repro" / "repro.md").read_text()
    assert "spread %" in text and f"Made by `distill-bench repro {' '.join(runs)} --out {tmp_path / 'repro'}`" in text
    assert "1-thread measurements: not bound to a core" in text and got["pin_core"] == [None] * 3
    assert main(["repro", runs[0], "--out", str(tmp_path / "one")]) != 0
    assert "give at least two bench results folders" in capsys.readouterr().err


def test_recommend_names_the_most_accurate_artifact_in_budget_and_why_others_lost(tmp_path, capsys):
    from bench.recommend import Budget as Rb
    from bench.recommend import recommend

    s = summary()
    best, rows = recommend(s, Rb(max_p90_ms=1.0))
    # only stu/ort-mobile-int8 has an end-to-end record in the fixture: the others cannot be judged end to end
    assert best["id"] == "stu/ort-mobile-int8"
    why = {r["id"]: r["why"] for r in rows}
    assert "no end-to-end batch-1 latency at 1 thread(s)" in why["stu/onnx"][0]
    best, rows = recommend(s, Rb(max_p90_ms=1.3, latency="model-only"))
    assert best["id"] == "stu/onnx"  # 0.88 (eager) = 0.88 (onnx): the tie goes to the faster
    why = {r["id"]: r for r in rows}
    assert why["teacher/torch"]["why"] == ["too slow: p90 11.000 ms > 1.3 ms"]
    assert why["stu/ort-mobile-int8"]["why"] == ["less accurate: 0.8730 vs 0.8800"]
    assert why["stu/torch"]["why"] == ["as accurate but slower: p90 1.200 vs 0.500 ms"]
    best, rows = recommend(s, Rb(max_p90_ms=20, max_size_mb=2.0, latency="model-only"))
    assert best["id"] == "stu/ort-mobile-int8"
    assert {r["id"]: r["why"] for r in rows}["teacher/torch"] == ["too big: 80.00 MB > 2 MB"]
    (tmp_path / "summary.json").write_text(json.dumps(s))
    assert main(["recommend", str(tmp_path), "--max-p90-ms", "0.01"]) == 1
    out = capsys.readouterr().out
    assert "nothing fits this budget" in out and "too slow: p90 0.330 ms > 0.01 ms" in out
    assert main(["recommend", str(tmp_path), "--max-p90-ms", "1", "--min-accuracy", "0.88"]) == 1
    assert "not accurate enough: 0.8730 < 0.88" in capsys.readouterr().out


def test_pareto_points_carry_intervals_and_use_end_to_end_only_when_every_point_has_it():
    from bench.pareto import points

    s = summary()
    pts, kind = points(s)
    assert kind == "model-only" and {p["model"] for p in pts} == {"stu", "teacher"}
    int8 = next(p for p in pts if p["format"] == "ort-mobile-int8")
    assert int8["x"] == 0.25 and int8["y_ci"] == pytest.approx([0.853, 0.893]) and int8["family"] == "bilstm"
    s["records"] = [r for r in s["records"] if r["scenario"] == "end-to-end" or r["artifact"] !=
                    "stu/ort-mobile-int8"]
    s["artifacts"] = {k: v for k, v in s["artifacts"].items() if k in ("stu/ort-mobile-int8", "bert-large/torch")}
    pts, kind = points(s)
    assert kind == "end-to-end" and [p["x"] for p in pts] == [0.33]


def test_families_report_joins_ablation_and_bench_and_checks_its_targets(tmp_path, capsys):
    import copy

    s = summary()
    for a in list(s["artifacts"].values()):  # a second, static student: every stu artifact again, 4x faster
        if a["model"] == "stu":
            b = {**copy.deepcopy(a), "model": "sta", "id": a["id"].replace("stu/", "sta/"), "accuracy": 0.84,
                 "ci95": [0.82, 0.86],
                 "student_arch": {"family": "static"}}
            s["artifacts"][b["id"]] = b
    for r in list(s["records"]):
        if r["model"] == "stu" and not r["scenario"].startswith("loadgen"):
            q = copy.deepcopy(r)
            q.update(model="sta", artifact=r["artifact"].replace("stu/", "sta/"))
            for key in ("latency_ms", "model_only_ms"):
                if key in q:
                    q[key] = {k: (v / 4 if isinstance(v, float) else v) for k, v in q[key].items()}
                    q[key]["ci95"] = {k: [None if x is None else x / 4 for x in ci]
                                      for k, ci in r[key]["ci95"].items()}
            s["records"].append(q)

    def row(name, family, arm, mean, folder, pne):
        examples, alpha = ("original", 1.0) if arm == "plain" else ("all", 0.0)
        return {"name": name, "group": family, "family": family, "examples": examples, "alpha": alpha,
                "n_seeds": 3, "mean": mean, "std": 0.004, "accuracies": [mean] * 3, "params": 10 * pne,
                "params_no_embedding": pne, "folders": [folder]}

    ablation = {"run_id": "fam", "n": 872, "summary": [
        row("bilstm-plain", "bilstm", "plain", 0.836, "none-s0", 1000), row("bilstm-kd-aug", "bilstm", "kd-aug",
                                                                              0.879, "stu", 1000),
        row("static-plain", "static", "plain", 0.830, "none-s1", 50), row("static-kd-aug", "static", "kd-aug",
                                                                           0.840, "sta", 50)],
        "paired": [{"a": "bilstm-plain", "b": "bilstm-kd-aug", "gap": -0.043, "ci95": [-0.061, -0.025]}]}
    (tmp_path / "abl").mkdir()
    (tmp_path / "abl" / "ablation.json").write_text(json.dumps(ablation))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "summary.json").write_text(json.dumps(s))
    assert main(["families", "--ablation", str(tmp_path / "abl"), "--bench", str(tmp_path / "b"), "--out",
                 str(tmp_path / "out"), "--budget-ms", "0.1", "--budget-ms", "1"]) == 0
    got = json.loads((tmp_path / "out" / "families.json").read_text())
    checks = {c["name"].split(":")[0]: c for c in got["checks"] if "beats" in c["name"]}
    assert checks["bilstm"]["value"] == pytest.approx(4.3) and checks["bilstm"]["met"]
    assert checks["static"]["value"] == pytest.approx(1.0) and not checks["static"]["met"]
    assert checks["bilstm"]["ci95"] == [2.5, 6.1] and "ci95" not in checks["static"]  # the pair read either way
    e2e = [c for c in got["checks"] if "end-to-end p50" in c["name"]][0]
    assert e2e["value"] == pytest.approx(0.29 / 4) and e2e["met"] and "sta/ort-mobile-int8" in e2e["name"]
    assert [v["chosen"] for v in got["recommend"]] == ["sta/ort-mobile-int8", "stu/ort-mobile-int8"]
    assert "The most accurate student row is bilstm-kd-aug" in got["paragraph"]
    assert "the BiLSTM is on it (bilstm-kd-aug)" in got["paragraph"]
    md = (tmp_path / "out" / "families.md").read_text()
    assert "| static-kd-aug" in md and "**not met**" in md and "(paired 95% CI [+2.50, +6.10])" in md
    assert (tmp_path / "out" / "pareto.png").is_file()
