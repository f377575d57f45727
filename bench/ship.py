"""The mobile release gate: one artifact of a bench run against a budget, from summary.json alone.

    distill-bench ship results/sst2-bench --target ort-mobile-int8 --max-p90-ms 2 --min-accuracy-ratio 0.99 \
        --max-size-mb 12

Checks parity with the eager fp32 model (dev argmax agreement, and max |Δlogit| for lossless formats),
dev accuracy against fp32, that the accuracy pass scored the whole dev set (a `--dev-limit` pass vouches for
a sample only), p90 latency at batch 1 and the chosen threads (1 by default: mobile-class), that the latency
measurement is valid (its minimum rounds and minimum time both met), and file size. Every check is reported
by name; the verdict is SHIP only if all pass (exit 0), else NO SHIP (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.selection import LATENCY_SCENARIO, batch1, best_student
from distill.errors import UserError
from distill.io import read_json


@dataclass(frozen=True)
class Budget:
    max_p90_ms: float
    min_accuracy_ratio: float = 0.99
    max_size_mb: float | None = None
    min_agreement: float = 0.99
    max_logit_diff: float = 1e-3
    threads: int = 1
    device: str = "cpu"
    latency: str = "end-to-end"  # the p90 an app's user waits (text → label); "model-only": the model call alone


def check(summary: dict, target: str, budget: Budget, model: str | None = None) -> tuple[bool, list[dict]]:
    """(passed, checks); each check: {name, ok, measured, limit, reason}."""
    model = model or best_student(summary)
    artifact_id = f"{model}/{target}"
    artifact = summary["artifacts"].get(artifact_id)
    if artifact is None:
        known = sorted(a for a in summary["artifacts"] if a.startswith(f"{model}/"))
        raise UserError(f"--target: no artifact {artifact_id!r} in run {summary['run_id']} (this model has: "
                        f"{', '.join(known) or 'none'})")
    checks = []
    conditions = summary.get("conditions", {})

    def add(name, measured, limit, ok, unit="", reason=None):
        if not ok and reason is None:
            reason = f"{name}: not measured in this run" if measured is None else \
                f"{name}: {measured:g}{unit} vs limit {limit:g}{unit}"
        checks.append({"name": name, "ok": bool(ok), "measured": measured, "limit": limit,
                       "reason": None if ok else reason})

    agreement = artifact.get("agreement")
    add("argmax agreement with eager fp32", agreement, budget.min_agreement,
        agreement is not None and agreement >= budget.min_agreement)
    if not artifact.get("lossy"):
        diff = artifact.get("max_abs_logit_diff")
        add("max |Δlogit| vs eager fp32", diff, budget.max_logit_diff,
            diff is not None and diff <= budget.max_logit_diff)
    ratio = artifact.get("accuracy_ratio")
    add("dev accuracy / eager fp32", ratio, budget.min_accuracy_ratio,
        ratio is not None and ratio >= budget.min_accuracy_ratio)
    scored, size = artifact.get("dev_n"), conditions.get("dev_size")
    name = "accuracy pass covered the whole dev set"
    if scored is None:
        add(name, None, size, False)
    elif size is None:
        add(name, scored, None, False, reason=f"{name}: {scored} dev examples scored, but the dev set's size is "
            "not recorded in this summary (bench it again with this version)")
    else:
        add(name, scored, size, scored >= size, reason=f"{name}: {scored} of {size} dev examples scored "
            f"(--dev-limit {conditions.get('dev_limit') or scored}); its accuracy speaks for a sample only")
    scenario = LATENCY_SCENARIO[budget.latency]
    row = batch1(summary, artifact_id, budget.latency, budget.threads, budget.device)
    p90 = row["latency_ms"]["p90"] if row else None
    where = f"{budget.latency}, batch 1, {budget.threads} thread(s), {budget.device}"
    add(f"p90 latency, {where}", p90, budget.max_p90_ms, p90 is not None and p90 <= budget.max_p90_ms, " ms")
    name = "latency measurement valid"
    if row is None:
        add(name, None, None, False, reason=f"{name}: no {scenario} record at {where} in this run")
    else:
        why = _invalid_because(row, conditions)
        add(name, {k: row.get(k) for k in ("rounds", "duration_s")},
            {"min_rounds": conditions.get("min_rounds"), "min_time_s": conditions.get("min_time_s")},
            not why, reason=f"{name}: {'; '.join(why)} (at {where})")
    load = summary.get("load")
    if load is not None:
        add("machine not overloaded during the bench", load.get("load_1min_after"), load.get("cores"),
            not load.get("overloaded"), reason="machine not overloaded during the bench: 1-minute load average "
            f"{load.get('load_1min_before')} before and {load.get('load_1min_after')} after, above its "
            f"{load.get('cores')} cores: the latencies were measured beside other work")
    if budget.max_size_mb is not None:
        size_mb = artifact.get("size_mb")
        add("file size", size_mb, budget.max_size_mb, size_mb is not None and size_mb <= budget.max_size_mb, " MB")
    return all(c["ok"] for c in checks), checks


def _invalid_because(row: dict, conditions: dict) -> list[str]:
    """Why a latency record is not valid (empty: it is): the minimums it missed, with the numbers."""
    if row.get("valid"):
        return []
    why = []
    if row.get("min_rounds_met") is False:
        why.append(f"{row.get('rounds')} timed rounds, below the minimum {conditions.get('min_rounds', '?')}")
    if row.get("min_time_met") is False:
        why.append(f"{row.get('duration_s')} s of timed rounds, below the minimum "
                   f"{conditions.get('min_time_s', '?')} s")
    return why or ["the record does not say it met its minimum rounds and time"]


def _shown(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_shown(v)}" for k, v in value.items())
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def ship(results: str | Path, target: str, budget: Budget, model: str | None = None, log=print) -> int:
    path = Path(results) / "summary.json" if Path(results).is_dir() else Path(results)
    summary = read_json(path)
    conditions = summary.setdefault("conditions", {})
    config = path.parent / "config.json"
    if "dev_size" not in conditions and config.is_file():
        # a summary from before dev_size was recorded: with no --dev-limit its pass scored the whole dev set
        if (read_json(config).get("options") or {}).get("dev_limit") == 0 and "dev_n" in conditions:
            conditions.update(dev_size=conditions["dev_n"], dev_limit=0)
    passed, checks = check(summary, target, budget, model)
    log(f"ship gate for {model or 'best student'} / {target} (run {summary['run_id']}):")
    for c in checks:
        log(f"  {'PASS' if c['ok'] else 'FAIL'}  {c['name']}: {_shown(c['measured'])} (limit {_shown(c['limit'])})")
    log("SHIP" if passed else "NO SHIP: " + "; ".join(c["reason"] for c in checks if not c["ok"]))
    return 0 if passed else 1
