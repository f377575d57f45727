"""summary.json → summary.md, summary.csv, table.tex (booktabs) and pareto.png; pure functions of the JSON.

    distill-bench report results/sst2-bench

The headline section at the top of summary.md computes the issue's ratios from records of the same run;
each names the rows it used, its target and whether it was met. Nothing here measures anything.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from distill.io import read_json, write_text

TIMED = ("single-stream", "offline")
FP32_FORMATS = ("torch", "torchscript", "pt2", "onnx", "ort-mobile", "executorch", "litert")  # vs the fp32 peak


PAPER_HARDWARE = "a V100"  # the GPU of the paper's efficiency table (Tang et al. 2019)


def deviations(summary) -> str:
    """The ways this run differs from the paper's efficiency table, from the summary's own facts."""
    teacher = next((a for a in summary["artifacts"].values() if a["role"] == "teacher" and a["format"] == "torch"),
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


# -- selection helpers ------------------------------------------------------------------------------------
def _timed(summary, **match):
    return [r for r in summary["records"] if r["scenario"] in TIMED and r.get("device", "cpu") == "cpu"
            and all(r.get(k) == v for k, v in match.items())]


def _best_throughput(summary, **match):
    rows = _timed(summary, **match)
    return max(rows, key=lambda r: r["throughput_sps"]) if rows else None


def _max_threads(summary) -> int:
    return max((r["threads"] for r in _timed(summary)), default=1)


def best_student(summary) -> str | None:
    students = {a["model"]: a.get("accuracy") or 0 for a in summary["artifacts"].values()
                if a["role"] == "student" and a["format"] == "torch"}
    return max(students, key=students.get) if students else None


def teacher_accuracy(summary) -> float | None:
    return next((a.get("accuracy") for a in summary["artifacts"].values()
                 if a["role"] == "teacher" and a["format"] == "torch"), None)


def _peak(summary, threads: int) -> float | None:
    entry = summary["machine"].get(f"matmul_fp32_cpu_{threads}t")
    return entry["gflops"] if entry else None


# -- headline figures -------------------------------------------------------------------------------------
def headlines(summary) -> list[dict]:
    out = []
    student, threads = best_student(summary), _max_threads(summary)
    large = _best_throughput(summary, model="bert-large", format="torch", threads=threads)
    eager = _best_throughput(summary, model=student, format="torch", threads=threads) if student else None

    def add(key, name, value, target, rows, higher=True, fmt="{:.1f}×"):
        met = None if value is None else (value >= target if higher else value <= target)
        out.append({"key": key, "name": name, "value": value, "target": target, "met": met, "rows": rows,
                    "text": "not measured" if value is None else fmt.format(value),
                    "target_text": ("≥ " if higher else "≤ ") + fmt.format(target)})

    if eager and large:
        add("student_vs_bert_large",
            f"student eager fp32 vs BERT-large eager fp32, samples/s at best batch ({threads} threads)",
            eager["throughput_sps"] / large["throughput_sps"], 434, [_row_id(eager), _row_id(large)])
        best = max((r for r in _timed(summary, model=student, threads=threads)), key=lambda r: r["throughput_sps"])
        add("artifact_vs_bert_large",
            f"best student artifact ({best['format']}) vs BERT-large eager fp32, samples/s ({threads} threads)",
            best["throughput_sps"] / large["throughput_sps"], 1000, [_row_id(best), _row_id(large)])
    else:
        add("student_vs_bert_large", "student vs BERT-large samples/s", None, 434, [])
    single = [r for r in _timed(summary, model=student, threads=1, batch_size=1)] if student else []
    base = next((r for r in single if r["format"] == "torch"), None)
    fastest = min(single, key=lambda r: r["latency_ms"]["p50"]) if single else None
    cv_rows = []
    if base and fastest:
        add("artifact_vs_eager_p50",
            f"best student artifact ({fastest['format']}) vs student eager fp32, p50 at batch 1, 1 thread "
            "(ratio of p50s)", base["latency_ms"]["p50"] / fastest["latency_ms"]["p50"], 5,
            [_row_id(base), _row_id(fastest)])
        cv_rows = [base, fastest]
    fp32 = [r for r in _timed(summary, model=student, threads=threads) if r["format"] in FP32_FORMATS
            and r.get("achieved_gflops")] if student else []
    peak = _peak(summary, threads)
    if fp32 and peak:
        top = max(fp32, key=lambda r: r["achieved_gflops"])
        add("gflops_of_peak",
            f"achieved GFLOP/s of the best fp32 student artifact ({top['format']}, batch {top['batch_size']}) "
            f"as a fraction of the fp32 matmul peak ({peak:.0f} GFLOP/s, {threads} threads)",
            top["achieved_gflops"] / peak, 0.85, [_row_id(top)], fmt="{:.2f}")
    lossy = [a for a in summary["artifacts"].values() if a.get("lossy") and a.get("accuracy_ratio") is not None]
    if lossy:
        worst = min(lossy, key=lambda a: a["accuracy_ratio"])
        add("int8_accuracy_ratio", f"every int8 artifact keeps ≥ 99% of its fp32 dev accuracy (worst: {worst['id']})",
            worst["accuracy_ratio"], 0.99, [a["id"] for a in lossy], fmt="{:.4f}")
    if cv_rows:
        worst = max(cv_rows, key=lambda r: r["latency_ms"]["cv_pct"])
        add("batch1_cv", "batch-1 CV of the headline rows (worst)", worst["latency_ms"]["cv_pct"], 3.0,
            [_row_id(r) for r in cv_rows], higher=False, fmt="{:.2f}%")
    return out


def _row_id(r) -> str:
    return f"{r['artifact']}-{r.get('device', 'cpu')}-{r['threads']}t-bs{r['batch_size']}"


# -- tables -----------------------------------------------------------------------------------------------
def paper_table(summary) -> tuple[list[str], list[list]]:
    """The paper's efficiency columns, one row per artifact (students, teacher, references)."""
    threads = _max_threads(summary)
    large = _best_throughput(summary, model="bert-large", format="torch", threads=threads)
    large_size = summary["artifacts"].get("bert-large/torch", {}).get("size_mb")
    teacher = teacher_accuracy(summary)
    batch = max(summary["conditions"]["batch_sizes"])
    headers = ["Model", "Format", "Params (M)", "Size (MB)", "Acc", "Δ vs teacher", "p90 @bs1 (ms)",
               f"samples/s @bs{batch}", "speed-up ×", "compression ×"]
    rows = []
    for a in summary["artifacts"].values():
        p90 = next((r["latency_ms"]["p90"] for r in _timed(summary, artifact=a["id"], threads=1, batch_size=1)), None)
        best = _best_throughput(summary, artifact=a["id"], threads=threads)
        sps = best["throughput_sps"] if best else None
        acc = a.get("accuracy")
        rows.append([a["model"], a["format"], _num(a.get("params"), 1e-6, 2), _num(a.get("size_mb"), 1, 2),
                     _num(acc, 1, 4), _num(None if acc is None or teacher is None else 100 * (acc - teacher), 1, 2),
                     _num(p90, 1, 3),
                     None if sps is None else (f"{sps:,.0f}" + ("" if best["batch_size"] == batch
                                                               else f" (bs{best['batch_size']})")),
                     _num(None if not (sps and large) else sps / large["throughput_sps"], 1, 1),
                     _num(None if not (large_size and a.get("size_mb")) else large_size / a["size_mb"], 1, 1)])
    return headers, rows


def _num(v, scale, digits):
    return None if v is None else round(v * scale, digits)


def _table(headers, rows, fmt="github") -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt=fmt, missingval="–", disable_numparse=True,
                    floatfmt="g") if rows else "(none)"


def _fmt(v, digits=3):
    if v is None:
        return None
    return f"{v:,.{digits}f}" if isinstance(v, float) else str(v)


def detail_tables(summary) -> dict[str, tuple[list[str], list[list]]]:
    peak = {t: _peak(summary, t) for t in summary["conditions"]["threads"]}
    cpu = summary.get("env", {}).get("cpu") or "CPU model not recorded"
    single = [[r["artifact"], r["device"], r["threads"], *[_fmt(r["latency_ms"][k]) for k in
               ("p50", "p90", "p95", "p99", "mean")], _fmt(r["latency_ms"]["cv_pct"], 2), r["rounds"],
               "yes" if r["valid"] else "NO", "yes (1t)" if r.get("mobile_class") else ""]
              for r in summary["records"] if r["scenario"] == "single-stream"]
    offline = [[r["artifact"], r["device"], r["threads"], r["batch_size"], _fmt(r["throughput_sps"], 1),
                _fmt(r["latency_ms"]["p50"]), _fmt(r.get("achieved_gflops"), 2),
                _fmt(r["achieved_gflops"] / peak[r["threads"]], 3) if r.get("achieved_gflops") and peak.get(
                    r["threads"]) and r["format"] in FP32_FORMATS else None, r["rounds"],
                "yes" if r["valid"] else "NO"]
               for r in summary["records"] if r["scenario"] == "offline"]
    server = [[r["artifact"], r["device"], r["threads"], _fmt(r["server"]["target_qps"], 1),
               _fmt(r["server"].get("offered_qps"), 1), _fmt(r["server"]["achieved_qps"], 1),
               _fmt(r["server"]["p99_ms"]), r["server"]["dropped"],
               r["server"]["late"], _fmt(r["server"]["capacity_qps"], 1), _fmt(r["server"]["max_qps_under_bound"], 1)]
              for r in summary["records"] if r["scenario"] == "server"]
    arts = summary["artifacts"].values()
    accuracy = [[a["id"], _fmt(a["accuracy"], 4), "[{:.4f}, {:.4f}]".format(*a["ci95"]), _fmt(a.get("agreement"), 4),
                 _fmt(a.get("accuracy_ratio"), 4), f"{a['max_abs_logit_diff']:.2e}"]
                for a in arts if a.get("accuracy") is not None]
    footprint = [[a["id"], a.get("params"), a.get("params_no_embedding"), _fmt(a.get("size_mb"), 2), a.get("size_note"),
                  _fmt(a.get("peak_rss_mb_bs1"), 1), _fmt(a.get("peak_rss_mb_bsmax"), 1), _fmt(a.get("load_s"), 3),
                  _fmt(a.get("first_inference_ms"), 2)] for a in arts]
    mobile = [row for row in single if row[-1]]
    return {
        "Single-stream (batch 1): latency per call, ms": (
            ["artifact", "device", "threads", "p50", "p90", "p95", "p99", "mean", "CV %", "rounds", "valid",
             "mobile-class"], single),
        f"Mobile-class: phone formats on this machine's CPU ({cpu}) at 1 thread, batch 1 (not phone latency)": (
            ["artifact", "device", "threads", "p50", "p90", "p95", "p99", "mean", "CV %", "rounds", "valid",
             "mobile-class"], mobile),
        "Offline (large batch): throughput": (
            ["artifact", "device", "threads", "batch", "samples/s", "p50 ms/batch", "GFLOP/s", "of fp32 matmul peak",
             "rounds", "valid"], offline),
        "Server: Poisson arrivals, batch 1, one worker": (
            ["artifact", "device", "threads", "target QPS", "offered QPS", "achieved QPS", "p99 ms", "dropped", "late",
             "capacity QPS", "max QPS with p99 ≤ bound"], server),
        "Accuracy pass (dev set, natural lengths)": (
            ["artifact", "accuracy", "95% CI", "agreement with fp32", "ratio to fp32", "max |Δlogit|"], accuracy),
        "Footprint (fresh process, 1 thread)": (
            ["artifact", "params", "params w/o embeddings", "size MB", "size is", "peak RSS MB bs1",
             "peak RSS MB max bs", "load s", "first inference ms"], footprint),
    }


# -- renderers --------------------------------------------------------------------------------------------
def render_markdown(summary) -> str:
    env, cond = summary.get("env", {}), summary["conditions"]
    lines = [f"# Benchmark `{summary['run_id']}` ({summary['task']})", ""]
    lines += ["## Headline figures (ratios from this one run)", ""]
    for h in headlines(summary):
        mark = {True: "met", False: "**not met**", None: "not measured"}[h["met"]]
        lines.append(f"- {h['name']}: **{h['text']}** (target {h['target_text']}: {mark}; rows: "
                     f"{', '.join(h['rows'])})")
    git = env.get("git") or {}
    lengths = "; ".join(f"{d.get('model')}: mean {d.get('mean')}, p50 {d.get('p50')}, p90 {d.get('p90')}, "
                        f"max {d.get('max')}" for d in cond["dev_lengths"])
    lines += ["", "## Conditions", "",
              f"- Run folder `{summary['run_dir']}`; {env.get('utc', '?')} UTC; git {git.get('sha', '?')}"
              f"{' (dirty)' if git.get('dirty') else ''}.",
              f"- Machine: {env.get('cpu', '?')}, {env.get('cores', '?')} cores, {env.get('ram_gb', '?')} GB RAM, "
              f"GPU: {env.get('gpu') or 'none'}; {env.get('os', '?')}. Full versions in env.json.",
              f"- Inputs: {cond['inputs']}; seq_len {cond['seq_len']}. Natural dev lengths (tokens) — {lengths}.",
              f"- Threads {cond['threads']}; batch sizes {cond['batch_sizes']} (references "
              f"{cond['reference_batch_sizes']}); at least {cond['min_rounds']} rounds at batch 1 and "
              f"{cond['min_rounds_offline']} above, and at least {cond['min_time_s']} s timed, after warm-up.",
              f"- Accuracy pass: {cond['dev_n']} dev sentences, 95% bootstrap CI; agreement = argmax agreement "
              "with the same model's eager fp32 logits.",
              f"- Server: {cond['server']['qps']} QPS Poisson, p99 bound {cond['server']['p99_bound_ms']} ms, "
              f"queue {cond['server']['queue_limit']}, {cond['server']['seconds_per_level']} s per level.",
              f"- Deviations from the paper: {deviations(summary)}.", ""]
    headers, rows = paper_table(summary)
    lines += ["## Efficiency table (paper columns)", "",
              f"p90 at batch 1 and 1 thread; samples/s at the largest batch and {_max_threads(summary)} threads; "
              "speed-up and compression against the BERT-large shape (size: fp32 weights).", "",
              _table(headers, rows), ""]
    for title, (h, r) in detail_tables(summary).items():
        lines += [f"## {title}", "", _table(h, r), ""]
    for key, title in (("skipped", "Skipped (with reason)"), ("failed", "Failed")):
        if summary.get(key):
            lines += [f"## {title}", ""] + [f"- `{s['test']}`: {s.get('reason') or s.get('error', '')[:300]}"
                                            for s in summary[key]] + [""]
    return "\n".join(lines)


def render_latex(summary) -> str:
    headers, rows = paper_table(summary)
    # tabulate escapes LaTeX specials in cells; the two symbols of the header are swapped in afterwards
    body = _table(headers, rows, "latex_booktabs").replace("×", r"$\times$").replace("Δ", r"$\Delta$")
    caption = (f"Efficiency on {summary['task'].upper()} (run \\texttt{{{summary['run_id']}}}, "
               f"{summary.get('env', {}).get('cpu', 'CPU')}). Δ vs teacher in accuracy points. "
               f"Deviations: {deviations(summary)}.")
    return "\n".join([r"\begin{table}[t]", r"\centering", r"\small", body,
                      "\\caption{" + _latex_escape(caption).replace("Δ", r"$\Delta$") + "}",
                      f"\\label{{tab:{summary['run_id']}}}",
                      r"\end{table}", ""])


def _latex_escape(text: str) -> str:
    return text.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def render_csv(summary) -> str:
    buf = io.StringIO()
    flat = [_flatten(r) for r in summary["records"]]
    keys = list(dict.fromkeys(k for r in flat for k in r))
    writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return buf.getvalue()


def _flatten(record: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in record.items():
        if k == "levels":
            continue
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def render_pareto(summary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = []
    for a in summary["artifacts"].values():
        row = next((r for r in _timed(summary, artifact=a["id"], threads=1, batch_size=1)), None)
        if row and a.get("accuracy") is not None:
            points.append((row["latency_ms"]["p90"], a["accuracy"], a["id"], a["role"]))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = {"student": "tab:blue", "teacher": "tab:red"}
    for x, y, label, role in points:
        ax.scatter(x, y, color=colors.get(role, "gray"), s=18)
        ax.annotate(label.split("/")[-1] if role == "student" else label, (x, y), fontsize=6,
                    xytext=(3, 2), textcoords="offset points")
    front, best = [], -1.0
    for x, y, *_ in sorted(points):
        if y > best:
            front.append((x, y))
            best = y
    if front:
        ax.plot(*zip(*front), color="black", lw=0.8, ls="--", label="Pareto front")
        ax.legend(fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("p90 latency, batch 1, 1 thread (ms, log scale)")
    ax.set_ylabel("dev accuracy")
    ax.set_title(f"{summary['run_id']}: accuracy vs latency ({summary.get('env', {}).get('cpu', '')})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


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
