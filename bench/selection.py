"""Questions asked of a bench summary.json (bench/session.py writes it): which records, which model, which
peak. Pure functions of the JSON, shared by the headline figures, the tables and the plot."""

from __future__ import annotations

from bench.formats import EAGER, LIMIT_FORMATS, LIMIT_SUFFIX, facts

TIMED = ("single-stream", "offline")


def timed(summary, **match):
    return [r for r in summary["records"] if r["scenario"] in TIMED and r.get("device", "cpu") == "cpu"
            and all(r.get(k) == v for k, v in match.items())]


# which record a batch-1 latency budget reads: text → label as an app calls it, or the model call alone
LATENCY_SCENARIO = {"end-to-end": "end-to-end", "model-only": "single-stream"}


def batch1(summary, artifact: str, latency: str = "model-only", threads: int = 1, device: str = "cpu"):
    """The batch-1 record of an artifact for a latency kind (LATENCY_SCENARIO), or None."""
    return next((r for r in summary["records"] if r["artifact"] == artifact and r["batch_size"] == 1
                 and r["scenario"] == LATENCY_SCENARIO[latency] and r["threads"] == threads
                 and r.get("device", "cpu") == device), None)


def best_throughput(summary, **match):
    rows = timed(summary, **match)
    return max(rows, key=lambda r: r["throughput_sps"]) if rows else None


def max_threads(summary) -> int:
    return max((r["threads"] for r in timed(summary)), default=1)


def best_student(summary) -> str | None:
    students = {a["model"]: a.get("accuracy") or 0 for a in summary["artifacts"].values()
                if a["role"] == "student" and a["format"] == EAGER}
    return max(students, key=students.get) if students else None


def teacher_accuracy(summary) -> float | None:
    return next((a.get("accuracy") for a in summary["artifacts"].values()
                 if a["role"] == "teacher" and a["format"] == EAGER), None)


def matmul_peak(summary, threads: int) -> float | None:
    entry = summary["machine"].get(f"matmul_fp32_cpu_{threads}t")
    return entry["gflops"] if entry else None


def row_id(r) -> str:
    return f"{r['artifact']}-{r.get('device', 'cpu')}-{r['threads']}t-bs{r['batch_size']}"


def is_fp32(fmt: str) -> bool:
    """Whether a format computes in fp32 (the eager module and the fp32 export targets): the ones whose achieved
    GFLOP/s is read against the fp32 matmul peak. A format this version does not know is not."""
    try:
        return facts(fmt).precision == "fp32"
    except KeyError:
        return False


def limit_row(summary, r):
    """The recurrence-limit record (bench/limit.py) a student row is judged against: its runtime's, at the same
    device, threads and batch; None for other rows and for runtimes without a measured limit."""
    if r.get("role") != "student":
        return None
    try:
        fmt = LIMIT_FORMATS.get(facts(r["format"]).runtime)
    except KeyError:
        return None
    return next((x for x in timed(summary, model=r["model"] + LIMIT_SUFFIX, format=fmt, threads=r["threads"],
                                  batch_size=r["batch_size"])), None) if fmt else None


def limit_fraction(summary, r) -> float | None:
    """limit p50 / row p50: 1.0 is a student running at its runtime's recurrence limit."""
    lim = limit_row(summary, r)
    return lim["latency_ms"]["p50"] / r["latency_ms"]["p50"] if lim else None
