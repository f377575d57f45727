"""MLPerf scenarios through LoadGen (bench/loadgen.py): single-stream, offline and server per artifact.

Each run's LoadGen logs stay under `loadgen/<artifact>/<scenario>-<threads>t/` in the results folder; the
record carries LoadGen's verdict (VALID/INVALID and why), its early-stopping estimates, latency percentiles,
samples/s and the effective settings. A quick-mode record says it is not MLPerf-compliant. pytest-benchmark's
per-call single-stream distribution is test_latency's; these are LoadGen's own figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.loadgen import SCENARIOS, probe, run_scenario, server_search_too_slow
from bench.timing import device_or_skip, load_or_skip


def test_loadgen(bench, loadgen_case):
    spec, device, threads, scenario = loadgen_case
    device_or_skip(device, spec)
    cfg = bench.config
    run = load_or_skip(bench, spec, threads, device)
    ids, mask = bench.rows(spec)
    offline_batch = max(bench.batch_sizes(spec))

    def call(idx: np.ndarray):
        return run(np.ascontiguousarray(ids[idx]), np.ascontiguousarray(mask[idx]))

    found = probe(call, len(ids), offline_batch)
    if scenario == "server" and (why := server_search_too_slow(cfg.loadgen, found)):
        pytest.skip(why)
    outdir = bench.partial / "loadgen" / spec["id"] / f"{scenario}-{device}-{threads}t"
    result = run_scenario(call, len(ids), scenario, cfg.loadgen, found, offline_batch, outdir)
    result["log_dir"] = str(outdir.relative_to(bench.partial))
    batch = offline_batch if scenario == "offline" else 1
    bench.add_record(spec, scenario=f"loadgen-{scenario}", device=device, threads=threads, batch_size=batch,
                     seq_len=cfg.seq_len, latency_ms=result["latency_ms"], throughput_sps=result["samples_per_s"],
                     valid=result["valid"], loadgen=result)
    assert result["result"] in ("VALID", "INVALID") and result["settings"]["scenario"] == SCENARIOS[scenario]
