"""Provenance for every run: seeds, machine, library versions, git state, UTC time (env.json)."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import random
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

LIBRARIES = ("torch", "transformers", "accelerate", "datasets", "nltk", "numpy", "safetensors", "tokenizers",
             "onnx", "onnxruntime", "tabulate", "pytest-benchmark", "distill-bench")


def command_line(prog: str = "distill-bench") -> str:
    """The command this process was started with, as the user would type it again (recorded with outputs)."""
    if "pytest" in Path(sys.argv[0]).name or sys.argv[0].endswith("pytest/__main__.py"):
        return shlex.join(["pytest", *sys.argv[1:]])
    return shlex.join([prog, *sys.argv[1:]])


def set_seed(seed: int) -> int:
    """Seed Python, NumPy and torch; returns the seed so callers can record it."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def git_state() -> dict:
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip() != ""
        return {"sha": sha or None, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}


def library_versions(libraries=LIBRARIES) -> dict:
    """Installed version of each distribution (None when absent)."""
    versions = {}
    for lib in libraries:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = None
    return versions


def machine() -> dict:
    """The hardware this process runs on: a run's env.json (its first process) and each student's metrics.json
    (the process that finished it, which may be another machine's) record it."""
    # A virtual CPU often names only its family ("AMD EPYC"); the instruction set torch dispatches its kernels
    # to decides float rounding, so two machines of one name can differ in the last digit of a score.
    return {"cpu": _cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cores": os.cpu_count(), "ram_gb": _ram_gb(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def env_info() -> dict:
    versions = library_versions()
    return {
        "utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **machine(),
        "os": platform.platform(), "python": platform.python_version(), "libraries": versions,
        "threads": {"torch_intra_op": torch.get_num_threads(),
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
        "git": git_state(),
    }
