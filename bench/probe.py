"""Footprint of one artifact in a fresh process: load time, first-inference time and peak RSS.

    python -m bench.probe SPEC.json INPUTS.npz --threads 1

Peak RSS can only grow within a process, so each artifact gets its own: the process imports torch and numpy,
records its RSS, loads the artifact (timed; importing the runtime counts as loading), runs the first batch-1
call (timed), nine more, reads the peak RSS, then runs one call at the largest batch and reads it again.
Prints one JSON line. INPUTS.npz holds arrays only and is read with allow_pickle=False.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch  # noqa: F401  (the baseline includes torch: every runner here is called through it)

from bench.artifacts import load_runner  # the loader only: nothing that reads a run folder (bench/specs.py)


def _status_mb(field: str) -> float | None:
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:  # not Linux: the caller falls back
        return None
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith(field + ":")), None)  # kB


def _peak_rss_mb() -> float:
    """This process's own high-water RSS. Not getrusage's ru_maxrss: Linux carries that over fork and exec,
    so a child of a large pytest process would report the parent's RSS (seen: every artifact at 7,370 MB)."""
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    rss = _status_mb("VmRSS")
    return rss if rss is not None else float("nan")


def probe(spec: dict, inputs: dict, threads: int, device: str = "cpu") -> dict:
    baseline = _current_rss_mb()
    start = time.perf_counter()
    runner = load_runner(spec, threads, device)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    runner(inputs["ids_bs1"], inputs["mask_bs1"])
    first_ms = (time.perf_counter() - start) * 1e3
    for _ in range(9):
        runner(inputs["ids_bs1"], inputs["mask_bs1"])
    out = {"baseline_rss_mb": round(baseline, 1), "load_s": round(load_s, 4),
           "first_inference_ms": round(first_ms, 3), "peak_rss_mb_bs1": round(_peak_rss_mb(), 1)}
    if "ids_bsmax" in inputs:
        runner(inputs["ids_bsmax"], inputs["mask_bsmax"])
        out.update(peak_rss_mb_bsmax=round(_peak_rss_mb(), 1), bsmax=int(inputs["ids_bsmax"].shape[0]))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("inputs", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    spec = json.loads(args.spec.read_text())
    with np.load(args.inputs, allow_pickle=False) as data:
        inputs = {k: data[k] for k in data.files}
    print(json.dumps(probe(spec, inputs, args.threads, args.device)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
