"""The export targets, keyed by name: one module per target under export/targets, registered by decorator.

A target is a `build` function (source, folder, ctx) → BuildResult that writes its files into `folder`, and a
`load` function (folder, manifest, threads=None, device="cpu") → runner, where runner(input_ids, attention_mask)
→ logits (numpy); `threads` sets the runtime's intra-op threads (None: its default). Adding
a target is adding one module; tests/test_export_targets.py fails until the new target has a test there.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]


class TargetUnavailable(Exception):
    """A runtime, converter or device this target needs is not installed or cannot run here (message says
    which). Export records it as "unavailable"; the benchmark skips with the message."""


@dataclass
class BuildResult:
    files: list[str]  # artifact file names inside the target folder (the runtime loads these)
    info: dict = field(default_factory=dict)  # format version/opset, dtypes, buckets, what got quantized …
    max_length: int | None = None  # longest sequence the artifact takes, when smaller than the source's


@dataclass(frozen=True)
class Target:
    name: str
    build: Callable
    load: Callable[..., Runner]  # (folder, manifest, threads=None, device="cpu") → Runner
    kinds: tuple[str, ...]  # which sources it takes: "student", "teacher"
    lossy: bool  # judged by argmax agreement and dev accuracy, not by logit parity
    tolerance: float | None  # max |Δlogit| allowed vs eager fp32 (None: recorded, not gated)
    description: str
    devices: tuple[str, ...]  # where its runtime runs here: "cpu", and "cuda" for torch and ONNX Runtime


TARGETS: dict[str, Target] = {}


def register(name: str, *, load: Callable, kinds=("student", "teacher"), lossy: bool = False,
             tolerance: float | None = 1e-4, description: str = "", devices=("cpu",)):
    def wrap(build: Callable) -> Callable:
        if name in TARGETS:
            raise ValueError(f"export target {name!r} registered twice")
        TARGETS[name] = Target(name, build, load, tuple(kinds), lossy, None if lossy else tolerance,
                               description or (build.__doc__ or "").strip().splitlines()[0], tuple(devices))
        return build

    return wrap


def all_targets() -> dict[str, Target]:
    """Import every module of export.targets (each registers itself) and return the registry."""
    from export import targets

    for mod in pkgutil.iter_modules(targets.__path__):
        importlib.import_module(f"{targets.__name__}.{mod.name}")
    return TARGETS
