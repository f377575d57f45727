"""The tables of a bench summary: the paper's efficiency columns and the per-scenario detail tables, as
(headers, rows), and how a table is formatted (tabulate). Pure functions of summary.json."""

from __future__ import annotations

from tabulate import tabulate

from bench.formats import EAGER
from bench.selection import best_throughput, is_fp32, limit_fraction, matmul_peak, max_threads, teacher_accuracy, timed


def paper_table(summary) -> tuple[list[str], list[list]]:
    """The paper's efficiency columns, one row per artifact (students, teacher, references)."""
    threads = max_threads(summary)
    large = best_throughput(summary, model="bert-large", format=EAGER, threads=threads)
    large_size = summary["artifacts"].get(f"bert-large/{EAGER}", {}).get("size_mb")
    teacher = teacher_accuracy(summary)
    batch = max(summary["conditions"]["batch_sizes"])
    headers = ["Model", "Format", "Params (M)", "Size (MB)", "Acc", "Δ vs teacher", "p90 @bs1 (ms)",
               f"samples/s @bs{batch}", "speed-up ×", "compression ×"]
    rows = []
    for a in summary["artifacts"].values():
        p90 = next((r["latency_ms"]["p90"] for r in timed(summary, artifact=a["id"], threads=1, batch_size=1)), None)
        best = best_throughput(summary, artifact=a["id"], threads=threads)
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


def table(headers, rows, fmt="github") -> str:
    return tabulate(rows, headers=headers, tablefmt=fmt, missingval="–", disable_numparse=True,
                    floatfmt="g") if rows else "(none)"


def _server_target(lg: dict) -> str | None:
    """A server record's confirmed target QPS beside the peak LoadGen's search found (records made before the
    confirming run have neither)."""
    trail = lg.get("server_search")
    if not trail:
        return None
    peak = "none found" if trail["peak_qps"] is None else f"{trail['peak_qps']:.1f}"
    return f"{_fmt(lg.get('target_qps'), 1)} ({peak})"


def _fmt(v, digits=3):
    if v is None:
        return None
    return f"{v:,.{digits}f}" if isinstance(v, float) else str(v)


def _with_ci(latency: dict, key: str) -> str | None:
    """'0.412 [0.405, 0.420]': a percentile with its order-statistic interval ('open' where too few calls)."""
    if latency.get(key) is None:
        return None
    ci = (latency.get("ci95") or {}).get(key)
    if not ci:
        return _fmt(latency[key])
    return f"{latency[key]:.3f} [{'open' if ci[0] is None else f'{ci[0]:.3f}'}, " \
           f"{'open' if ci[1] is None else f'{ci[1]:.3f}'}]"


def detail_tables(summary) -> dict[str, tuple[list[str], list[list]]]:
    peak = {t: matmul_peak(summary, t) for t in summary["conditions"]["threads"]}
    cpu = summary.get("env", {}).get("cpu") or "CPU model not recorded"
    single = [[r["artifact"], r["device"], r["threads"], *[_with_ci(r["latency_ms"], k) for k in
               ("p50", "p90", "p95", "p99")], _fmt(r["latency_ms"]["mean"]), _fmt(r["latency_ms"]["cv_pct"], 2),
               r["rounds"],
               _fmt(limit_fraction(summary, r), 2), "yes" if r["valid"] else "NO",
               "yes (1t)" if r.get("mobile_class") else ""]
              for r in summary["records"] if r["scenario"] == "single-stream"]
    offline = [[r["artifact"], r["device"], r["threads"], r["batch_size"], _fmt(r["throughput_sps"], 1),
                _fmt(r["latency_ms"]["p50"]), _fmt(r.get("achieved_gflops"), 2),
                _fmt(r["achieved_gflops"] / peak[r["threads"]], 3) if r.get("achieved_gflops") and peak.get(
                    r["threads"]) and is_fp32(r["format"]) else None, _fmt(limit_fraction(summary, r), 2), r["rounds"],
                "yes" if r["valid"] else "NO"]
               for r in summary["records"] if r["scenario"] == "offline"]
    loadgen = [[r["artifact"], r["scenario"].removeprefix("loadgen-"), r["threads"], r["batch_size"],
                r["loadgen"]["result"] + (f" ({'; '.join(r['loadgen']['invalid_reasons'])})"
                                          if r["loadgen"]["invalid_reasons"] else ""),
                _fmt(r["latency_ms"].get("p50")), _fmt(r["latency_ms"].get("p90")), _fmt(r["latency_ms"].get("p99")),
                ", ".join(f"{k} {v:.3f}" for k, v in r["loadgen"]["early_stopping"]["estimates_ms"].items()) or None,
                _fmt(r["throughput_sps"], 1), _server_target(r["loadgen"]), r["loadgen"]["query_count"],
                _fmt(r["loadgen"]["settings"].get("min_duration_ms", 0) / 1000, 1),
                "MLPerf minimums" if r["loadgen"]["compliant"] else "quick: NOT MLPerf-compliant"]
               for r in summary["records"] if r["scenario"].startswith("loadgen-")]
    e2e = [[r["artifact"], r["device"], r["threads"], _with_ci(r["latency_ms"], "p50"),
            _with_ci(r["latency_ms"], "p90"),
            _with_ci(r["model_only_ms"], "p50"), _with_ci(r["model_only_ms"], "p90"),
            _fmt(None if r.get("tokenize_share") is None else 100 * r["tokenize_share"], 1), r["rounds"],
            "yes" if r["valid"] else "NO"]
           for r in summary["records"] if r["scenario"] == "end-to-end"]
    arts = summary["artifacts"].values()
    accuracy = [[a["id"], _fmt(a["accuracy"], 4), "[{:.4f}, {:.4f}]".format(*a["ci95"]), _fmt(a.get("agreement"), 4),
                 _fmt(a.get("accuracy_ratio"), 4),
                 f"{a['max_abs_logit_diff']:.2e}" if a.get("max_abs_logit_diff") is not None else None]
                for a in arts if a.get("accuracy") is not None]
    footprint = [[a["id"], a.get("params"), a.get("params_no_embedding"), _fmt(a.get("size_mb"), 2), a.get("size_note"),
                  _fmt(a.get("peak_rss_mb_bs1"), 1), _fmt(a.get("peak_rss_mb_bsmax"), 1), _fmt(a.get("load_s"), 3),
                  _fmt(a.get("first_inference_ms"), 2)] for a in arts]
    mobile = [row for row in single if row[-1]]
    return {
        "Single-stream (batch 1): latency per call, ms": (
            ["artifact", "device", "threads", "p50 [95% CI]", "p90 [95% CI]", "p95 [95% CI]", "p99 [95% CI]",
             "mean", "CV %", "rounds", "of limit", "valid", "mobile-class"], single),
        "End-to-end (text → label, batch 1, natural dev sentences) beside model-only on the same rows, ms": (
            ["artifact", "device", "threads", "end-to-end p50", "end-to-end p90", "model-only p50", "model-only p90",
             "tokenise + post share of p50 %", "rounds", "valid"], e2e),
        f"Mobile-class: phone formats on this machine's CPU ({cpu}) at 1 thread, batch 1 (not phone latency)": (
            ["artifact", "device", "threads", "p50 [95% CI]", "p90 [95% CI]", "p95 [95% CI]", "p99 [95% CI]",
             "mean", "CV %", "rounds", "of limit", "valid", "mobile-class"], mobile),
        "Offline (large batch): throughput": (
            ["artifact", "device", "threads", "batch", "samples/s", "p50 ms/batch", "GFLOP/s", "of fp32 matmul peak",
             "of limit", "rounds", "valid"], offline),
        "MLPerf LoadGen scenarios (logs under loadgen/; server: LoadGen's peak-QPS search under the p99 bound, "
        "then PerformanceOnly runs from that peak down in 10% steps until one is VALID)": (
            ["artifact", "scenario", "threads", "batch", "LoadGen result", "p50 ms", "p90 ms", "p99 ms",
             "early-stopping estimates ms", "samples/s", "server target QPS (search peak)", "queries",
             "min duration s", "mode"], loadgen),
        "Accuracy pass (dev set, natural lengths)": (
            ["artifact", "accuracy", "95% CI", "agreement with fp32", "ratio to fp32", "max |Δlogit|"], accuracy),
        "Footprint (fresh process, 1 thread)": (
            ["artifact", "params", "params w/o embeddings", "size MB", "size is", "peak RSS MB bs1",
             "peak RSS MB max bs", "load s", "first inference ms"], footprint),
    }
