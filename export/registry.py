"""The export targets, keyed by name: one module per target under export/targets, registered by decorator.

A target is a `build` function (source, folder, ctx) → BuildResult that writes its files into `folder`, and a
`load` function (folder, manifest, threads=None, device="cpu") → runner, where runner(input_ids, attention_mask)
→ logits (numpy); `threads` sets the runtime's intra-op threads (None: its default). Every fact the rest of
the code needs about a target (its precision, the fp32 target it quantises, whether it is a phone format, how
its threads are set, where it runs) is given at registration and nowhere else: adding a target is adding one
module (and listing it in tests/test_export_targets.py, which fails until the new target has a test there).

The registry imports export.targets (an empty package) at the top and each target module only when
`all_targets()` is called: a target module imports this one to register itself, so loading them here at import
time would be a cycle.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from export import targets as targets_package
from export.context import ExportOptions

Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]

PRECISIONS = ("fp32", "int8")
RUNTIMES = ("torch", "onnxruntime", "executorch", "litert")
# how a runtime's intra-op threads are set: PROCESS = torch.set_num_threads, process-wide and set before every
# call, so one loaded runner serves every thread count; AT_LOAD = fixed when the runner is loaded (ORT session
# options, the LiteRT interpreter, ExecuTorch's threadpool), so another thread count needs another load
PROCESS, AT_LOAD = "process", "load"
THREADS = (PROCESS, AT_LOAD)


class TargetUnavailable(Exception):
    """A runtime, converter or device this target needs is not installed or cannot run here (message says
    which). Export records it as "unavailable"; the benchmark skips with the message."""


@dataclass
class BuildResult:
    files: list[str]  # artifact file names inside the target folder (the runtime loads these)
    info: dict = field(default_factory=dict)  # format version/opset, dtypes, buckets, what got quantized …
    max_length: int | None = None  # longest sequence the artifact takes, when smaller than the source's


@dataclass(frozen=True)
class Facts:
    """What benchmarks and tables need to know about a format; an export Target has them, and so does the
    eager module bench times beside the artifacts (bench/formats.py)."""

    runtime: str  # what runs it: one of RUNTIMES (the recurrence limit is measured per runtime, bench/limit.py)
    precision: str  # "fp32" | "int8"
    mobile: bool  # a phone format (.ort, .pte, .tflite): reported as mobile-class at 1 thread, batch 1
    fp32: str | None  # the fp32 target this one quantises (None for an fp32 target)
    threads: str  # PROCESS or AT_LOAD (above)
    devices: tuple[str, ...]  # where its runtime runs here: "cpu", and "cuda" for torch and ONNX Runtime


@dataclass(frozen=True)
class Target(Facts):
    name: str
    build: Callable
    load: Callable[..., Runner]  # (folder, manifest, threads=None, device="cpu") → Runner
    kinds: tuple[str, ...]  # which sources it takes: "student", "teacher"
    reads: tuple[str, ...]  # the ExportOptions fields that change what it builds: only these enter its record
    lossy: bool  # judged by argmax agreement and dev accuracy, not by logit parity
    tolerance: float | None  # max |Δlogit| allowed vs eager fp32 (None: recorded, not gated)
    description: str


TARGETS: dict[str, Target] = {}


def register_fp32_and_int8(name: str, build: Callable, *, fp32_doc: str, int8_doc: str, reads: tuple[str, ...],
                           int8_reads: tuple[str, ...] = (), **facts) -> None:
    """Register `name` (fp32) and `name-int8` (quantising it), both made by `build(source, folder, ctx, int8)`:
    the fixed-shape runtimes ship the two precisions from one builder. `int8_reads`: options only the int8
    build reads (how it quantises), kept out of the fp32 artifact's record."""
    for int8, doc in ((False, fp32_doc), (True, int8_doc)):
        register(f"{name}-int8" if int8 else name, precision="int8" if int8 else "fp32", fp32=name if int8 else None,
                 description=doc, reads=tuple(reads) + (tuple(int8_reads) if int8 else ()),
                 **facts)(functools.partial(build, int8=int8))


def register(name: str, *, load: Callable, runtime: str, precision: str, mobile: bool, fp32: str | None, threads: str,
             devices: tuple[str, ...], reads: tuple[str, ...], kinds=("student", "teacher"),
             tolerance: float | None = 1e-4, description: str = ""):
    """Register a target's `build` under `name`. Its facts have no defaults: a target that leaves one out is
    a TypeError at import, and one that contradicts itself a ValueError. A lossy target is one that is not
    fp32; it is judged by agreement and accuracy, so its tolerance is None. `reads` names the export options
    its build reads: an artifact's record holds those alone, so an option the target ignores (e.g. --buckets
    for ONNX) never makes a rerun refuse a finished artifact."""
    if precision not in PRECISIONS:
        raise ValueError(f"export target {name!r}: precision {precision!r} is not one of {PRECISIONS}")
    if runtime not in RUNTIMES:
        raise ValueError(f"export target {name!r}: runtime {runtime!r} is not one of {RUNTIMES}")
    if threads not in THREADS:
        raise ValueError(f"export target {name!r}: threads {threads!r} is not one of {THREADS}")
    if (precision == "fp32") != (fp32 is None):
        raise ValueError(f"export target {name!r}: an fp32 target quantises nothing (fp32=None) and any other "
                         f"names the fp32 target it quantises (got precision {precision!r}, fp32 {fp32!r})")
    unknown = set(reads) - set(ExportOptions.__dataclass_fields__)
    if unknown or isinstance(reads, str):
        raise ValueError(f"export target {name!r}: reads {reads!r} names no export option (ExportOptions fields: "
                         f"{', '.join(ExportOptions.__dataclass_fields__)})")
    if not isinstance(mobile, bool) or not devices:
        raise ValueError(f"export target {name!r}: mobile must be True or False (got {mobile!r}) and devices "
                         f"name at least one device (got {devices!r})")

    def wrap(build: Callable) -> Callable:
        if name in TARGETS:
            raise ValueError(f"export target {name!r} registered twice")
        lossy = precision != "fp32"
        TARGETS[name] = Target(
            name=name, build=build, load=load, kinds=tuple(kinds), reads=tuple(reads), lossy=lossy,
            tolerance=None if lossy else tolerance,
            description=description or (build.__doc__ or "").strip().splitlines()[0],
            runtime=runtime, precision=precision, mobile=mobile, fp32=fp32, threads=threads, devices=tuple(devices))
        return build

    return wrap


def all_targets() -> dict[str, Target]:
    """Import every module of export.targets (each registers itself) and return the registry."""
    for mod in pkgutil.iter_modules(targets_package.__path__):
        importlib.import_module(f"{targets_package.__name__}.{mod.name}")
    for t in TARGETS.values():  # a quantised target names a registered fp32 one that takes the same models
        base = TARGETS.get(t.fp32) if t.fp32 else None
        if t.fp32 and (base is None or base.precision != "fp32" or set(t.kinds) - set(base.kinds)):
            raise ValueError(f"export target {t.name!r}: fp32={t.fp32!r} is not a registered fp32 target "
                             "taking the same models")
    return TARGETS
