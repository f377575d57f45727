"""summary.json → summary.md, summary.csv, table.tex (booktabs) and pareto.png; pure functions of the JSON.

    distill-bench report results/sst2-bench

Here: the renderers and the paper deviations their captions state. The parts they assemble live beside it:
bench/headlines.py (the headline ratios at the top of summary.md), bench/tables.py (the efficiency and detail
tables), bench/pareto.py (the plot), bench/selection.py (the questions they ask of the records). Nothing here
measures anything.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bench.formats import EAGER
from bench.headlines import headlines
from bench.pareto import render_pareto
from bench.selection import max_threads
from bench.tables import detail_tables, paper_table, table
from distill.io import read_json, write_text

PAPER_HARDWARE = "a V100"  # the GPU of the paper's efficiency table (Tang et al. 2019)


def deviations(summary) -> str:
    """The ways this run differs from the paper's efficiency table, from the summary's own facts."""
    teacher = next((a for a in summary["artifacts"].values() if a["role"] == "teacher" and a["format"] == EAGER),
                   None)
    env = summary.get("env", {})
    parts = []
    if teacher:
        parts.append(f"the teacher is {teacher.get('architecture') or 'of an unrecorded architecture'} "
                     f"({teacher['params'] / 1e6:.1f}M params), not BERT-large")
    references = list(dict.fromkeys(a["model"] for a in summary["artifacts"].values() if a["role"] == "reference"))
    if references:
        parts.append(f"{'/'.join(references)} rows are random-weight shapes timed for speed only")
    gpu = f"GPU {env['gpu']}" if env.get("gpu") else "no GPU"
    parts += ["accuracy is on the dev set, not test" if not summary["conditions"].get("protocol", "").startswith(
                  "dev-split") else f"data protocol: {summary['conditions']['protocol']}",
              f"hardware (env.json) is {env.get('cpu') or 'a CPU of unrecorded model'} with "
              f"{env.get('cores', '?')} cores and {gpu}, not {PAPER_HARDWARE}",
              f"inputs are real dev text packed to {summary['conditions']['seq_len']} tokens per "
              f"{'sentence of each pair' if summary['conditions'].get('pair') else 'row'}"]
    return "; ".join(parts)


def render_markdown(summary) -> str:
    env, cond = summary.get("env", {}), summary["conditions"]
    lines = [f"# Benchmark `{summary['run_id']}` ({summary['task']})", ""]
    if (summary.get("load") or {}).get("overloaded"):
        lines += [f"> **Overloaded machine**: {_load_line(summary)} Every figure below was measured beside "
                  "other work; do not publish them.", ""]
    lines += ["## Headline figures (ratios from this one run)", ""]
    for h in headlines(summary):
        mark = {True: "met", False: "**not met**", None: "not measured"}[h["met"]]
        how = f"; {h['how']}" if h.get("how") else ""
        lines.append(f"- {h['name']}: **{h['text']}** (target {h['target_text']}: {mark}; rows: "
                     f"{', '.join(h['rows'])}{how})")
    git = env.get("git") or {}
    lengths = "; ".join(f"{d.get('model')}: mean {d.get('mean')}, p50 {d.get('p50')}, p90 {d.get('p90')}, "
                        f"max {d.get('max')}" for d in cond["dev_lengths"])
    lines += ["", "## Conditions", "",
              f"- Run folder `{summary['run_dir']}`; {env.get('utc', '?')} UTC; git {git.get('sha', '?')}"
              f"{' (dirty)' if git.get('dirty') else ''}.",
              f"- Machine: {env.get('cpu', '?')}, {env.get('cores', '?')} cores, {env.get('ram_gb', '?')} GB RAM, "
              f"GPU: {env.get('gpu') or 'none'}; {env.get('os', '?')}. Full versions in env.json.",
              f"- Inputs: {cond['inputs']}; seq_len {cond['seq_len']}. Natural dev lengths (tokens) — {lengths}.",
              f"- Threads {cond['threads']}{_pin_note(cond)}; batch sizes {cond['batch_sizes']} (references "
              f"{cond['reference_batch_sizes']}); at least {cond['min_rounds']} rounds at batch 1 and "
              f"{cond['min_rounds_offline']} above, and at least {cond['min_time_s']} s timed, after warm-up.",
              f"- Accuracy pass: {cond['dev_n']} dev sentences, 95% bootstrap CI; agreement = argmax agreement "
              "with the same model's eager fp32 logits.",
              f"- {_loadgen_line(cond, summary['records'])}",
              f"- Intervals: every latency percentile has its 95% order-statistic interval; headline ratios carry "
              f"a 95% paired block bootstrap interval when measured interleaved "
              f"({cond.get('interleave_blocks', 0)} blocks).",
              f"- Machine load: {_load_line(summary)}",
              f"- Deviations from the paper: {deviations(summary)}.", ""]
    headers, rows = paper_table(summary)
    lines += ["## Efficiency table (paper columns)", "",
              f"p90 at batch 1 and 1 thread; samples/s at the largest batch and {max_threads(summary)} threads; "
              "speed-up and compression against the BERT-large shape (size: fp32 weights).", "",
              table(headers, rows), ""]
    flag = " — measured on an overloaded machine" if (summary.get("load") or {}).get("overloaded") else ""
    for title, (h, r) in detail_tables(summary).items():
        lines += [f"## {title}{flag}", "", table(h, r), ""]
    for key, title in (("skipped", "Skipped (with reason)"), ("failed", "Failed")):
        if summary.get(key):
            lines += [f"## {title}", ""] + [f"- `{s['test']}`: {s.get('reason') or s.get('error', '')[:300]}"
                                            for s in summary[key]] + [""]
    return "\n".join(lines)


def _pin_note(cond: dict) -> str:
    core = cond.get("pin_core")
    return "" if core is None else f" (each 1-thread measurement bound to core {core})"


def _loadgen_line(cond: dict, records: list[dict]) -> str:
    lg = cond.get("loadgen")
    if not cond.get("scenarios") or not lg:
        return "LoadGen scenarios: none run."
    runs = [r["loadgen"] for r in records if r["scenario"].startswith("loadgen-")]
    invalid = sum(not r["valid"] for r in runs)
    mode = ("compliant: mlperf.conf's own minimums" if lg["mode"] == "compliant" else
            f"quick: minimum {lg['min_duration_s']} s and {lg['min_queries']} queries per run, NOT MLPerf-compliant")
    return (f"LoadGen scenarios {', '.join(cond['scenarios'])} ({mode}); server p99 bound "
            f"{lg['server_p99_ms']} ms; {len(runs) - invalid} of {len(runs)} runs VALID"
            + (f", **{invalid} INVALID** (reasons in the LoadGen table)." if invalid else "."))


def _load_line(summary) -> str:
    load = summary.get("load")
    if not load:
        return "not recorded."
    flag = "**above the core count: overloaded**" if load["overloaded"] else "within the core count"
    return (f"1-minute load average {load['load_1min_before']} before, {load['load_1min_after']} after, "
            f"{load['cores']} cores ({flag}).")


def render_latex(summary) -> str:
    headers, rows = paper_table(summary)
    # tabulate escapes LaTeX specials in cells; the two symbols of the header are swapped in afterwards
    body = table(headers, rows, "latex_booktabs").replace("×", r"$\times$").replace("Δ", r"$\Delta$")
    caption = (f"Efficiency on {summary['task'].upper()} (run \\texttt{{{summary['run_id']}}}, "
               f"{summary.get('env', {}).get('cpu', 'CPU')}). Δ vs teacher in accuracy points. "
               f"Deviations: {deviations(summary)}."
               + (" Measured on an overloaded machine (load average above the core count)."
                  if (summary.get("load") or {}).get("overloaded") else ""))
    return "\n".join([r"\begin{table}[t]", r"\centering", r"\small", body,
                      "\\caption{" + _latex_escape(caption).replace("Δ", r"$\Delta$") + "}",
                      f"\\label{{tab:{summary['run_id']}}}",
                      r"\end{table}", ""])


def _latex_escape(text: str) -> str:
    return text.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def render_csv(summary) -> str:
    buf = io.StringIO()
    overloaded = bool((summary.get("load") or {}).get("overloaded"))
    flat = [{**_flatten(r), "machine_overloaded": overloaded} for r in summary["records"]]
    keys = list(dict.fromkeys(k for r in flat for k in r))
    writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return buf.getvalue()


def _flatten(record: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in record.items():
        if k == "settings":  # LoadGen's effective settings: in summary.json and its own logs
            continue
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def render(folder: str | Path) -> list[Path]:
    """Write every rendering of folder/summary.json next to it; returns the paths written."""
    folder = Path(folder)
    summary = read_json(folder / "summary.json")
    write_text(folder / "summary.md", render_markdown(summary))
    write_text(folder / "summary.csv", render_csv(summary))
    write_text(folder / "table.tex", render_latex(summary))
    tmp = folder / ".pareto.tmp.png"
    render_pareto(summary, tmp)
    tmp.replace(folder / "pareto.png")
    return [folder / n for n in ("summary.md", "summary.csv", "table.tex", "pareto.png")]
