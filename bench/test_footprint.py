"""Per artifact, in a fresh process each (bench/probe.py): load time, first-inference time, peak RSS at
batch 1 and at the largest batch, all at 1 thread; plus parameters and file size from the manifest."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from bench.timing import device_or_skip


def test_footprint(bench, artifact):
    device_or_skip("cpu", artifact)
    try:
        small = bench.inputs(artifact, 1)[0]
    except Exception as e:  # noqa: BLE001 - e.g. a reference with no tokenizer to borrow
        pytest.skip(f"{artifact['id']}: {e}")
    large = bench.inputs(artifact, max(bench.batch_sizes(artifact)))[0]
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as tmp:
        spec_path, inputs_path = Path(tmp) / "spec.json", Path(tmp) / "inputs.npz"
        spec_path.write_text(json.dumps(artifact))
        np.savez(inputs_path, ids_bs1=small[0], mask_bs1=small[1], ids_bsmax=large[0], mask_bsmax=large[1])
        proc = subprocess.run([sys.executable, "-m", "bench.probe", str(spec_path), str(inputs_path),
                               "--threads", "1"], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        if "TargetUnavailable" in proc.stderr:
            pytest.skip(f"{artifact['id']}: {proc.stderr.strip().splitlines()[-1]}")
        pytest.fail(f"probe of {artifact['id']} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    bench.update_artifact(artifact, **result, footprint_threads=1)
    assert result["peak_rss_mb_bs1"] >= result["baseline_rss_mb"] > 0
    assert result["load_s"] > 0 and result["first_inference_ms"] > 0
