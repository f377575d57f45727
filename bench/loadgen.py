"""MLPerf LoadGen drives the scenarios: a SUT and a QSL per artifact over the bench's packed dev rows.

LoadGen (`mlcommons-loadgen`, MLCommons' own load generator) decides when each query is issued, checks the
run's validity (minimum duration and query count, early stopping, the server's latency bound) and writes
`mlperf_log_summary.txt` and `mlperf_log_detail.txt`; the record here is parsed from the detail log, so every
figure is LoadGen's. Scenarios:
- single-stream: one sample per query, the next issued when the last completes; the SUT runs it inline;
- offline: every sample in one query; the SUT runs them in batches of the bench's largest batch size;
- server: Poisson arrivals at a target QPS into one worker thread (batch 1, first in first out). LoadGen's
  own FindPeakPerformance mode searches for the highest QPS whose p99 meets the bound (each step a LoadGen
  run), starting from half the probed single-stream capacity, and lower when LoadGen refuses that start.
  The peak it finds sits on the edge (some queries over the bound), where p99 early stopping often cannot
  accept it, so the reported server result is, as in an MLPerf submission, a PerformanceOnly run at a
  stated target QPS: the peak, then 10% lower each time a run is INVALID.

Modes: "quick" sets the minimum duration and query count explicitly and never calls FromConfig (which would
silently apply mlperf.conf's 10-minute minimums): its results are labelled not MLPerf-compliant. "compliant"
loads only the mlperf.conf compiled into LoadGen (FromConfig conf_type 0: 600 s minimum per run), then sets
the expected rates from the probe and the server's latency bound, which mlperf.conf fixes only for MLPerf's
own models. Either way the effective settings LoadGen logged are kept with the result.
"""

from __future__ import annotations

import json
import math
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from distill.errors import UserError

SCENARIOS = {"single-stream": "SingleStream", "offline": "Offline", "server": "Server"}
SERVER_START = 0.5  # the server search starts at this fraction of the probed single-stream rate
SERVER_BACKOFF, SERVER_TRIES = 4.0, 5  # a start that misses the bound is divided by 4, at most 5 starts in all
SERVER_CONFIRM_STEP, SERVER_CONFIRM_TRIES = 0.9, 10  # confirming runs: the peak, then ×0.9 each (to 0.39 of it)
LOWER_BOUND_MISSED = "Initial lower bound does not satisfy"
# LoadGen's early stopping accepts a server run's p99 (at 99% confidence) only after n queries with none over
# the bound, 0.99^n <= 0.01: 459. Fewer and the run is INVALID however fast it was, so quick mode asks for them.
SERVER_MIN_QUERIES = math.ceil(math.log(0.01) / math.log(0.99))
MODES = ("quick", "compliant")
MODEL_NAME = "distill-bench"  # no mlperf.conf key names it: its `*` (any model) defaults apply
NOT_COMPLIANT = "quick LoadGen mode: not MLPerf-compliant"
_KEPT_LOGS = ("mlperf_log_summary.txt", "mlperf_log_detail.txt")


@dataclass(frozen=True)
class LoadGenPlan:
    mode: str = "quick"
    min_duration_s: float = 2.0  # quick mode only
    min_queries: int = 100  # quick mode only: single-stream and server queries
    server_p99_ms: float = 50.0
    server_max_step_s: float = 10.0  # quick mode: skip a server search whose every step would take longer

    def __post_init__(self):
        if self.mode not in MODES:
            raise UserError(f"--loadgen-mode: expected one of {', '.join(MODES)}, got {self.mode!r}")


@dataclass(frozen=True)
class Probe:
    """Untimed calls before a LoadGen run, only to size its query counts and the server search's start."""

    single_s: float  # median seconds of a batch-1 call
    offline_sps: float  # samples/s at the offline batch


def probe(call: Callable[[np.ndarray], object], n_rows: int, offline_batch: int) -> Probe:
    single = []
    for i in range(12):
        start = time.perf_counter()
        call(np.array([i % n_rows]))
        single.append(time.perf_counter() - start)
    idx = np.arange(offline_batch) % n_rows
    call(idx)  # warm the large-batch path once
    start = time.perf_counter()
    call(idx)
    return Probe(single_s=float(np.median(single[4:])), offline_sps=offline_batch / (time.perf_counter() - start))


def server_min_queries(plan: LoadGenPlan) -> int:
    """A quick-mode server run's minimum query count: at least what its p99 early stopping needs."""
    return max(plan.min_queries, SERVER_MIN_QUERIES)


def server_search_too_slow(plan: LoadGenPlan, found: Probe) -> str | None:
    """Why a quick-mode server search is skipped (None: it runs). Each search step must issue the queries p99
    early stopping needs at the step's rate; starting at SERVER_START of the probed rate, a model serving a
    few queries per second (a 20M-parameter teacher at one thread) would spend minutes per step and about ten
    steps, so it is skipped with the figures that decided it rather than left to run for an hour."""
    if plan.mode != "quick":
        return None  # compliant: the user asked for mlperf.conf's 600 s runs
    start = SERVER_START / found.single_s
    step = max(plan.min_duration_s, server_min_queries(plan) / start)
    if step <= plan.server_max_step_s:
        return None
    return (f"server search skipped: its first step at {start:.1f} QPS needs "
            f"{server_min_queries(plan)} queries, {step:.0f} s per step, above "
            f"--server-max-step-s {plan.server_max_step_s:g} (probed {found.single_s * 1e3:.1f} ms per call)")


def loadgen_settings(scenario: str, plan: LoadGenPlan, found: Probe, server_start_qps: float | None = None,
                     confirm: bool = False):
    import mlperf_loadgen as lg

    s = lg.TestSettings()
    if plan.mode == "compliant":
        # conf_type 0: mlperf.conf only (the path is not read); its per-scenario minimums are what comply
        if s.FromConfig("mlperf.conf", MODEL_NAME, SCENARIOS[scenario], 0) != 0:
            raise RuntimeError(f"LoadGen could not load its mlperf.conf for {SCENARIOS[scenario]}")
    else:
        s.min_duration_ms = int(plan.min_duration_s * 1000)
        s.min_query_count = {"offline": 1, "server": server_min_queries(plan)}.get(
            scenario, plan.min_queries)
    s.scenario = getattr(lg.TestScenario, SCENARIOS[scenario])
    search = scenario == "server" and not confirm
    s.mode = lg.TestMode.FindPeakPerformance if search else lg.TestMode.PerformanceOnly
    s.single_stream_expected_latency_ns = max(1, int(found.single_s * 1e9))
    # Offline issues expected_qps × min_duration samples in one query: a rate set too low ends the run before
    # its minimum duration (INVALID), so ask for 1.5× the probed rate
    s.offline_expected_qps = 1.5 * found.offline_sps
    s.server_target_qps = server_start_qps or SERVER_START / found.single_s
    s.server_target_latency_ns = int(plan.server_p99_ms * 1e6)
    s.server_target_latency_percentile = 0.99
    return s


def run_scenario(call: Callable[[np.ndarray], object], n_rows: int, scenario: str, plan: LoadGenPlan,
                 found: Probe, offline_batch: int, outdir: Path) -> dict:
    """LoadGen run(s) of `call` (row indices → outputs) over the QSL's `n_rows` rows; their logs go to outdir.

    Server, in two phases:
    1. Search (logs in outdir/search): LoadGen's FindPeakPerformance refuses to search when its starting QPS
       already misses the latency bound ("Initial lower bound does not satisfy performance constraints"). A
       single worker behind LoadGen's issue thread serves slower than the single-stream probe (they share
       the cores and the GIL), so the start is lowered by SERVER_BACKOFF and the search run again, up to
       SERVER_TRIES times.
    2. Confirm (logs in outdir): PerformanceOnly runs at the peak found, then SERVER_CONFIRM_STEP lower each
       time, until one is VALID or SERVER_CONFIRM_TRIES are spent. The record is the last confirming run's,
       with every start, the peak and every confirming target listed in `server_search`."""
    if scenario != "server":
        return _run_once(call, n_rows, scenario, plan, found, offline_batch, outdir, None)
    start, starts = SERVER_START / found.single_s, []
    for _ in range(SERVER_TRIES):
        starts.append(round(start, 3))
        search = _run_once(call, n_rows, scenario, plan, found, offline_batch, outdir / "search", start)
        if LOWER_BOUND_MISSED not in (search.get("error") or ""):
            break
        start /= SERVER_BACKOFF
    peak = search["peak_qps"]
    trail = {"starts_qps": starts, "peak_qps": None if peak is None else round(peak, 3),
             "search_result": search["result"],
             "confirm_qps": []}
    if peak is None:  # every start refused: the search's own (INVALID) record is the result
        return {**search, "server_search": trail}
    target = peak
    for _ in range(SERVER_CONFIRM_TRIES):
        trail["confirm_qps"].append(round(target, 3))
        out = _run_once(call, n_rows, scenario, plan, found, offline_batch, outdir, target, confirm=True)
        if out["valid"]:
            break
        target *= SERVER_CONFIRM_STEP
    return {**out, "server_search": trail}


def _run_once(call: Callable[[np.ndarray], object], n_rows: int, scenario: str, plan: LoadGenPlan,
              found: Probe, offline_batch: int, outdir: Path, server_qps: float | None,
              confirm: bool = False) -> dict:
    import mlperf_loadgen as lg

    outdir.mkdir(parents=True, exist_ok=True)
    work: queue.Queue = queue.Queue()

    def complete(samples) -> None:
        lg.QuerySamplesComplete([lg.QuerySampleResponse(q.id, 0, 0) for q in samples])

    def serve() -> None:  # the server's single worker
        while (sample := work.get()) is not None:
            call(np.array([sample.index]))
            complete([sample])

    def issue(samples) -> None:
        if scenario == "server":
            for q in samples:
                work.put(q)
            return
        step = offline_batch if scenario == "offline" else 1
        for start in range(0, len(samples), step):
            chunk = samples[start:start + step]
            call(np.array([q.index for q in chunk]))
            complete(chunk)

    worker = threading.Thread(target=serve, daemon=True) if scenario == "server" else None
    if worker:
        worker.start()
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(n_rows, n_rows, lambda s: None, lambda s: None)  # the rows already sit in memory
    log = lg.LogSettings()
    log.log_output.outdir = str(outdir)
    log.log_output.copy_summary_to_stdout = False
    log.enable_trace = False
    try:
        lg.StartTestWithLogSettings(sut, qsl, loadgen_settings(scenario, plan, found, server_qps, confirm), log)
    finally:
        if worker:
            work.put(None)
            worker.join()
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
    for extra in outdir.iterdir():  # the (empty) accuracy log and trace of a performance run
        if extra.is_file() and extra.name not in _KEPT_LOGS:  # (the server's search/ folder stays)
            extra.unlink()
    return parse_detail(outdir / "mlperf_log_detail.txt", plan)


_LINE = re.compile(r"^:::MLLOG (\{.*\})\s*$")
_PEAK = re.compile(r"Found peak performance field: (\d+(?:\.\d+)?)")
_ESTIMATE = re.compile(r"Early stopping (\d+(?:\.\d+)?)th percentile estimate: (\d+)")


def read_detail(path: Path) -> tuple[dict, list[str]]:
    """The detail log's key → value (the last entry wins: FindPeakPerformance logs every step, the peak
    last; the peak QPS it reports is kept as `found_peak_qps`) and every invalid reason logged."""
    values, reasons = {}, []
    for line in path.read_text().splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        entry = json.loads(m.group(1))
        if entry["key"] == "result_invalid_reason":
            reasons.append(str(entry["value"]))
        if entry["key"] == "generic_message" and (peak := _PEAK.search(str(entry["value"]))):
            values["found_peak_qps"] = float(peak.group(1))
        values[entry["key"]] = entry["value"]
    return values, reasons


def parse_detail(path: Path, plan: LoadGenPlan) -> dict:
    v, reasons = read_detail(path)
    if "result_validity" not in v:
        raise RuntimeError(f"{path}: LoadGen logged no result (the run did not finish)")
    ns = 1e-6
    latency = {k: round(v[f"result_{p}_percentile_latency_ns"] * ns, 6)
               for k, p in (("p50", "50.00"), ("p90", "90.00"), ("p95", "95.00"), ("p99", "99.00"))
               if f"result_{p}_percentile_latency_ns" in v}
    latency.update({k: round(v[f"result_{k}_latency_ns"] * ns, 6) for k in ("mean", "min", "max")
                    if f"result_{k}_latency_ns" in v})
    estimates = {f"p{float(q):g}": round(int(val) * ns, 6)
                 for q, val in _ESTIMATE.findall(str(v.get("early_stopping_result", "")))}
    qps = next((v[k] for k in ("result_samples_per_second", "result_completed_samples_per_sec",
                               "result_qps_without_loadgen_overhead") if k in v), None)
    return {
        "result": v["result_validity"], "valid": v["result_validity"] == "VALID", "invalid_reasons": reasons,
        "min_duration_met": v.get("result_min_duration_met"), "min_queries_met": v.get("result_min_queries_met"),
        "early_stopping_met": v.get("early_stopping_met"), "perf_constraints_met": v.get("result_perf_constraints_met"),
        "early_stopping": {"estimates_ms": estimates, "text": str(v.get("early_stopping_result", "")).strip()},
        "latency_ms": latency, "samples_per_s": qps, "query_count": v.get("result_query_count"),
        "scheduled_samples_per_s": v.get("result_scheduled_samples_per_sec"),
        "settings": {k.removeprefix("effective_"): v[k] for k in sorted(v) if k.startswith("effective_")},
        "mode": plan.mode, "compliant": plan.mode == "compliant",
        "label": None if plan.mode == "compliant" else NOT_COMPLIANT,
        "loadgen_version": v.get("loadgen_version"), "error": v.get("error_runtime"),
        "target_qps": v.get("effective_target_qps"), "peak_qps": v.get("found_peak_qps"),
    }
