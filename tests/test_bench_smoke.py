"""`pytest bench` end to end on a tiny run (random student + tiny random BERT, ONNX exports) with
--benchmark-disable: every test kind runs once, results/<run_id>/ is written whole, and is not overwritten."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from distill_bench import main
from tests.tiny import TINY_GATE_ARGS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def exported_run(tiny_run, tmp_path_factory):
    run = tmp_path_factory.mktemp("bench-run") / "tiny"
    shutil.copytree(tiny_run, run)
    assert main(["export", str(run), "--models", "best", "--targets", "onnx,onnx-int8"]) == 0
    # the teacher's eager model (and the reference shapes, which borrow its tokenizer) are benchmarked once some
    # artifact of it is exported: its cheapest, which the runs below leave out with --targets (each artifact
    # costs every scenario once more; an exported teacher is benchmarked in the pair run)
    assert main(["export", str(run), "--models", "teacher", "--targets", "torchscript"]) == 0
    return run


def _bench(run: Path, results: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "pytest", "bench", "-p", "no:cacheprovider", "--run-dir", str(run),
            "--results-root", str(results), "--run-id", "smoke", "--benchmark-disable", "--threads", "1",
            "--batch-sizes", "1,4", "--reference-batch-sizes", "1", "--references", "bert-base", "--seq-len", "6",
            "--loadgen-min-seconds", "0.3", "--loadgen-min-queries", "20", "--interleave-blocks", "2",
            "--dev-limit", "40", "--targets", "torch,onnx,onnx-int8", *extra]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_bench_suite_runs_and_writes_results(exported_run, tmp_path):
    proc = _bench(exported_run, tmp_path)  # --pin-core auto: the last core this process may run on
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    out = tmp_path / "smoke"
    for name in ("env.json", "config.json", "summary.json", "summary.md", "summary.csv", "table.tex", "pareto.png"):
        assert (out / name).is_file(), name
    assert not list(tmp_path.glob(".smoke*")), "the partial folder must be renamed into place"
    summary = json.loads((out / "summary.json").read_text())
    arts = summary["artifacts"]
    assert set(arts) == {"tiny-s0/torch", "tiny-s0/onnx", "tiny-s0/onnx-int8", "teacher/torch",
                         "bert-base/torch", "tiny-s0:recurrence/torch",
                         "tiny-s0:recurrence/onnx"}
    assert arts["tiny-s0/onnx"]["agreement"] == 1.0 and arts["tiny-s0/onnx"]["max_abs_logit_diff"] < 1e-4
    assert arts["bert-base/torch"]["params"] > 100e6 and arts["bert-base/torch"]["peak_rss_mb_bs1"] > 0
    # each probe measures its own process: a 110M-param model must need more memory than a tiny ONNX student
    assert arts["tiny-s0/onnx"]["peak_rss_mb_bs1"] + 200 < arts["bert-base/torch"]["peak_rss_mb_bs1"]
    keyed = {(r["artifact"], r["scenario"], r["threads"], r["batch_size"]): r for r in summary["records"]}
    for art in arts:
        assert (art, "single-stream", 1, 1) in keyed
        if not art.startswith("bert-base"):
            assert (art, "offline", 1, 4) in keyed
        if arts[art]["role"] == "reference":
            assert (art, "loadgen-single-stream", 1, 1) in keyed and (art, "loadgen-server", 1, 1) not in keyed
        if arts[art]["role"] not in ("reference", "limit"):
            for scenario, batch in (("single-stream", 1), ("offline", 4), ("server", 1)):
                lg = keyed[(art, f"loadgen-{scenario}", 1, batch)]["loadgen"]
                assert lg["result"] in ("VALID", "INVALID") and lg["mode"] == "quick" and not lg["compliant"]
                logs = out / lg["log_dir"]
                assert (logs / "mlperf_log_summary.txt").is_file() and (logs / "mlperf_log_detail.txt").is_file()
            e2e = keyed[(art, "end-to-end", 1, 1)]
            assert e2e["latency_ms"]["p50"] >= e2e["model_only_ms"]["p50"] > 0
    # every student row is read against its runtime's recurrence limit, timed in the same run
    from bench.selection import limit_fraction, limit_row
    for fmt, limit in (("torch", "tiny-s0:recurrence/torch"), ("onnx-int8", "tiny-s0:recurrence/onnx")):
        for batch in (1, 4):
            row = keyed[(f"tiny-s0/{fmt}", "single-stream" if batch == 1 else "offline", 1, batch)]
            assert limit_row(summary, row)["artifact"] == limit and limit_fraction(summary, row) > 0
    assert "of limit" in (out / "summary.md").read_text()
    record = keyed[("tiny-s0/onnx-int8", "single-stream", 1, 1)]
    for field in ("artifact", "role", "format", "device", "threads", "batch_size", "scenario", "params",
                  "params_no_embedding", "size_mb", "accuracy", "latency_ms", "throughput_sps", "peak_rss_mb"):
        assert record[field] is not None, field
    assert set(record["latency_ms"]) >= {"p50", "p90", "p99", "mean", "cv_pct", "count"}
    assert any("no CUDA device here" in s["reason"] for s in summary["skipped"])
    assert "onnx-int8-cpu-1t-bs1" in proc.stdout or (out / "summary.md").read_text().count("tiny-s0/onnx-int8")
    assert summary["machine"]["matmul_fp32_cpu_1t"]["gflops"] > 0
    record = json.loads((out / "record.json").read_text())  # what was measured, complete once published
    assert record["complete"] and record["stage"] == "bench"
    assert record["settings"]["dev_limit"] == 40 and record["settings"]["selection"]["timed"] is False
    assert set(record["inputs"]) >= {a for a in arts if arts[a]["role"] not in ("reference", "limit")}
    assert summary["conditions"]["dev_n"] == 40 and summary["conditions"]["dev_size"] == 872
    core = max(os.sched_getaffinity(0))
    assert summary["conditions"]["pin_core"] == core and f"bound to core {core}" in (out / "summary.md").read_text()
    before = (out / "summary.json").read_bytes()
    again = _bench(exported_run, tmp_path, "-k", "matmul")  # other tests chosen: measured differently
    assert again.returncode != 0 and "--force redoes it" in again.stderr + again.stdout
    assert "settings.selection.keyword: '' → 'matmul'" in again.stderr + again.stdout
    assert (out / "summary.json").read_bytes() == before
    # the same settings and inputs: nothing to do, and not an error
    same = _bench(exported_run, tmp_path, "--pin-core", str(core))
    assert same.returncode == 0 and "already measured with these settings" in same.stderr + same.stdout
    assert (out / "summary.json").read_bytes() == before
    # the release gate as a pytest option: it judges the measured folder and fails the run with every reason
    gated = _bench(exported_run, tmp_path, "--ship", "onnx-int8", "--max-p90-ms", "0.000001",
                   "--max-size-mb", "0.000001")
    said = gated.stdout + gated.stderr
    assert gated.returncode == pytest.ExitCode.TESTS_FAILED, said[-3000:]
    assert "NO SHIP" in said and "p90 latency, end-to-end, batch 1, 1 thread(s), cpu" in said and "file size" in said
    assert _bench(exported_run, tmp_path, "--ship", "onnx-int8").returncode == pytest.ExitCode.USAGE_ERROR
    forced = _bench(exported_run, tmp_path, "-k", "matmul", "--force", "-v")  # --force = --overwrite
    assert forced.returncode == 0, forced.stdout[-3000:] + forced.stderr[-3000:]
    # the tests' `-n auto` (pyproject.toml) starts no workers for the bench (with -v xdist would say "created: …")
    assert "workers" not in forced.stdout, forced.stdout[-3000:]
    assert json.loads((out / "record.json").read_text())["settings"]["selection"]["keyword"] == "matmul"


def test_bench_ids_and_option_errors(exported_run, tmp_path):
    listed = _bench(exported_run, tmp_path, "--collect-only")
    assert "test_latency[tiny-s0/onnx-int8-cpu-1t-bs1]" in listed.stdout, listed.stdout[-2000:]
    assert "test_loadgen[teacher/torch-cpu-1t-server]" in listed.stdout
    assert "test_e2e[tiny-s0/onnx-int8-cpu-1t-bs1]" in listed.stdout
    assert not (tmp_path / "smoke").exists(), "listing the tests must not write results"
    bad = _bench(exported_run, tmp_path, "--threads", "0,x")
    assert bad.returncode != 0 and "--threads: expected comma-separated integers" in bad.stderr
    unknown = _bench(exported_run, tmp_path, "--targets", "onnx,tflite")
    assert unknown.returncode != 0 and "--targets: unknown tflite" in unknown.stderr
    workers = _bench(exported_run, tmp_path, "-n", "2")
    assert workers.returncode != 0 and "the bench suite measures one benchmark at a time" in workers.stderr
    core = _bench(exported_run, tmp_path, "--pin-core", "4096")
    assert core.returncode != 0 and "--pin-core: core 4096 is not one this process may run on" in core.stderr


def test_bench_suite_runs_a_pair_run(tiny_pair_run, tmp_path):
    """Sentence pairs: the Siamese student reads (batch, 2, seq) rows, the teacher and the BERT shape one
    joined row; single-stream and offline run (the server scenario issues the same `call(rows)` as they do, so
    the single-sentence run above covers it) and accuracy is scored on the held-out pairs."""
    run = tmp_path / "pair"
    shutil.copytree(tiny_pair_run, run)
    assert main(["export", str(run), "--models", "best,teacher", "--targets", "onnx-int8", *TINY_GATE_ARGS]) == 0
    proc = _bench(run, tmp_path / "results", "-k", "not footprint", "--scenarios", "single-stream,offline")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    summary = json.loads((tmp_path / "results" / "smoke" / "summary.json").read_text())
    assert summary["conditions"]["pair"] is True and "dev-split" in summary["conditions"]["protocol"]
    arts = summary["artifacts"]
    assert arts["tiny-pair-s0/onnx-int8"]["agreement"] >= 0.9 and arts["tiny-pair-s0/torch"]["dev_n"] == 40
    # the eager pair teacher is the exported graph's fp32 model (segment ids rebuilt from [SEP]), so the int8
    # artifact is scored against the right reference
    from bench.artifacts import eager_module

    assert arts["teacher/torch"]["pair"] is True
    assert eager_module(arts["teacher/torch"]).sep_token_id is not None
    keyed = {(r["artifact"], r["scenario"], r["batch_size"]) for r in summary["records"]}
    for art in ("tiny-pair-s0/onnx-int8", "teacher/onnx-int8", "bert-base/torch"):
        assert (art, "single-stream", 1) in keyed
    for art in ("tiny-pair-s0/onnx-int8", "teacher/onnx-int8"):  # LoadGen fed pair rows, as asked
        assert {(art, "loadgen-single-stream", 1), (art, "loadgen-offline", 4)} <= keyed
        assert (art, "loadgen-server", 1) not in keyed
    assert "sentence of each pair" in (tmp_path / "results" / "smoke" / "summary.md").read_text()


def test_bench_killed_midway_then_rerun_writes_whole_results(exported_run, tmp_path):
    """kill -9 while the suite measures: nothing is published; the same command then writes the folder whole."""
    import signal
    import time

    args = [sys.executable, "-m", "pytest", "bench", "-p", "no:cacheprovider", "--run-dir", str(exported_run),
            "--results-root", str(tmp_path), "--run-id", "smoke", "--benchmark-disable", "--threads", "1",
            "--batch-sizes", "1", "--references", "none", "--seq-len", "6", "--scenarios", "none",
            "--dev-limit", "40", "--targets", "onnx"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = tmp_path / ".smoke.partial" / "config.json"
    while proc.poll() is None and not partial.exists():
        time.sleep(0.02)
    assert proc.poll() is None, "the suite ended before the kill point"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "smoke").exists()  # killed: nothing half-measured is published
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "smoke" / "summary.json").is_file() and not (tmp_path / ".smoke.partial").exists()
