"""What every bench test does first: skip, with the reason, what cannot run here; load the runner."""

from __future__ import annotations

import pytest
import torch

from export.registry import TargetUnavailable


def device_or_skip(device: str, spec: dict) -> None:
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("cuda: no CUDA device here (torch.cuda.is_available() is False)")
    if device not in spec["devices"]:
        pytest.skip(f"{spec['format']}: no {device} runtime (runs on {', '.join(spec['devices'])})")


def load_or_skip(bench, spec: dict, threads: int, device: str):
    try:
        return bench.runner(spec, threads, device)
    except TargetUnavailable as e:
        pytest.skip(f"{spec['id']}: {e}")
