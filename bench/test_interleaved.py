"""The headline ratios measured again in interleaved blocks, for intervals a reviewer can trust.

Runs last (bench/conftest.py orders it), once the other tests have said which rows the headlines divide
(bench/headlines.py ratio_pairs). Every row of every headline pair (each at its own threads and batch) is
loaded side by side and timed in --interleave-blocks rounds of A B C … A B C …, each block lasting at least
half of --min-time and 3 calls, so slow drift on a shared machine (another tenant, thermal state) hits every
arm alike. Each ratio gets a 95% paired block bootstrap interval (bench/intervals.py); summary.json keeps
the per-arm figures and the ratios under "interleaved", and summary.md's headlines read them from there.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from bench.artifacts import load_runner
from bench.headlines import ratio_pairs
from bench.intervals import quantile_ci, ratio_ci
from bench.pinning import pinned
from bench.selection import row_id


def test_interleaved_headlines(bench):
    cfg = bench.config
    if cfg.interleave_blocks == 0:
        pytest.skip("--interleave-blocks 0: headline ratios come from the separate tests, without intervals")
    summary = bench.summary()
    pairs = ratio_pairs(summary)
    if not pairs:
        pytest.skip("no headline ratio's rows were measured in this session")
    arms = {}
    for p in pairs:
        for row in (p["num"], p["den"]):
            arms.setdefault(row_id(row), row)
    runners, pools = {}, {}
    for key, row in arms.items():
        spec = next(s for s in bench.specs if s["id"] == row["artifact"])
        runners[key] = load_runner(spec, row["threads"], row.get("device", "cpu"))
        pools[key] = bench.inputs(spec, row["batch_size"])
    blocks: dict[str, list[np.ndarray]] = {k: [] for k in arms}
    block_s = cfg.min_time / 2
    for _ in range(cfg.interleave_blocks):
        for key, row in arms.items():
            torch.set_num_threads(row["threads"])  # torch's pool is process-wide; ORT sessions keep their own
            run, pool, calls = runners[key], pools[key], []
            with pinned(cfg.pin_core, row["threads"]):
                run(*pool[0])  # one untimed call: the previous arm may have left this one's caches cold
                start = time.perf_counter()
                while len(calls) < 3 or time.perf_counter() - start < block_s:
                    ids, mask = pool[len(calls) % len(pool)]
                    t = time.perf_counter()
                    run(ids, mask)
                    calls.append(time.perf_counter() - t)
            blocks[key].append(np.asarray(calls))
    out_arms = []
    for key, row in arms.items():
        calls = np.concatenate(blocks[key])
        out_arms.append({"row": key, "artifact": row["artifact"], "threads": row["threads"],
                         "batch_size": row["batch_size"], "calls": int(calls.size),
                         "p50_ms": round(float(np.median(calls)) * 1e3, 6),
                         "p50_ci95_ms": [None if v is None else round(v * 1e3, 6) for v in quantile_ci(calls, 0.5)],
                         "samples_per_s": round(row["batch_size"] * calls.size / float(calls.sum()), 3),
                         "block_p50_ms": [round(float(np.median(b)) * 1e3, 6) for b in blocks[key]]})
    ratios = {}
    for p in pairs:
        num, den = row_id(p["num"]), row_id(p["den"])
        value, ci = ratio_ci(blocks[num], p["num"]["batch_size"], blocks[den], p["den"]["batch_size"], p["figure"])
        ratios[p["key"]] = {"value": value, "ci95": ci, "rows": [num, den], "figure": p["figure"]}
    bench.interleaved = {"blocks": cfg.interleave_blocks, "block_min_s": block_s, "arms": out_arms,
                         "ratios": ratios, "interval": "95% percentile bootstrap over paired blocks (2,000 "
                                                       "resamples, seed 0)"}
    assert all(0 < r["ci95"][0] <= r["ci95"][1] and r["value"] > 0 for r in ratios.values())
