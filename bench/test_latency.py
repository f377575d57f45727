"""Single-stream (batch 1) and offline (batch > 1) latency and throughput of every artifact.

One call = one batch of packed dev rows. Warm-up calls run first and are not timed; then at least
--min-rounds (--min-rounds-offline for batch > 1) rounds and at least --min-time seconds are timed, each
through pytest-benchmark's pedantic runner. Percentiles come from the per-call timings (pytest-benchmark
stats have no p90/p99).
"""

from __future__ import annotations

import platform
import time

import numpy as np
import pytest

from bench.measure import LatencyStats, RoundPlan, throughput_sps
from bench.timing import device_or_skip, load_or_skip


def test_latency(benchmark, bench, latency_case):
    spec, device, threads, batch = latency_case
    device_or_skip(device, spec)
    cfg = bench.config
    run = load_or_skip(bench, spec, threads, device)
    pool = bench.inputs(spec, batch)
    state = {"i": 0}
    timings: list[float] = []

    def one_call():
        ids, mask = pool[state["i"] % len(pool)]
        state["i"] += 1
        start = time.perf_counter()
        run(ids, mask)  # runners return host numpy: a CUDA call has finished when this returns
        timings.append(time.perf_counter() - start)

    # Warm-up, untimed: at least 3 calls and --warmup-time seconds; its later calls estimate the call time
    # that sets the round count (the first calls are slow: allocation, lazy init, cold caches).
    start = time.perf_counter()
    while len(timings) < 3 or (time.perf_counter() - start < cfg.warmup_time and not benchmark.disabled):
        one_call()
    per_call = float(np.median(timings[len(timings) // 2:]))
    warmup_calls = len(timings)
    timings.clear()
    plan = RoundPlan(cfg.min_rounds if batch == 1 else cfg.min_rounds_offline, cfg.min_time, cfg.max_time)
    rounds = plan.rounds(per_call)
    benchmark.pedantic(one_call, rounds=rounds, warmup_rounds=1, iterations=1)
    timed = timings[1:] if not benchmark.disabled else timings
    stats = LatencyStats.from_seconds(timed)
    validity = plan.met(timed)
    scenario = "single-stream" if batch == 1 else "offline"
    mobile_class = spec["mobile"] and threads == 1 and batch == 1 and device == "cpu"
    extra = {"scenario": scenario, "device": device, "threads": threads, "batch_size": batch,
             "seq_len": cfg.seq_len, "latency_ms": stats.as_dict(), "throughput_sps": throughput_sps(batch, timed),
             "warmup_rounds": warmup_calls + 1, **validity, "mobile_class": mobile_class,
             "mobile_note": f"{platform.machine() or 'this'} CPU, 1 thread, batch 1, phone format: not a phone "
                            "measurement"
             if mobile_class else None, "gflops_per_sample": bench.flops_per_sample(spec, batch)}
    extra["achieved_gflops"] = (extra["gflops_per_sample"] * extra["throughput_sps"]
                                if extra["gflops_per_sample"] else None)
    benchmark.extra_info.update(extra)
    bench.add_record(spec, **extra)
    assert stats.count == len(timed) > 0
    if not benchmark.disabled:
        assert validity["min_rounds_met"], f"only {len(timed)} timed rounds"


@pytest.fixture(autouse=True)
def _group(benchmark, latency_case):
    spec, device, threads, batch = latency_case
    benchmark.group = f"{'single-stream' if batch == 1 else 'offline'}-{device}-{threads}t-bs{batch}"
