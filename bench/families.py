"""`distill-bench families --ablation A --bench B --out DIR [--budget-ms X ...]`: student families side by side.

Joins a pipeline's ablation (distill/ablation.py: every row's seeds, accuracy with CIs, parameters, its family,
examples and alpha) with one bench run of the rows' exported models (bench/session.py summary.json: artifact
sizes, batch-1 p90 model-only and end-to-end, offline samples/s), then writes families.md / families.json,
the bench's Pareto plot across all families, a `recommend` verdict for each budget, and a "which to ship
when" paragraph whose every figure is read from the two inputs. Nothing here measures.

Arms: hard-label = alpha 1 on the original sentences; kd-aug = alpha 0 on the whole transfer set. A row's
two arms are paired by family and parameter count without embeddings (their vocabularies differ, their
encoders do not). Targets checked: every family's kd-aug beats its hard-label arm by ≥ 2 points, and the
static family's batch-1 end-to-end p50 is ≤ 0.2 ms at 1 thread.
"""

from __future__ import annotations

from pathlib import Path

from bench.pareto import render_pareto
from bench.recommend import Budget, recommend
from bench.selection import batch1, best_throughput
from bench.tables import table
from distill.ablation_curves import find_pair
from distill.errors import UserError
from distill.io import read_json, write_json, write_text

KD_GAIN_POINTS = 2.0
STATIC_E2E_P50_MS = 0.2


def arm(row: dict) -> str:
    if row.get("alpha") == 1.0 and row.get("examples") == "original":
        return "hard-label"
    if row.get("alpha") == 0.0 and row.get("examples") == "all":
        return "kd-aug"
    return f"alpha {row.get('alpha')}, {row.get('examples')}"


def model_figures(summary: dict, model: str) -> dict | None:
    """The fastest benchmarked artifact of a model at batch 1 end to end (else model-only), with its figures."""
    arts = [a for a in summary["artifacts"].values() if a["model"] == model]
    if not arts:
        return None
    out = []
    for a in arts:
        e2e, single = batch1(summary, a["id"], "end-to-end"), batch1(summary, a["id"], "model-only")
        offline = best_throughput(summary, artifact=a["id"], scenario="offline")
        out.append({"artifact": a["id"], "format": a["format"], "size_mb": a.get("size_mb"),
                    "accuracy": a.get("accuracy"),
                    "e2e_p50_ms": e2e["latency_ms"]["p50"] if e2e else None,
                    "e2e_p90_ms": e2e["latency_ms"]["p90"] if e2e else None,
                    "model_p90_ms": single["latency_ms"]["p90"] if single else None,
                    "offline_sps": offline["throughput_sps"] if offline else None,
                    "offline_batch": offline["batch_size"] if offline else None})
    timed = [f for f in out if (f["e2e_p90_ms"] or f["model_p90_ms"]) is not None]
    if not timed:
        return None
    best = min(timed, key=lambda f: f["e2e_p90_ms"] if f["e2e_p90_ms"] is not None else f["model_p90_ms"])
    return {**best, "artifacts": out}


def families_report(ablation: dict, summary: dict, budgets_ms: list[float]) -> dict:
    rows = [r for r in ablation["summary"] if r.get("family")]
    if not rows:
        raise UserError("the ablation has no student rows with a family (train them with this version)")
    for r in rows:
        r["arm"] = arm(r)
        r["bench"] = next((f for f in (model_figures(summary, folder) for folder in r.get("folders", [])) if f),
                          None)
    checks = []
    for family in dict.fromkeys(r["family"] for r in rows):
        mine = [r for r in rows if r["family"] == family]
        for hard in (r for r in mine if r["arm"] == "hard-label"):
            kd = next((r for r in mine if r["arm"] == "kd-aug" and
                       r["params_no_embedding"] == hard["params_no_embedding"]), None)
            if kd:
                gain = 100 * (kd["mean"] - hard["mean"])
                paired = find_pair(ablation, kd["name"], hard["name"])  # same dev examples, seeds resampled
                checks.append({"name": f"{family}: {kd['name']} beats {hard['name']} by ≥ {KD_GAIN_POINTS:g} points",
                               "value": round(gain, 2), "met": gain >= KD_GAIN_POINTS,
                               **({"ci95": [round(100 * x, 2) for x in paired["ci95"]]} if paired else {})})
    static = [r["bench"] for r in rows if r["family"] == "static" and r["bench"] and r["bench"]["e2e_p50_ms"]]
    if static:
        fastest = min(static, key=lambda f: f["e2e_p50_ms"])
        checks.append({"name": f"static: batch-1 end-to-end p50 ≤ {STATIC_E2E_P50_MS} ms at 1 thread "
                               f"({fastest['artifact']})", "value": fastest["e2e_p50_ms"],
                       "met": fastest["e2e_p50_ms"] <= STATIC_E2E_P50_MS})
    verdicts = []
    for ms in budgets_ms:
        best, _ = recommend(summary, Budget(max_p90_ms=ms))
        verdicts.append({"max_p90_ms": ms, "chosen": best["id"] if best else None,
                         "accuracy": best["accuracy"] if best else None, "p90_ms": best["p90_ms"] if best else None})
    return {"run_id": ablation.get("run_id"), "bench_run_id": summary.get("run_id"), "n": ablation.get("n"),
            "rows": rows, "checks": checks, "recommend": verdicts, "paragraph": paragraph(rows, verdicts)}


def paragraph(rows: list[dict], verdicts: list[dict]) -> str:
    """Which to ship when, each clause read from the figures (no adjective without its number)."""
    benched = [r for r in rows if r["bench"]]
    if not benched:
        return "No row of the ablation was benchmarked, so no latency-based advice can be given."

    def lat(r: dict) -> float:
        return r["bench"]["e2e_p90_ms"] or r["bench"]["model_p90_ms"]

    top = max(rows, key=lambda r: r["mean"])
    fast = min(benched, key=lat)
    parts = [f"The most accurate student row is {top['name']} ({top['family']}, mean dev accuracy "
             f"{top['mean']:.4f} over {top['n_seeds']} seed{'s' if top['n_seeds'] != 1 else ''})"
             + (f", whose fastest artifact ({top['bench']['format']}) answers in {lat(top):.3f} ms p90"
                if top["bench"] else "") + ".",
             f"The fastest is {fast['name']} ({fast['family']}): {lat(fast):.3f} ms p90 with {fast['bench']['format']} "
             f"at a mean accuracy of {fast['mean']:.4f}."]
    for v in verdicts:
        parts.append(f"Within a p90 budget of {v['max_p90_ms']:g} ms, recommend picks "
                     + (f"{v['chosen']} ({v['accuracy']:.4f}, {v['p90_ms']:.3f} ms)." if v["chosen"]
                        else "nothing: no artifact fits."))
    front, best = [], -1.0
    for r in sorted(benched, key=lat):
        if r["mean"] > best:
            front.append(r["name"])
            best = r["mean"]
    bilstm = [r["name"] for r in benched if r["family"] == "bilstm"]
    on = [n for n in bilstm if n in front]
    parts.append(f"On the accuracy/latency front of the benchmarked rows: {', '.join(front)}; the BiLSTM "
                 + (f"is on it ({', '.join(on)})." if on else "is not on it."))
    return " ".join(parts)


def render(report: dict) -> str:
    headers = ["row", "family", "arm", "seeds", "mean acc", "std", "each seed", "params", "params w/o emb",
               "fastest artifact", "size MB", "p90 e2e ms", "p90 model ms", "p50 e2e ms", "offline samples/s"]
    body = []
    for r in report["rows"]:
        b = r["bench"] or {}
        body.append([r["name"], r["family"], r["arm"], r["n_seeds"], f"{r['mean']:.4f}", f"{r['std']:.4f}",
                     ", ".join(f"{a:.4f}" for a in r["accuracies"]), f"{r['params']:,}",
                     f"{r['params_no_embedding']:,}", b.get("format"), _f(b.get("size_mb"), 2),
                     _f(b.get("e2e_p90_ms"), 3), _f(b.get("model_p90_ms"), 3), _f(b.get("e2e_p50_ms"), 3),
                     _f(b.get("offline_sps"), 0)])
    lines = [f"# Student families — run `{report['run_id']}`, bench `{report['bench_run_id']}`", "",
             f"Made by `distill-bench families`; accuracy on n = {report['n']} dev examples (95% bootstrap CIs per "
             "seed in ablation.md), latency at batch 1 and 1 thread from the bench run (end-to-end = text → "
             "label with the artifact's tokenizer). Every figure is read from ablation.json and summary.json.", "",
             table(headers, body), "", "## Targets", ""]
    lines += [f"- {c['name']}: {c['value']}" + (f" (paired 95% CI [{c['ci95'][0]:+.2f}, {c['ci95'][1]:+.2f}])"
                                                  if c.get("ci95") else "")
              + f" — {'met' if c['met'] else '**not met**'}" for c in report["checks"]]
    lines += ["", "## recommend", ""]
    lines += [f"- p90 ≤ {v['max_p90_ms']:g} ms (end-to-end, batch 1, 1 thread): "
              + (f"{v['chosen']} ({v['accuracy']:.4f}, p90 {v['p90_ms']:.3f} ms)" if v["chosen"] else "nothing fits")
              for v in report["recommend"]]
    lines += ["", "## Which to ship when", "", report["paragraph"], "", "![accuracy vs latency](pareto.png)", ""]
    return "\n".join(lines)


def _f(v, digits):
    return None if v is None else f"{v:,.{digits}f}"


def write(ablation_dir: Path, bench_dir: Path, out: Path, budgets_ms: list[float]) -> dict:
    for path in (ablation_dir / "ablation.json", bench_dir / "summary.json"):
        if not path.is_file():
            raise UserError(f"{path}: not found (families joins `distill-bench ablation` and `pytest bench` output)")
    summary = read_json(bench_dir / "summary.json")
    report = families_report(read_json(ablation_dir / "ablation.json"), summary, budgets_ms)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "families.json", report)
    write_text(out / "families.md", render(report))
    render_pareto(summary, out / "pareto.png")
    return report
