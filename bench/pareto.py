"""pareto.png: dev accuracy against p90 latency at batch 1 and 1 thread, one point per artifact, with the
Pareto front. A pure function of summary.json."""

from __future__ import annotations

from pathlib import Path

from bench.selection import timed


def render_pareto(summary, path: Path) -> None:
    # matplotlib takes a second or more to import; only the plot needs it
    import matplotlib

    matplotlib.use("Agg")  # no display: the backend must be chosen before pyplot is imported
    import matplotlib.pyplot as plt

    points = []
    for a in summary["artifacts"].values():
        row = next((r for r in timed(summary, artifact=a["id"], threads=1, batch_size=1)), None)
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
