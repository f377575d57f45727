"""`distill-bench recommend RESULTS --max-p90-ms X [--max-size-mb Y] [--min-accuracy A]`: the most accurate
artifact of a bench run inside a latency (and size, accuracy) budget, and why every other one lost.

Candidates are every benchmarked model artifact (students of any family, the teacher, imports; not the
random-weight reference shapes or recurrence limits) with a dev accuracy. Latency is the batch-1 p90 at
`--threads` (1: a phone's budget) end to end (text → label) by default, model-only with --latency
model-only. Among the candidates within every limit the most accurate wins, ties to the faster one. Pure
function of summary.json: nothing is measured here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.selection import batch1
from distill.errors import UserError
from distill.io import read_json


@dataclass(frozen=True)
class Budget:
    max_p90_ms: float
    max_size_mb: float | None = None
    min_accuracy: float | None = None
    latency: str = "end-to-end"
    threads: int = 1


def candidates(summary: dict, budget: Budget) -> list[dict]:
    out = []
    for art in summary["artifacts"].values():
        if art["role"] in ("reference", "limit") or art.get("accuracy") is None:
            continue
        row = batch1(summary, art["id"], budget.latency, budget.threads)
        out.append({"id": art["id"], "accuracy": art["accuracy"], "ci95": art.get("ci95"),
                    "size_mb": art.get("size_mb"), "p90_ms": row["latency_ms"]["p90"] if row else None,
                    "valid": bool(row and row.get("valid"))})
    return out


def recommend(summary: dict, budget: Budget) -> tuple[dict | None, list[dict]]:
    """(the chosen candidate or None, every candidate with `verdict` and `why`)."""
    rows = candidates(summary, budget)
    if not rows:
        raise UserError(f"run {summary.get('run_id')}: no benchmarked artifact with a dev accuracy to choose from")
    for c in rows:
        why = []
        if c["p90_ms"] is None:
            why.append(f"no {budget.latency} batch-1 latency at {budget.threads} thread(s) in this run")
        elif c["p90_ms"] > budget.max_p90_ms:
            why.append(f"too slow: p90 {c['p90_ms']:.3f} ms > {budget.max_p90_ms:g} ms")
        elif not c["valid"]:
            why.append("its latency record missed its minimum rounds or time")
        if budget.max_size_mb is not None and (c["size_mb"] is None or c["size_mb"] > budget.max_size_mb):
            why.append("too big: size not recorded" if c["size_mb"] is None else
                       f"too big: {c['size_mb']:.2f} MB > {budget.max_size_mb:g} MB")
        if budget.min_accuracy is not None and c["accuracy"] < budget.min_accuracy:
            why.append(f"not accurate enough: {c['accuracy']:.4f} < {budget.min_accuracy:g}")
        c["why"] = why
    fitting = sorted((c for c in rows if not c["why"]), key=lambda c: (-c["accuracy"], c["p90_ms"]))
    best = fitting[0] if fitting else None
    for c in rows:
        if c is best:
            c["verdict"] = "chosen"
        elif c["why"]:
            c["verdict"] = "outside the budget"
        else:
            c["verdict"] = "less accurate"
            c["why"] = [f"less accurate: {c['accuracy']:.4f} vs {best['accuracy']:.4f}" if c["accuracy"] < best[
                "accuracy"] else f"as accurate but slower: p90 {c['p90_ms']:.3f} vs {best['p90_ms']:.3f} ms"]
    return best, sorted(rows, key=lambda c: (c is not best, -c["accuracy"]))


def run(results: str | Path, budget: Budget, log=print) -> int:
    path = Path(results) / "summary.json" if Path(results).is_dir() else Path(results)
    if not path.is_file():
        raise UserError(f"{results}: no summary.json (give a results folder written by `pytest bench`)")
    summary = read_json(path)
    best, rows = recommend(summary, budget)
    limits = [f"p90 ≤ {budget.max_p90_ms:g} ms ({budget.latency}, batch 1, {budget.threads} thread(s))"]
    if budget.max_size_mb is not None:
        limits.append(f"size ≤ {budget.max_size_mb:g} MB")
    if budget.min_accuracy is not None:
        limits.append(f"dev accuracy ≥ {budget.min_accuracy:g}")
    log(f"recommend for run {summary['run_id']} within {', '.join(limits)}:")
    if (summary.get("load") or {}).get("overloaded"):
        log("  note: this bench ran on an overloaded machine (load average above the core count)")
    for c in rows:
        ci = f" [{c['ci95'][0]:.4f}, {c['ci95'][1]:.4f}]" if c.get("ci95") else ""
        p90 = "–" if c["p90_ms"] is None else f"{c['p90_ms']:.3f} ms"
        size = "–" if c["size_mb"] is None else f"{c['size_mb']:.2f} MB"
        head = "CHOSEN " if c["verdict"] == "chosen" else "       "
        log(f"  {head}{c['id']}: accuracy {c['accuracy']:.4f}{ci}, p90 {p90}, {size}"
            + ("" if c["verdict"] == "chosen" else f" — {'; '.join(c['why'])}"))
    if best is None:
        log("nothing fits this budget")
        return 1
    log(f"ship {best['id']}")
    return 0
