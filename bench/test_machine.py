"""This machine's fp32 matmul peak (torch.mm on square matrices), per thread count, so each model's achieved
GFLOP/s can be read as a fraction of what the hardware does on its best kernel. The size with the best
quick trial is then timed through pytest-benchmark; the peak is 2n³ over the fastest timed round."""

from __future__ import annotations

import time

import pytest
import torch

from bench.measure import LatencyStats

SIZES = (1024, 2048, 3072)


def _timed_mm(a, b, device, times):
    def mm():
        start = time.perf_counter()
        torch.mm(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)

    return mm


def test_matmul_peak(benchmark, bench, peak_case):
    device, threads = peak_case
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("cuda: no CUDA device here (torch.cuda.is_available() is False)")
    torch.set_num_threads(threads)
    trial = {}
    for n in SIZES:
        a, b = (torch.randn(n, n, device=device) for _ in range(2))
        times: list[float] = []
        mm = _timed_mm(a, b, device, times)
        for _ in range(3):
            mm()
        trial[n] = 2 * n**3 / min(times[1:]) / 1e9
    n = max(trial, key=trial.get)
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    times = []
    benchmark.pedantic(_timed_mm(a, b, device, times), rounds=5, warmup_rounds=1, iterations=1)
    timed = times[1:] if not benchmark.disabled else times
    stats = LatencyStats.from_seconds(timed)
    flop = 2 * n**3
    best = {"gflops": round(flop / min(timed) / 1e9, 2), "gflops_median": round(flop / (stats.p50 / 1e3) / 1e9, 2),
            "n": n, "trial_gflops": {str(k): round(v, 2) for k, v in trial.items()}, "latency_ms": stats.as_dict()}
    bench.machine[f"matmul_fp32_{device}_{threads}t"] = {"device": device, "threads": threads, **best}
    benchmark.extra_info.update(best)
    assert best["gflops"] > 0
