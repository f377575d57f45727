"""The bench suite's options: registered with pytest, parsed and checked into one BenchConfig.

A bad option stops the run before anything is timed, with a message naming the option (pytest.UsageError).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from bench.loadgen import MODES, SCENARIOS, LoadGenPlan
from bench.pinning import check_core, default_core
from distill.layout import RunLayout

OPTIONS = [  # (flag, default, help)
    ("--run-dir", None, "run folder made by `distill-bench pipeline` and `distill-bench export` (required)"),
    ("--targets", "all", "comma list of formats: torch (eager) and export targets, or 'all'"),
    ("--devices", "cpu,cuda", "comma list of cpu, cuda (an absent device is skipped with the reason)"),
    ("--threads", "1,2", "intra-op thread counts"),
    ("--batch-sizes", "1,512", "batch sizes for students and the teacher (1 = single-stream, >1 = offline)"),
    ("--reference-batch-sizes", "1,16", "batch sizes for the BERT reference shapes (slow on CPU)"),
    ("--references", "bert-base,bert-large", "random-weight reference shapes to time, or 'none'"),
    ("--seq-len", "32", "tokens per input row (real dev text packed to this length)"),
    ("--min-rounds", "20", "minimum timed rounds at batch 1"),
    ("--min-rounds-offline", "3", "minimum timed rounds at batch > 1"),
    ("--min-time", "2.0", "minimum seconds of timed rounds per benchmark"),
    ("--max-time", "10.0", "stop adding rounds past this many seconds (the minimum round count still holds)"),
    ("--warmup-time", "0.5", "seconds of untimed warm-up rounds (at least one round)"),
    ("--scenarios", "single-stream,offline,server", "MLPerf LoadGen scenarios per artifact (bench/loadgen.py), "
     "or 'none'"),
    ("--loadgen-mode", "quick", "quick (the minimums below; not MLPerf-compliant) | compliant (mlperf.conf's own "
     "minimums: 600 s per run)"),
    ("--loadgen-min-seconds", "2.0", "quick mode: LoadGen minimum duration per run"),
    ("--loadgen-min-queries", "100",
     "quick mode: LoadGen minimum query count (single-stream; server: at least the 459 its p99 early stopping needs)"),
    ("--server-p99-ms", "50", "server scenario: p99 latency bound the peak-QPS search must meet"),
    ("--server-max-step-s", "10", "quick mode: skip (with the reason) a server search whose steps would each take "
     "longer than this, at the queries p99 early stopping needs"),
    ("--interleave-blocks", "5", "blocks of the interleaved headline measurement (A B A B ...; 0: skip it)"),
    ("--pin-core", "auto", "bind each 1-thread measurement's thread to this CPU core (bench/pinning.py): 'auto' "
     "(the last core this process may run on), a core number, or 'none'"),
    ("--dev-limit", "0", "score only the first N dev sentences in the accuracy pass (0: all)"),
    ("--run-id", None, "results folder name under --results-root (default: <run-dir name>-bench)"),
    ("--results-root", "results", "where results/<run_id>/ is written"),
]


SHIP_OPTIONS = [
    ("--max-p90-ms", None, "p90 latency budget at batch 1, 1 thread"),
    ("--ship-latency", "end-to-end", "which p90 the budget applies to: end-to-end (text → label) or model-only"),
    ("--min-accuracy-ratio", "0.99", "dev accuracy / eager fp32 floor"),
    ("--max-size-mb", None, "file size ceiling"),
]


def add_options(parser) -> None:
    group = parser.getgroup("distill-bench")
    for flag, default, help_ in OPTIONS:
        group.addoption(flag, default=default, help=f"{help_} (default: {default})")
    group.addoption("--ship", default=None, metavar="TARGET",
                    help="after the bench, apply `distill-bench ship`'s gate to the best student's TARGET "
                         "artifact and fail the pytest run with every failed reason (with --max-p90-ms)")
    for flag, default, help_ in SHIP_OPTIONS:
        group.addoption(flag, default=default, help=f"--ship: {help_} (default: {default})")
    group.addoption("--overwrite", "--force", action="store_true", dest="overwrite",
                    help="measure again and replace an existing results/<run_id>/ (default: a folder measured with "
                         "the same settings and inputs is kept and the session ends; a different one is refused)")


@dataclass(frozen=True)
class BenchConfig:
    run_dir: str
    targets: list[str] | None
    devices: list[str]
    threads: list[int]
    batch_sizes: list[int]
    reference_batch_sizes: list[int]
    references: list[str]
    seq_len: int
    min_rounds: int
    min_rounds_offline: int
    min_time: float
    max_time: float
    warmup_time: float
    scenarios: list[str]
    loadgen: LoadGenPlan
    interleave_blocks: int
    dev_limit: int
    pin_core: int | None
    run_id: str
    results_root: str
    overwrite: bool
    ship: dict | None = None  # the release gate to apply after the bench (not a measurement setting)
    # which tests the session runs (paths, -k, -m, --deselect) and whether pytest-benchmark times them: part
    # of what a results folder measured, as the options are
    selection: dict = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return Path(self.results_root) / self.run_id

    def as_dict(self) -> dict:
        return asdict(self)

    def measurement_settings(self) -> dict:
        """What the numbers depend on: every option but where the run and results live and --overwrite
        (the record of a results folder compares these; bench/session.py)."""
        where = ("run_dir", "run_id", "results_root", "overwrite", "ship")
        return {k: v for k, v in asdict(self).items() if k not in where}


def _selection(config) -> dict:
    """The tests chosen, in a form that does not depend on how a path was typed (bench, bench/, ./bench)."""
    root = Path(str(config.rootpath))

    def norm(arg: str) -> str:
        path, sep, rest = str(arg).partition("::")
        with contextlib.suppress(ValueError):  # on another drive the path stays as typed
            path = os.path.relpath(Path(path).resolve(), root.resolve())
        return path + sep + rest

    return {"args": sorted(norm(a) for a in config.args), "keyword": config.getoption("keyword", "") or "",
            "markexpr": config.getoption("markexpr", "") or "",
            "deselect": sorted(norm(a) for a in config.getoption("deselect", None) or []),
            "timed": not bool(config.getoption("benchmark_disable", False))}


def _ints(flag: str, value: str, low: int = 1) -> list[int]:
    try:
        out = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise pytest.UsageError(f"{flag}: expected comma-separated integers, got {value!r}") from None
    if not out or min(out) < low:
        raise pytest.UsageError(f"{flag}: expected integers ≥ {low}, got {value!r}")
    return sorted(set(out))


def _number(flag: str, value: str, low: float, kind=float):
    try:
        out = kind(value)
    except ValueError:
        raise pytest.UsageError(f"{flag}: expected a {kind.__name__}, got {value!r}") from None
    if out < low:
        raise pytest.UsageError(f"{flag}: expected a value ≥ {low}, got {value!r}")
    return out


def _names(flag: str, value: str, allowed=None) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if allowed is not None and (bad := [n for n in names if n not in allowed]):
        raise pytest.UsageError(f"{flag}: unknown {', '.join(bad)}; expected some of {', '.join(allowed)}")
    return names


def from_pytest(config) -> BenchConfig:
    opt = config.getoption
    run_dir = opt("--run-dir")
    if not run_dir:
        raise pytest.UsageError("--run-dir: give the run folder to benchmark, e.g. "
                                "`pytest bench --run-dir runs/sst2-paper`")
    if not RunLayout(run_dir).config.is_file():
        raise pytest.UsageError(f"--run-dir: {run_dir} is not a run folder (no config.json)")
    targets = _names("--targets", opt("--targets"))
    references = _names("--references", opt("--references"))
    min_time, max_time = _number("--min-time", opt("--min-time"), 0.0), _number("--max-time", opt("--max-time"), 0.0)
    if max_time < min_time:
        raise pytest.UsageError(f"--max-time: {max_time} is below --min-time {min_time}")
    return BenchConfig(
        run_dir=str(run_dir), targets=None if targets == ["all"] else targets,
        devices=_names("--devices", opt("--devices"), ("cpu", "cuda")),
        threads=_ints("--threads", opt("--threads")), batch_sizes=_ints("--batch-sizes", opt("--batch-sizes")),
        reference_batch_sizes=_ints("--reference-batch-sizes", opt("--reference-batch-sizes")),
        references=[] if references == ["none"] else references,
        seq_len=_number("--seq-len", opt("--seq-len"), 1, int),
        min_rounds=_number("--min-rounds", opt("--min-rounds"), 1, int),
        min_rounds_offline=_number("--min-rounds-offline", opt("--min-rounds-offline"), 1, int),
        min_time=min_time, max_time=max_time, warmup_time=_number("--warmup-time", opt("--warmup-time"), 0.0),
        scenarios=[] if opt("--scenarios") == "none" else _names("--scenarios", opt("--scenarios"), tuple(SCENARIOS)),
        loadgen=LoadGenPlan(mode=_names("--loadgen-mode", opt("--loadgen-mode"), MODES)[0],
                            min_duration_s=_number("--loadgen-min-seconds", opt("--loadgen-min-seconds"), 0.01),
                            min_queries=_number("--loadgen-min-queries", opt("--loadgen-min-queries"), 1, int),
                            server_p99_ms=_number("--server-p99-ms", opt("--server-p99-ms"), 1e-3),
                            server_max_step_s=_number("--server-max-step-s", opt("--server-max-step-s"), 0.1)),
        interleave_blocks=_number("--interleave-blocks", opt("--interleave-blocks"), 0, int),
        dev_limit=_number("--dev-limit", opt("--dev-limit"), 0, int), pin_core=_core(opt("--pin-core")),
        run_id=opt("--run-id") or f"{Path(run_dir).resolve().name}-bench",
        results_root=opt("--results-root"), overwrite=bool(opt("--overwrite")), ship=_ship(opt),
        selection=_selection(config))


def _core(value: str) -> int | None:
    if value == "none":
        return None
    if value == "auto":
        return default_core()
    try:
        return check_core(_number("--pin-core", value, 0, int))
    except ValueError as e:
        raise pytest.UsageError(f"--pin-core: {e}") from None


def _ship(opt) -> dict | None:
    """The --ship gate's budget, checked before anything is timed."""
    target = opt("--ship")
    if target is None:
        return None
    if opt("--max-p90-ms") is None:
        raise pytest.UsageError("--ship: give the latency budget too, e.g. --max-p90-ms 1")
    latency = _names("--ship-latency", opt("--ship-latency"), ("end-to-end", "model-only"))[0]
    size = opt("--max-size-mb")
    return {"target": target, "max_p90_ms": _number("--max-p90-ms", opt("--max-p90-ms"), 1e-6),
            "min_accuracy_ratio": _number("--min-accuracy-ratio", opt("--min-accuracy-ratio"), 0.0),
            "max_size_mb": None if size is None else _number("--max-size-mb", size, 1e-6), "latency": latency}
