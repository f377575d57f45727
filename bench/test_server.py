"""The server scenario (MLPerf's name): Poisson arrivals at --server-qps into one worker with a bounded queue,
then the highest load (as a fraction of the measured single-stream capacity) that keeps p99 under
--server-p99-ms with nothing dropped. Batch 1; see bench/server.py for the load generator."""

from __future__ import annotations

import time

import numpy as np

from bench.server import max_qps_under_bound, requests_for, run_server
from bench.timing import device_or_skip, load_or_skip


def test_server(bench, server_case):
    spec, device, threads = server_case
    device_or_skip(device, spec)
    cfg = bench.config
    run = load_or_skip(bench, spec, threads, device)
    pool = bench.inputs(spec, 1)

    def call(i: int):
        run(*pool[i % len(pool)])

    service = []
    for i in range(20):  # warm-up and service time: capacity ≈ 1 / median service time
        start = time.perf_counter()
        call(i)
        service.append(time.perf_counter() - start)
    capacity = 1.0 / float(np.median(service[5:]))
    fixed = run_server(call, cfg.server_qps, requests_for(cfg.server_qps, cfg.server_seconds), cfg.server_p99_ms,
                       cfg.server_queue)
    best, levels = max_qps_under_bound(call, capacity, cfg.server_p99_ms, cfg.server_seconds,
                                       queue_limit=cfg.server_queue)
    bench.add_record(spec, scenario="server", device=device, threads=threads, batch_size=1, seq_len=cfg.seq_len,
                     latency_ms={"p50": fixed.p50_ms, "p99": fixed.p99_ms}, throughput_sps=fixed.achieved_qps,
                     server={**fixed.as_dict(), "capacity_qps": round(capacity, 2),
                             "max_qps_under_bound": best, "levels": levels})
    assert fixed.completed + fixed.dropped == fixed.offered
    assert all(level["completed"] + level["dropped"] == level["offered"] for level in levels)
