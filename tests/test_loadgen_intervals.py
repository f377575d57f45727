"""LoadGen scenarios (bench/loadgen.py) on a stand-in model with a known service time, and the interval code
(bench/intervals.py) against distributions whose quantiles are known."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bench.intervals import quantile_ci, ratio_ci
from bench.loadgen import LoadGenPlan, Probe, loadgen_settings, run_scenario, server_search_too_slow
from distill.errors import UserError


@pytest.mark.parametrize("draw,quantile", [
    (lambda rng, n: rng.exponential(1.0, n), lambda q: -np.log(1 - q)),
    (lambda rng, n: rng.uniform(0.0, 1.0, n), lambda q: q),
])
@pytest.mark.parametrize("q", [0.5, 0.9])
def test_percentile_intervals_cover_the_true_quantile_95_percent_of_the_time(draw, quantile, q):
    rng = np.random.default_rng(0)
    truth, trials = quantile(q), 600
    hits = 0
    for _ in range(trials):
        lo, hi = quantile_ci(draw(rng, 200), q)
        hits += lo <= truth <= hi
    assert 0.93 <= hits / trials <= 0.99  # distribution-free: at least 95%, a little above from discreteness


def test_a_tail_percentile_of_few_calls_is_open_above():
    lo, hi = quantile_ci(np.arange(1.0, 21.0), 0.99)
    assert hi is None and lo is not None
    assert quantile_ci([], 0.5) == (None, None)


def test_ratio_interval_brackets_a_known_speed_up_and_narrows_with_blocks():
    rng = np.random.default_rng(1)

    def blocks(scale, k):
        return [rng.exponential(scale, 200) + scale for _ in range(k)]

    value, (lo, hi) = ratio_ci(blocks(2e-3, 8), 1, blocks(1e-3, 8), 1, "p50_ms")
    assert lo <= 2.0 <= hi and value == pytest.approx(2.0, rel=0.1)
    _, (lo2, hi2) = ratio_ci(blocks(2e-3, 32), 1, blocks(1e-3, 32), 1, "p50_ms")
    assert hi2 - lo2 < hi - lo
    # throughput: 4 samples per 1 ms call against 1 per 1 ms call is 4×
    value, ci = ratio_ci([np.full(10, 1e-3)] * 4, 4, [np.full(10, 1e-3)] * 4, 1, "samples_per_s")
    assert value == pytest.approx(4.0) and ci == pytest.approx([4.0, 4.0])
    with pytest.raises(ValueError):
        ratio_ci([np.ones(3)], 1, [np.ones(3)] * 2, 1, "p50_ms")


def _sleeper(per_sample_s: float):
    calls = []

    def call(idx: np.ndarray):
        calls.append(len(idx))
        time.sleep(per_sample_s * len(idx))

    return call, calls


@pytest.mark.parametrize("scenario", ["single-stream", "offline", "server"])
def test_a_quick_loadgen_run_is_valid_and_parsed(scenario, tmp_path):
    call, calls = _sleeper(5e-4)
    plan = LoadGenPlan(mode="quick", min_duration_s=0.5, min_queries=50, server_p99_ms=20.0)
    found = Probe(single_s=6e-4, offline_sps=1800.0)
    out = run_scenario(call, 64, scenario, plan, found, offline_batch=16, outdir=tmp_path / scenario)
    assert out["result"] == "VALID" and out["valid"] and out["invalid_reasons"] == [], out
    assert out["mode"] == "quick" and not out["compliant"] and "not MLPerf-compliant" in out["label"]
    logs = ["mlperf_log_detail.txt", "mlperf_log_summary.txt"]
    assert sorted(p.name for p in (tmp_path / scenario).iterdir() if p.is_file()) == logs
    assert out["settings"]["min_duration_ms"] == 500 and out["samples_per_s"] > 0
    assert out["latency_ms"]["p50"] >= 0.5 * (16 if scenario == "offline" else 1)  # at least the service time
    if scenario == "single-stream":
        # LoadGen estimates p99 only from 662 queries on (its text says so below that); a slow machine
        # finishes the 0.5 s minimum with fewer, so which estimates appear follows the query count
        early = out["early_stopping"]
        assert set(early["estimates_ms"]) == ({"p90", "p99"} if out["query_count"] >= 662 else {"p90"}), early
        if "p99" not in early["estimates_ms"]:
            assert "Not enough queries processed for 99.0th percentile" in early["text"]
        assert out["early_stopping"]["estimates_ms"]["p90"] >= out["latency_ms"]["p90"]
        assert set(calls) == {1} and out["query_count"] >= 50
    if scenario == "offline":
        assert max(calls) == 16  # the SUT batches the one big query at the offline batch
    if scenario == "server":  # LoadGen's peak search, then a VALID PerformanceOnly run at or below its peak
        trail = out["server_search"]
        assert sorted(p.name for p in (tmp_path / scenario / "search").iterdir()) == logs
        assert out["settings"]["target_latency_ns"] == 20_000_000 and 200 < out["samples_per_s"] < 2000
        assert out["settings"]["test_mode"] == "PerformanceOnly" and trail["search_result"] in ("VALID", "INVALID")
        assert 200 < trail["peak_qps"] < 2000 and trail["confirm_qps"][0] == pytest.approx(trail["peak_qps"], 1e-3)
        assert out["target_qps"] == pytest.approx(trail["confirm_qps"][-1], 1e-3)
        assert trail["confirm_qps"][-1] <= trail["peak_qps"]


def test_a_server_search_started_above_capacity_starts_again_lower(tmp_path):
    # the probe claims 10,000 calls/s, so the search starts at 5,000 QPS against a worker that serves 2,000/s:
    # LoadGen refuses that start, the run starts again at a quarter of it, and the result is VALID
    call, _ = _sleeper(5e-4)
    plan = LoadGenPlan(mode="quick", min_duration_s=0.3, min_queries=50, server_p99_ms=20.0)
    out = run_scenario(call, 64, "server", plan, Probe(single_s=1e-4, offline_sps=1800.0), offline_batch=16,
                       outdir=tmp_path / "server")
    starts = out["server_search"]["starts_qps"]
    assert starts[0] == pytest.approx(5000.0) and len(starts) >= 2, starts
    assert all(b == pytest.approx(a / 4) for a, b in zip(starts, starts[1:]))
    assert out["valid"] and out["error"] is None and out["samples_per_s"] < 2000, out


def test_a_server_search_too_slow_for_its_step_budget_is_skipped_with_its_figures():
    plan = LoadGenPlan(mode="quick", min_duration_s=2.0, min_queries=100, server_max_step_s=20.0)
    assert server_search_too_slow(plan, Probe(single_s=1e-3, offline_sps=1e3)) is None  # 500 QPS: about 1 s
    why = server_search_too_slow(plan, Probe(single_s=0.064, offline_sps=20.0))  # 7.8 QPS: 459 queries, 59 s
    assert "7.8 QPS needs 459 queries, 59 s per step, above --server-max-step-s 20" in why
    assert server_search_too_slow(LoadGenPlan(mode="compliant"), Probe(single_s=0.064, offline_sps=20.0)) is None


def test_compliant_mode_takes_mlperf_conf_minimums_and_quick_mode_never_does():
    found = Probe(single_s=1e-3, offline_sps=1000.0)
    for scenario in ("single-stream", "offline"):
        assert loadgen_settings(scenario, LoadGenPlan(mode="compliant"), found).min_duration_ms == 600_000
        assert loadgen_settings(scenario, LoadGenPlan(mode="quick", min_duration_s=3), found).min_duration_ms == 3000
    # a quick server run asks for the 459 queries LoadGen's p99 early stopping needs, whatever the minimum
    assert loadgen_settings("server", LoadGenPlan(mode="quick", min_queries=100), found).min_query_count == 459
    assert loadgen_settings("server", LoadGenPlan(mode="quick", min_queries=600), found).min_query_count == 600
    with pytest.raises(UserError, match="--loadgen-mode"):
        LoadGenPlan(mode="fast")
