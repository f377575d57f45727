"""The headline figures at the top of summary.md: the speed ratios, each from records of the same run,
naming the rows it used, its target and whether it was met. Nothing here measures anything."""

from __future__ import annotations

from bench.formats import EAGER
from bench.selection import best_student, best_throughput, is_fp32, limit_row, matmul_peak, max_threads, row_id, timed


def ratio_pairs(summary) -> list[dict]:
    """The headline speed-ups as (numerator row, denominator row, figure): which two timed records each ratio
    divides. The interleaved measurement (bench/test_interleaved.py) times exactly these rows again, block
    by block, for the ratio's bootstrap interval; headlines() reads the ratio from there when it ran."""
    out = []
    student, threads = best_student(summary), max_threads(summary)
    if not student:
        return out
    large = best_throughput(summary, model="bert-large", format=EAGER, threads=threads)
    eager = best_throughput(summary, model=student, format=EAGER, threads=threads)

    def add(key, name, num, den, figure, target, higher=True, fmt="{:.1f}×"):
        out.append({"key": key, "name": name, "num": num, "den": den, "figure": figure, "target": target,
                    "higher": higher, "fmt": fmt})

    if eager and large:
        add("student_vs_bert_large",
            f"student eager fp32 vs BERT-large eager fp32, samples/s at best batch ({threads} threads)",
            eager, large, "samples_per_s", 434)
        best = max(timed(summary, model=student, threads=threads), key=lambda r: r["throughput_sps"])
        add("artifact_vs_bert_large",
            f"best student artifact ({best['format']}) vs BERT-large eager fp32, samples/s ({threads} threads)",
            best, large, "samples_per_s", 1000)
    single = timed(summary, model=student, threads=1, batch_size=1)
    base = next((r for r in single if r["format"] == EAGER), None)
    fastest = min(single, key=lambda r: r["latency_ms"]["p50"]) if single else None
    if base and fastest:
        add("artifact_vs_eager_p50",
            f"best student artifact ({fastest['format']}) vs student eager fp32, p50 at batch 1, 1 thread "
            "(ratio of p50s)", base, fastest, "p50_ms", 5)
        limit = limit_row(summary, fastest)
        if limit:
            add("artifact_vs_recurrence_limit",
                f"best student artifact ({fastest['format']}) p50 at batch 1, 1 thread, over its runtime's "
                "fp32 recurrence limit (the same LSTM sizes with no input work, bench/limit.py; an int8 W_hh can "
                "run below it)", fastest, limit, "p50_ms", 1.5, higher=False, fmt="{:.2f}×")
    return out


def _figure(row, figure: str) -> float:
    return row["throughput_sps"] if figure == "samples_per_s" else row["latency_ms"]["p50"]


def headlines(summary) -> list[dict]:
    out = []
    student, threads = best_student(summary), max_threads(summary)

    def add(key, name, value, target, rows, higher=True, fmt="{:.1f}×", ci=None, how=None):
        met = None if value is None else (value >= target if higher else value <= target)
        text = "not measured" if value is None else fmt.format(value)
        if ci:
            text += " [" + ", ".join(fmt.format(v).rstrip("×") for v in ci) + "]"
        out.append({"key": key, "name": name, "value": value, "target": target, "met": met, "rows": rows,
                    "text": text, "target_text": ("≥ " if higher else "≤ ") + fmt.format(target), "ci95": ci,
                    "how": how})

    interleaved = (summary.get("interleaved") or {}).get("ratios", {})
    pairs = ratio_pairs(summary)
    for p in pairs:
        rows = [row_id(p["num"]), row_id(p["den"])]
        again = interleaved.get(p["key"])
        if again and again["rows"] == rows:
            add(p["key"], p["name"], again["value"], p["target"], rows, p["higher"], p["fmt"], again["ci95"],
                f"interleaved blocks ({summary['interleaved']['blocks']}), 95% paired block bootstrap")
        else:
            add(p["key"], p["name"], _figure(p["num"], p["figure"]) / _figure(p["den"], p["figure"]),
                p["target"], rows, p["higher"], p["fmt"], None, "separate tests, no interval (not interleaved)")
    if not any(p["key"] == "student_vs_bert_large" for p in pairs):
        add("student_vs_bert_large", "student vs BERT-large samples/s", None, 434, [])
    cv_rows = [p[k] for p in pairs if p["key"] == "artifact_vs_eager_p50" for k in ("num", "den")]
    fp32 = [r for r in timed(summary, model=student, threads=threads) if is_fp32(r["format"])
            and r.get("achieved_gflops")] if student else []
    peak = matmul_peak(summary, threads)
    if fp32 and peak:
        top = max(fp32, key=lambda r: r["achieved_gflops"])
        add("gflops_of_peak",
            f"achieved GFLOP/s of the best fp32 student artifact ({top['format']}, batch {top['batch_size']}) "
            f"as a fraction of the fp32 matmul peak ({peak:.0f} GFLOP/s, {threads} threads)",
            top["achieved_gflops"] / peak, 0.85, [row_id(top)], fmt="{:.2f}")
    lossy = [a for a in summary["artifacts"].values() if a.get("lossy") and a.get("accuracy_ratio") is not None]
    if lossy:
        worst = min(lossy, key=lambda a: a["accuracy_ratio"])
        add("int8_accuracy_ratio", f"every int8 artifact keeps ≥ 99% of its fp32 dev accuracy (worst: {worst['id']})",
            worst["accuracy_ratio"], 0.99, [a["id"] for a in lossy], fmt="{:.4f}")
    if cv_rows:
        worst = max(cv_rows, key=lambda r: r["latency_ms"]["cv_pct"])
        add("batch1_cv", "batch-1 CV of the headline rows (worst)", worst["latency_ms"]["cv_pct"], 3.0,
            [row_id(r) for r in cv_rows], higher=False, fmt="{:.2f}%")
    return out
