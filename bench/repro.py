"""`distill-bench repro RESULTS RESULTS RESULTS --out DIR`: how far the headline figures move between
separate bench runs of the same artifacts. Pure function of the runs' summary.json files.

Figures, each read from every run with its own 95% interval where the run measured one:
- the shipped artifact's batch-1, 1-thread p50, model-only (pytest-benchmark's per-call timings) and
  end-to-end (text → label);
- the best student artifact's offline samples/s (the largest batch, the most threads);
- the best student artifact vs BERT-large speed-up (the headline, from the interleaved blocks when measured).
The artifact is fixed once (--artifact, or the first run's fastest at batch 1) so every run reads the same one.
spread_pct = (max − min) / mean × 100.
"""

from __future__ import annotations

from pathlib import Path

from bench.formats import EAGER
from bench.headlines import headlines
from bench.selection import batch1, best_student, max_threads, timed
from bench.tables import table
from distill.errors import UserError
from distill.io import read_json, write_json, write_text


def _summary(path: Path) -> dict:
    file = path / "summary.json" if path.is_dir() else path
    if not file.is_file():
        raise UserError(f"{path}: no summary.json (give results folders written by `pytest bench`)")
    return read_json(file)


def figures_of(summary: dict, artifact: str) -> dict[str, dict]:
    out = {}
    for latency in ("model-only", "end-to-end"):
        name = f"p50 batch 1, 1 thread, {latency} (ms)"
        r = batch1(summary, artifact, latency)
        out[f"{artifact}: {name}"] = {"value": r["latency_ms"]["p50"] if r else None,
                                      "ci95": (r["latency_ms"].get("ci95") or {}).get("p50") if r else None}
    student, threads = best_student(summary), max_threads(summary)
    rows = [r for r in timed(summary, model=student, threads=threads) if r["format"] != EAGER] if student else []
    best = max(rows, key=lambda r: r["throughput_sps"], default=None)
    out["best student artifact offline samples/s"] = {
        "value": best["throughput_sps"] if best else None, "ci95": None,
        "row": f"{best['artifact']} bs{best['batch_size']} {threads}t" if best else None}
    h = next((h for h in headlines(summary) if h["key"] == "artifact_vs_bert_large"), None)
    out["best student artifact vs BERT-large eager, samples/s (×)"] = {
        "value": h["value"] if h else None, "ci95": h.get("ci95") if h else None}
    return out


def repro(results: list[Path], out: Path, artifact: str | None = None) -> dict:
    command = " ".join(["distill-bench repro", *map(str, results), "--out", str(out)]
                       + (["--artifact", artifact] if artifact else []))
    if len(results) < 2:
        raise UserError("give at least two bench results folders to compare")
    summaries = [_summary(Path(p)) for p in results]
    if artifact is None:
        student = best_student(summaries[0])
        single = timed(summaries[0], model=student, threads=1, batch_size=1) if student else []
        if not single:
            raise UserError(f"{results[0]}: no batch-1, 1-thread student record to fix the artifact from")
        artifact = min(single, key=lambda r: r["latency_ms"]["p50"])["artifact"]
    per_run = [figures_of(s, artifact) for s in summaries]
    figures = []
    for name in per_run[0]:
        values = [run[name]["value"] for run in per_run]
        known = [v for v in values if v is not None]
        mean = sum(known) / len(known) if known else None
        figures.append({"name": name, "values": values, "ci95": [run[name]["ci95"] for run in per_run],
                        "spread_pct": round(100 * (max(known) - min(known)) / mean, 3)
                        if len(known) == len(values) and mean else None})
    result = {"command": command, "runs": [s["run_id"] for s in summaries], "artifact": artifact,
              "figures": figures, "pin_core": [s.get("conditions", {}).get("pin_core") for s in summaries],
              "load": [s.get("load") for s in summaries], "utc": [s.get("env", {}).get("utc") for s in summaries]}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "repro.json", result)
    write_text(out / "repro.md", render(result))
    return result


def _cell(value, ci) -> str:
    if value is None:
        return "–"
    text = f"{value:,.4g}"
    if ci and all(c is not None for c in ci):
        text += f" [{ci[0]:,.4g}, {ci[1]:,.4g}]"
    return text


def render(result: dict) -> str:
    headers = ["figure", *result["runs"], "spread %"]
    rows = [[f["name"], *[_cell(v, c) for v, c in zip(f["values"], f["ci95"])],
             "–" if f["spread_pct"] is None else f"{f['spread_pct']:.2f}"] for f in result["figures"]]
    loads = ", ".join(f"{run}: " + ("not recorded" if not load else
                                    f"{load['load_1min_before']} → {load['load_1min_after']}")
                      for run, load in zip(result["runs"], result["load"]))
    return "\n".join([
        f"# Reproducibility of the headline figures over {len(result['runs'])} bench runs", "",
        f"Made by `{result['command']}` (the runs' summary.json); artifact "
        f"`{result['artifact']}`. Each cell: the run's figure [its 95% interval, where the run measured one]; "
        "spread = (max − min) / mean. Runs started at " + ", ".join(str(u) for u in result["utc"]) + ".", "",
        table(headers, rows), "", f"1-minute load average before → after each run: {loads}.", "",
        f"1-thread measurements: {_pins(result)}.", ""])


def _pins(result: dict) -> str:
    pins = result.get("pin_core") or [None] * len(result["runs"])
    if len(set(pins)) == 1:
        return "not bound to a core (the scheduler placed them)" if pins[0] is None else \
            f"bound to core {pins[0]} in every run (`--pin-core {pins[0]}`)"
    return ", ".join(f"{run}: " + ("not bound" if p is None else f"core {p}") for run, p in zip(result["runs"], pins))
