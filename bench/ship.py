"""The mobile release gate: one artifact of a bench run against a budget, from summary.json alone.

    distill-bench ship results/sst2-bench --target ort-mobile-int8 --max-p90-ms 2 --min-accuracy-ratio 0.99 \
        --max-size-mb 12

Checks parity with the eager fp32 model (dev argmax agreement, and max |Δlogit| for lossless formats),
dev accuracy against fp32, p90 latency at batch 1 and the chosen threads (1 by default: mobile-class), and
file size. Every check is reported; the verdict is SHIP only if all pass (exit 0), else NO SHIP (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def check(summary: dict, target: str, budget: Budget, model: str | None = None) -> tuple[bool, list[dict]]:
    """(passed, checks); each check: {name, ok, measured, limit, reason}."""
    from bench.report import best_student

    model = model or best_student(summary)
    artifact_id = f"{model}/{target}"
    artifact = summary["artifacts"].get(artifact_id)
    if artifact is None:
        known = sorted(a for a in summary["artifacts"] if a.startswith(f"{model}/"))
        raise UserError(f"--target: no artifact {artifact_id!r} in run {summary['run_id']} (this model has: "
                        f"{', '.join(known) or 'none'})")
    checks = []

    def add(name, measured, limit, ok, unit=""):
        reason = None if ok else (f"{name}: not measured in this run" if measured is None else
                                  f"{name}: {measured:g}{unit} vs limit {limit:g}{unit}")
        checks.append({"name": name, "ok": bool(ok), "measured": measured, "limit": limit, "reason": reason})

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
    row = next((r for r in summary["records"] if r["artifact"] == artifact_id and r["scenario"] == "single-stream"
                and r["threads"] == budget.threads and r.get("device", "cpu") == budget.device), None)
    p90 = row["latency_ms"]["p90"] if row else None
    add(f"p90 latency, batch 1, {budget.threads} thread(s), {budget.device}", p90, budget.max_p90_ms,
        p90 is not None and p90 <= budget.max_p90_ms, " ms")
    if row is not None and not row.get("valid", False):
        add("latency measurement valid (minimum rounds and time met)", None, 1, False)
    if budget.max_size_mb is not None:
        size = artifact.get("size_mb")
        add("file size", size, budget.max_size_mb, size is not None and size <= budget.max_size_mb, " MB")
    return all(c["ok"] for c in checks), checks


def ship(results: str | Path, target: str, budget: Budget, model: str | None = None, log=print) -> int:
    path = Path(results) / "summary.json" if Path(results).is_dir() else Path(results)
    summary = read_json(path)
    passed, checks = check(summary, target, budget, model)
    log(f"ship gate for {model or 'best student'} / {target} (run {summary['run_id']}):")
    for c in checks:
        shown = "–" if c["measured"] is None else f"{c['measured']:g}"
        log(f"  {'PASS' if c['ok'] else 'FAIL'}  {c['name']}: {shown} (limit {c['limit']:g})")
    log("SHIP" if passed else "NO SHIP: " + "; ".join(c["reason"] for c in checks if not c["ok"]))
    return 0 if passed else 1
