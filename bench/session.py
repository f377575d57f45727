"""One benchmark session: the artifacts, their inputs and loaded runners, and every record it measures.

Results go to a hidden `.<run_id>.partial/` folder beside the final one while the suite runs (config.json is
written there before anything is timed) and the folder is renamed to `<results-root>/<run_id>/` only when the
session ends without being interrupted, so a results folder is always whole. summary.json is the single
source of truth; summary.md/.csv, table.tex and pareto.png are rendered from it (bench/report.py).

Every results folder holds a `record.json` (distill/record.py): settings = the measurement settings (every
option but where things live, the tests chosen, the task, and the machine: a latency belongs to the machine
it was measured on), inputs = the sha256 of each measured artifact's manifest.json (of the checkpoint for an
eager model) and of the dev data. It is complete only in a published folder. Before anything is measured:
- a results folder with the same record → the session ends at once (exit 0) saying it was measured already;
- a different record, or a folder with none → refused with one line per difference;
- `--overwrite` (alias `--force`) measures again and replaces the folder when the new one is whole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from bench.artifacts import eager_module, encoder_for, load_runner
from bench.config import BenchConfig
from bench.flops import flops_per_sample
from bench.formats import EAGER, facts
from bench.inputs import batches, length_stats, packed_rows
from bench.report import render
from bench.specs import discover
from distill.data import load_split
from distill.errors import UserError
from distill.folded import MeasuredForm
from distill.io import exclusive, file_sha256, replace, write_json
from distill.layout import RunLayout
from distill.record import RECORD, decide, folder_sha256, make_record, refusal, seal, task_identity
from distill.runinfo import command_line, env_info
from distill.student_files import weights_file
from export.manifest import MANIFEST, versions
from export.registry import PROCESS
from export.validate import dev_batches, predict_dev

SUMMARY_VERSION = 1


class AlreadyMeasured(Exception):
    """The results folder holds a complete measurement with the same settings and inputs: nothing to do."""


class MeasuredDifferently(UserError):
    """The results folder was measured with other settings or inputs (or keeps no record of them)."""


class BenchSession:
    def __init__(self, config: BenchConfig):
        self.config = config
        self.run_dir = Path(config.run_dir)
        self.task = RunLayout(self.run_dir).task()
        dev = load_split(self.task, "dev")
        self.dev_texts, self.dev_labels = list(dev["text"]), np.asarray(dev["label"])
        self.dev_texts_b = list(dev["text_b"]) if self.task.is_pair else None  # second sentences of pairs
        self.specs = discover(self.run_dir, config.targets, config.references, len(self.task.label_names))
        self.partial = Path(config.results_root) / f".{config.run_id}.partial"
        self.records: list[dict] = []
        self.artifacts: dict[str, dict] = {s["id"]: dict(s) for s in self.specs}
        self.machine: dict[str, dict] = {}
        self.outcomes: dict[str, list] = {"skipped": [], "failed": []}
        self._rows: dict[str, tuple] = {}
        self._runner_key, self._runner = None, None
        self._fp32: dict[str, np.ndarray] = {}
        self._flops: dict[str, float] = {}
        self.interleaved: dict | None = None  # the headline rows timed again in blocks (bench/test_interleaved.py)

    # -- what the tests ask for ------------------------------------------------------------------------------
    def batch_sizes(self, spec: dict) -> list[int]:
        return self.config.reference_batch_sizes if spec["role"] == "reference" else self.config.batch_sizes

    def rows(self, spec: dict) -> tuple[np.ndarray, np.ndarray]:
        """The packed dev rows for this spec's tokenizer (shared by every artifact that uses it)."""
        key = spec["tokenizer"]["folder"] if spec["tokenizer"] else spec["id"]
        if key not in self._rows:
            count = max(256, *self.batch_sizes(spec))
            self._rows[key] = packed_rows(encoder_for(spec), self.dev_texts, self.config.seq_len, count,
                                          self.dev_texts_b)
        return self._rows[key]

    def inputs(self, spec: dict, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return batches(*self.rows(spec), batch_size)

    def runner(self, spec: dict, threads: int, device: str):
        """A loaded runner, kept while consecutive tests use the same artifact (tests are ordered so)."""
        torch.set_num_threads(threads)
        # a runtime whose threads torch sets for the whole process serves every thread count once loaded
        key = (spec["id"], device, None if facts(spec["format"]).threads == PROCESS else threads)
        if key != self._runner_key:
            self._runner_key, self._runner = None, None  # free the previous model before loading the next
            self._runner = load_runner(spec, threads, device)
            self._runner_key = key
        return self._runner

    def fp32_logits(self, spec: dict) -> np.ndarray | None:
        """Dev logits of the spec's reference model in eager fp32 (its own model; for an imported file, the
        model its import named): what every artifact is scored against. None for an import without one."""
        model = spec.get("reference_model", spec["model"])
        if model is None:
            return None
        if model not in self._fp32:
            eager = next(s for s in self.specs_all() if s["model"] == model and s["format"] == EAGER)
            texts, texts_b = self.dev_texts_used()
            run = load_runner(eager, max(self.config.threads), "cpu")
            batches_ = dev_batches(encoder_for(eager), texts, eager["max_length"], texts_b=texts_b)
            self._fp32[model] = predict_dev(run, batches_, len(texts))
        return self._fp32[model]

    def flops_per_sample(self, spec: dict, batch: int = 1) -> float | None:
        """GFLOP per input row at --seq-len, counted on the eager form of the computation the spec runs: the
        folded student for a folded artifact (no input projection: its gate tables are looked up), the form
        MeasuredForm picks at this batch size for the eager student, the trained graph otherwise (every other
        format computes it). None for an import (no eager graph here to count)."""
        if spec["role"] == "imported":
            return None
        form = self._flop_form(spec, batch)
        if (spec["model"], form) not in self._flops:
            ids, mask = (torch.from_numpy(a[:2]) for a in self.rows(spec))
            if spec["role"] == "reference":  # count 1- and 2-layer copies: FLOPs are linear in depth
                ref = spec["reference"]
                one, two = ({**spec, "reference": {**ref, "layers": n}} for n in (1, 2))
                f1, f2 = (flops_per_sample(eager_module(s), ids, mask) for s in (one, two))
                flops = f1 + (ref["layers"] - 1) * (f2 - f1)
            else:
                flops = flops_per_sample(eager_module(spec, form), ids, mask)
            self._flops[spec["model"], form] = flops / 1e9
        return self._flops[spec["model"], form]

    @staticmethod
    def _flop_form(spec: dict, batch: int) -> str:
        if spec.get("folded"):
            return "folded"
        if spec["role"] == "student" and spec["format"] == EAGER:
            return "measured-large" if batch >= MeasuredForm.SMALL else "measured-small"
        return "trained"

    def specs_all(self) -> list[dict]:
        """Every spec of the run, whatever --targets chose (the eager fp32 reference may be filtered out)."""
        if not hasattr(self, "_all"):
            self._all = discover(self.run_dir, None, [], len(self.task.label_names))
        return self._all

    def dev_texts_used(self) -> tuple[list[str], list[str] | None]:
        """The dev texts the accuracy pass reads (and their second sentences for a pair task)."""
        n = self.config.dev_limit or len(self.dev_texts)
        return self.dev_texts[:n], (self.dev_texts_b[:n] if self.dev_texts_b is not None else None)

    # -- what the tests report -------------------------------------------------------------------------------
    def add_record(self, spec: dict, **fields) -> dict:
        record = {"artifact": spec["id"], "model": spec["model"], "role": spec["role"], "format": spec["format"],
                  "mobile_format": spec["mobile"], **fields}
        self.records.append(record)
        return record

    def update_artifact(self, spec: dict, **fields) -> None:
        self.artifacts[spec["id"]].update(fields)

    # -- writing ---------------------------------------------------------------------------------------------
    def record(self) -> dict:
        """The record of this session's measurement (distill/record.py): what the numbers depend on."""
        task_settings, inputs = task_identity(self.task, ("dev",))
        env = env_info()
        settings = {**self.config.measurement_settings(), "task": task_settings,
                    "machine": {k: env.get(k) for k in ("cpu", "cores", "gpu")}}
        models = {s["model"] for s in self.specs}
        for spec in self.specs + [s for s in self.specs_all() if s["format"] == EAGER and s["model"] in models]:
            if spec.get("folder"):
                inputs[spec["id"]] = file_sha256(Path(spec["folder"]) / MANIFEST)
            elif spec["role"] == "student" and spec.get("source"):
                inputs[spec["id"]] = file_sha256(weights_file(spec["source"]))
            elif spec["role"] == "teacher":
                inputs[spec["id"]] = folder_sha256(spec["source"])
        record = make_record("bench", settings, inputs)
        record["provenance"]["command"] = command_line(prog="pytest")  # pytest's, not distill-bench's
        return record

    def start(self) -> None:
        out = self.config.out
        self.bench_record = self.record()
        if out.exists():
            decision, lines = decide(out, self.bench_record)  # the rule every stage follows
            if decision == "skip" and not self.config.overwrite:
                raise AlreadyMeasured(f"{out}: already measured with these settings and inputs (record "
                                      f"{out / RECORD}); nothing to do (--overwrite measures again)")
            if decision in ("differs", "resume") and not self.config.overwrite:  # a bench cannot resume midway
                lines = lines or ["(its record is not complete)"]
                raise MeasuredDifferently(str(refusal(f"bench results {out}", lines)))
        # held until this process ends: a second bench of the same run id would wipe this one's partial folder
        self._lock = contextlib.ExitStack()
        self._lock.enter_context(exclusive(self.partial.parent, f".{self.config.run_id}.lock"))
        shutil.rmtree(self.partial, ignore_errors=True)
        self.partial.mkdir(parents=True)
        self.env = _env(self.config)  # before timing: the git state is that of the code that runs
        write_json(self.partial / "env.json", self.env)
        write_json(self.partial / RECORD, self.bench_record)
        write_json(self.partial / "config.json", {
            "run_id": self.config.run_id, "command": command_line(prog="pytest"), "options": self.config.as_dict(),
            "artifacts": [s["id"] for s in self.specs], "task": self.task.name})
        self._started = time.perf_counter()

    def summary(self) -> dict:
        lengths = {}  # per model: its artifacts ship copies of the same tokenizer
        for spec in self.specs:
            if spec["tokenizer"] and spec["model"] not in lengths and spec["role"] not in ("reference", "limit"):
                try:
                    lengths[spec["model"]] = {"model": spec["model"], **length_stats(
                        encoder_for(spec), self.dev_texts, spec["max_length"], self.dev_texts_b)}
                except Exception as e:  # noqa: BLE001 - a stats failure must not lose the measurements
                    lengths[spec["model"]] = {"model": spec["model"], "error": str(e)}
        records = [_join(r, self.artifacts[r["artifact"]]) for r in self.records]
        return {"version": SUMMARY_VERSION, "run_id": self.config.run_id, "run_dir": str(self.run_dir),
                "task": self.task.name,
                "conditions": {"seq_len": self.config.seq_len, "threads": self.config.threads,
                               "batch_sizes": self.config.batch_sizes,
                               "reference_batch_sizes": self.config.reference_batch_sizes,
                               "inputs": "real dev text packed to seq_len tokens per row (bench/inputs.py)" + (
                                   "; pairs: seq_len tokens per sentence, a teacher reads both in one row"
                                   if self.task.is_pair else ""),
                               "pair": self.task.is_pair, "protocol": self.task.protocol,
                               "dev_lengths": list(lengths.values()), "dev_n": len(self.dev_texts_used()[0]),
                               "dev_size": len(self.dev_texts), "dev_limit": self.config.dev_limit,
                               "min_rounds": self.config.min_rounds,
                               "min_rounds_offline": self.config.min_rounds_offline,
                               "min_time_s": self.config.min_time, "scenarios": self.config.scenarios,
                               "loadgen": asdict(self.config.loadgen),
                               "interleave_blocks": self.config.interleave_blocks,
                               "pin_core": self.config.pin_core},
                "machine": self.machine, "artifacts": self.artifacts, "records": records,
                "interleaved": self.interleaved,
                "skipped": self.outcomes["skipped"], "failed": self.outcomes["failed"]}

    def finish(self, benchmark_json: Path | None, interrupted: bool) -> Path | None:
        env = self.env
        env["load"]["after"] = load_now()
        write_json(self.partial / "env.json", env)
        if benchmark_json and benchmark_json.is_file() and benchmark_json.parent.resolve() != self.partial.resolve():
            shutil.copy2(benchmark_json, self.partial / "benchmark.json")
        summary = self.summary()
        summary["env"] = {k: env[k] for k in ("utc", "cpu", "cores", "ram_gb", "gpu", "os", "git")}
        summary["load"] = overload(env)
        write_json(self.partial / "summary.json", summary)
        try:
            if interrupted:
                return None
            render(self.partial)
            seal(self.partial, self.bench_record, seconds=round(time.perf_counter() - self._started, 1))
            return publish(self.partial, self.config.out, self.config.overwrite)
        finally:
            self._lock.close()  # removes the lock file: nothing of the run is left beside its results


def _env(config: BenchConfig) -> dict:
    env = env_info()
    env["libraries"].update({k: v for k, v in versions().items() if k not in env["libraries"]})
    env["threads"]["bench"] = config.threads
    env["load"] = {"before": load_now(), "cpu_affinity": sorted(os.sched_getaffinity(0)),
                   "cgroup_cpu_quota": cgroup_cpu_quota()}
    return env


def load_now() -> dict:
    one, five, fifteen = os.getloadavg()
    return {"1min": round(one, 2), "5min": round(five, 2), "15min": round(fifteen, 2)}


def cgroup_cpu_quota() -> str | None:
    """The CPU quota of this process's cgroup as the kernel states it ("max 100000" = none; v1's
    cfs_quota_us/period_us otherwise); None where neither file exists."""
    for path in ("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):
        with contextlib.suppress(OSError):
            text = Path(path).read_text().strip()
            if path.endswith("cfs_quota_us"):
                with contextlib.suppress(OSError):
                    text += " " + Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text().strip()
            return text
    return None


def overload(env: dict) -> dict:
    """Whether the machine was busier than its cores during the bench: the 1-minute load average before or
    after it above the core count (another job competed with the timings)."""
    load, cores = env.get("load", {}), env.get("cores") or 0
    worst = max((load.get(k, {}).get("1min", 0.0) for k in ("before", "after")), default=0.0)
    return {"load_1min_before": load.get("before", {}).get("1min"), "load_1min_after": load.get("after", {}).get(
        "1min"), "cores": cores, "overloaded": bool(cores and worst > cores)}


def publish(partial: Path, out: Path, overwrite: bool) -> Path:
    """Rename the finished folder into place; an existing one is replaced only with --overwrite."""
    if out.exists() and not overwrite:
        raise FileExistsError(out)
    replace(partial, out)
    return out


def _join(record: dict, artifact: dict) -> dict:
    """A record with its artifact's per-model facts (params, size, accuracy, footprint) filled in."""
    peak = artifact.get("peak_rss_mb_bs1") if record.get("batch_size") == 1 else artifact.get("peak_rss_mb_bsmax")
    return {**record, "params": artifact.get("params"), "params_no_embedding": artifact.get("params_no_embedding"),
            "size_mb": artifact.get("size_mb"), "accuracy": artifact.get("accuracy"),
            "accuracy_ci95": artifact.get("ci95"), "agreement": artifact.get("agreement"),
            "accuracy_ratio": artifact.get("accuracy_ratio"), "peak_rss_mb": peak,
            "load_s": artifact.get("load_s"), "first_inference_ms": artifact.get("first_inference_ms")}

