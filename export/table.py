"""The export table, made from RUN/export/export.json and the manifests it points to (never typed in).

Writes export.json (all outcomes with their manifests' numbers), export.md and export.csv to a folder such
as results/sst2-export. The parity column is the largest |Δlogit| over the shapes; every shape is in the
JSON and CSV.
"""

from __future__ import annotations

import csv
import io
import shlex
from pathlib import Path

from tabulate import tabulate

from distill.errors import UserError
from distill.io import read_json, write_json, write_text
from export.manifest import OUTCOMES
from export.registry import all_targets


def collect(export_dir: Path) -> list[dict]:
    summary = export_dir / OUTCOMES
    if not summary.is_file():
        raise UserError(f"{export_dir}: no {OUTCOMES}; run `distill-bench export RUN` first")
    rows = []
    for o in read_json(summary)["outcomes"]:
        row = {k: o.get(k) for k in ("model", "kind", "target", "status", "error")}
        row["fp32_accuracy"] = o["fp32_dev"]["accuracy"]
        if o.get("gates"):  # a rejected artifact has no manifest left: its gates are in the outcome
            row["gates"] = o["gates"]
        if o["status"] == "ok":
            m = read_json(Path(o["manifest"]))
            row.update({"size_mb": m["size_mb"], "parity_max_abs": m["parity_max_abs"],
                        "worst_abs_dlogit": max(m["parity_max_abs"].values()), "tolerance": m["tolerance"],
                        "argmax_agreement": m["dev"]["argmax_agreement"], "accuracy": m["dev"]["accuracy"],
                        "ci95": m["dev"]["ci95"], "n": m["dev"]["n"],
                        "accuracy_vs_fp32": m["dev"]["accuracy"] / m["fp32_dev"]["accuracy"],
                        "export_seconds": m["export_seconds"], "max_length": m["max_length"],
                        "embedding_int8": m["info"].get("embedding_int8"), "gates": m.get("gates"),
                        "warnings": [f"{w['category']}: {w['message'][:90]}" for w in m["warnings"]],
                        "versions": m["versions"]})
        rows.append(row)
    sizes = {(r["model"], r["target"]): r.get("size_mb") for r in rows}
    targets = all_targets()
    for r in rows:  # an int8 artifact against the fp32 target it quantises
        target = targets.get(r["target"])
        base = sizes.get((r["model"], target.fp32)) if target and target.fp32 else None
        if base and r.get("size_mb"):
            r["smaller_than_fp32"] = round(base / r["size_mb"], 2)
    return rows


def _short_warnings(r: dict) -> str:
    kinds = sorted({w.split(":")[0] for w in r.get("warnings") or []})
    deprecations = [w for w in r.get("warnings") or [] if "deprecat" in w.lower()]
    text = "; ".join(d.split(": ", 1)[1][:60] for d in deprecations[:2])
    return (f"{len(r.get('warnings') or [])} ({', '.join(kinds)})" + (f" — {text}" if text else "")) \
        if r.get("warnings") else ""


def render_markdown(rows: list[dict]) -> str:
    table = []
    for r in rows:
        if r["status"] != "ok":
            table.append([r["model"], r["target"], r["status"], "", "", "", "", "", "", "", (r["error"] or "")[:160]])
            continue
        table.append([r["model"], r["target"], "ok", f"{r['size_mb']:.2f}",
                      f"{r['smaller_than_fp32']:.2f}×" if r.get("smaller_than_fp32") else "",
                      f"{r['worst_abs_dlogit']:.1e}", f"{r['argmax_agreement']:.4f}", f"{r['accuracy']:.4f}",
                      f"{r['fp32_accuracy']:.4f}", f"{r['export_seconds']:.1f}",
                      {True: "emb int8", False: "emb fp32", None: ""}[r.get("embedding_int8")] + " · " +
                      _short_warnings(r)])
    head = ["model", "target", "status", "MB", "vs fp32 size", "max |Δlogit|", "argmax agree", "dev acc",
            "fp32 acc", "export s", "notes · warnings"]
    shapes = next((list(r["parity_max_abs"]) for r in rows if r.get("parity_max_abs")), [])
    parity = [[r["model"], r["target"], *(f"{r['parity_max_abs'][s]:.1e}" for s in shapes)]
              for r in rows if r.get("parity_max_abs") and list(r["parity_max_abs"]) == shapes]
    return ("## Export targets\n\n" + tabulate(table, head, tablefmt="github") +
            "\n\n## Parity: max |Δlogit| vs eager fp32 at each input shape (batch × length)\n\n" +
            tabulate(parity, ["model", "target", *shapes], tablefmt="github") + "\n")


def render_csv(rows: list[dict]) -> str:
    keys = ["model", "kind", "target", "status", "size_mb", "smaller_than_fp32", "worst_abs_dlogit",
            "argmax_agreement", "accuracy", "fp32_accuracy", "accuracy_vs_fp32", "export_seconds", "max_length",
            "embedding_int8", "error"]
    buf = io.StringIO()
    w = csv.writer(buf)
    shapes = sorted({s for r in rows for s in (r.get("parity_max_abs") or {})})
    w.writerow(keys + [f"dlogit_{s}" for s in shapes])
    for r in rows:
        w.writerow([r.get(k) for k in keys] + [(r.get("parity_max_abs") or {}).get(s) for s in shapes])
    return buf.getvalue()


def _run_of(outcome: dict, last_run: str) -> str:
    """The run an outcome was exported from. Outcomes written before each recorded its run: the run folder its
    recorded command names (`distill-bench export RUN …`), else the folder's last run."""
    if "run" in outcome:
        return outcome["run"]
    words = shlex.split(outcome.get("command", ""))
    return words[2] if words[:2] == ["distill-bench", "export"] and len(words) > 2 else last_run


def conditions(export_dir: Path, rows: list[dict]) -> str:
    """The header of export.md: what was exported, where, with what, and under what load."""
    summary = read_json(export_dir / OUTCOMES)
    env = summary.get("env", {})
    loads = [o.get("load_avg_1m") for o in summary["outcomes"] if o.get("load_avg_1m") is not None]
    n = next((r["n"] for r in rows if r.get("n")), None)
    versions = next((r["versions"] for r in rows if r.get("versions")), {})
    commands = dict.fromkeys(o.get("command", "distill-bench export (command not recorded by this older export)")
                             for o in summary["outcomes"])
    runs = dict.fromkeys(Path(_run_of(o, summary["run"])).name for o in summary["outcomes"])
    lines = [f"# Export of run{'s' if len(runs) > 1 else ''} " + ", ".join(f"`{r}`" for r in runs), "",
             "- Made by " + " and ".join(f"`{c}`" for c in commands) +
             f" (artifacts under `{export_dir}`, not committed: the command regenerates them).",
             f"- Validation: logits vs eager fp32 at the parity shapes below; dev accuracy on n = {n} with a 95% "
             "bootstrap CI in export.json. Gates (an artifact failing one is rejected): " + _gate_text(rows) + ".",
             f"- Machine: {env.get('cpu', '?')}, {env.get('cores', '?')} cores; versions: " +
             ", ".join(f"{k} {v}" for k, v in versions.items() if v)]
    if loads:
        lines.append(f"- Export seconds are wall time of the build only, with a 1-min load average of "
                     f"{min(loads):.1f}–{max(loads):.1f} on the machine ({env.get('cores', '?')} cores; the export's "
                     "own threads count toward it): not a benchmark.")
    return "\n".join(lines) + "\n\n"


def _gate_text(rows: list[dict]) -> str:
    """The thresholds the artifacts were judged by, read from their gates (never typed in)."""
    order = {"parity": 0, "argmax_agreement": 1, "accuracy_ratio": 2}
    gates = sorted(((name, gate, r["kind"]) for r in rows for name, gate in (r.get("gates") or {}).items()),
                   key=lambda x: (order.get(x[0], 3), x[2] != "student"))
    seen: dict[str, set] = {}
    for name, gate, kind in gates:
        label = {"parity": "max |Δlogit| ≤", "argmax_agreement": f"{kind} int8 argmax agreement with fp32 ≥",
                 "accuracy_ratio": "int8 dev accuracy / fp32 ≥"}.get(name, f"{name}:")
        seen.setdefault(label, set()).add(gate["threshold"])
    if not seen:
        return "not recorded by this older export"
    return "; ".join(f"{k} {', '.join(f'{t:g}' for t in sorted(v))}" for k, v in seen.items())


def write_table(export_dir: str | Path, out: str | Path) -> list[dict]:
    export_dir = Path(export_dir)
    rows = collect(export_dir)
    out = Path(out)
    write_json(out / OUTCOMES, {"rows": rows})
    write_text(out / "export.md", conditions(export_dir, rows) + render_markdown(rows))
    write_text(out / "export.csv", render_csv(rows))
    return rows
