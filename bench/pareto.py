"""pareto.png: dev accuracy against p90 latency at batch 1 and 1 thread, one point per artifact, with the
Pareto front. A pure function of summary.json.

Latency is end to end (text → label, bench/test_e2e.py) when the run measured it, else model-only; the axis
says which. Each point carries its intervals as error bars: the accuracy's 95% bootstrap CI vertically, the
p90's 95% order-statistic interval horizontally. Colour = model (a student's family is in its legend entry),
marker = format; both have a legend, and no point is labelled in the plot, so no labels overlap.
"""

from __future__ import annotations

from pathlib import Path

from bench.selection import batch1

MARKERS = "osD^v<>pP*hXd8H"


def points(summary) -> tuple[list[dict], str]:
    """One point per artifact with an accuracy and a batch-1 latency; end to end only if every point has it."""
    rows = []
    for a in summary["artifacts"].values():
        if a.get("accuracy") is None or a["role"] in ("reference", "limit"):
            continue
        if batch1(summary, a["id"], "end-to-end") or batch1(summary, a["id"], "model-only"):
            rows.append(a)
    kind = "end-to-end" if rows and all(batch1(summary, a["id"], "end-to-end") for a in rows) else "model-only"
    out = []
    for a in rows:
        row = batch1(summary, a["id"], kind)
        if row is None:
            continue
        lat = row["latency_ms"]
        ci = (lat.get("ci95") or {}).get("p90") or [None, None]
        family = (a.get("student_arch") or {}).get("family", "bilstm") if a["role"] == "student" else None
        out.append({"x": lat["p90"], "x_ci": ci, "y": a["accuracy"], "y_ci": a.get("ci95"), "model": a["model"],
                    "format": a["format"], "role": a["role"], "family": family})
    return out, kind


def render_pareto(summary, path: Path) -> None:
    # matplotlib takes a second or more to import; only the plot needs it
    import matplotlib

    matplotlib.use("Agg")  # no display: the backend must be chosen before pyplot is imported
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    pts, kind = points(summary)
    fig, ax = plt.subplots(figsize=(8, 5))
    models = list(dict.fromkeys(p["model"] for p in pts))
    formats = list(dict.fromkeys(p["format"] for p in pts))
    # the format legend draws its markers in gray, so no model gets a gray (tab10's 8th, tab20's 15th and 16th)
    cmap = plt.get_cmap("tab10" if len(models) <= 9 else "tab20")
    palette = [cmap(i) for i in range(cmap.N) if (cmap.N, i) not in {(10, 7), (20, 14), (20, 15)}]
    colour = {m: palette[i % len(palette)] for i, m in enumerate(models)}
    marker = {f: MARKERS[i % len(MARKERS)] for i, f in enumerate(formats)}
    for p in pts:
        xerr = [[p["x"] - p["x_ci"][0] if p["x_ci"][0] is not None else 0],
                [p["x_ci"][1] - p["x"] if p["x_ci"][1] is not None else 0]]
        yerr = [[p["y"] - p["y_ci"][0]], [p["y_ci"][1] - p["y"]]] if p.get("y_ci") else None
        ax.errorbar(p["x"], p["y"], xerr=xerr, yerr=yerr, fmt=marker[p["format"]], color=colour[p["model"]],
                    ms=5, elinewidth=0.7, capsize=2)
    front, best = [], -1.0
    for p in sorted(pts, key=lambda p: p["x"]):
        if p["y"] > best:
            front.append((p["x"], p["y"]))
            best = p["y"]
    handles = [Line2D([], [], color=colour[m], marker="o", ls="", label=m + next(
        (f" ({p['family']})" for p in pts if p["model"] == m and p["family"]), "")) for m in models]
    handles += [Line2D([], [], color="gray", marker=marker[f], ls="", label=f) for f in formats]
    if front:
        ax.plot(*zip(*front), color="black", lw=0.8, ls="--")
        handles.append(Line2D([], [], color="black", lw=0.8, ls="--", label="Pareto front"))
    ax.legend(handles=handles, fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False,
              title="colour: model · marker: format", title_fontsize=6)
    ax.set_xscale("log")
    ax.set_xlabel(f"p90 latency, {kind}, batch 1, 1 thread (ms, log scale; bars: 95% intervals)")
    ax.set_ylabel("dev accuracy (bars: 95% CI)")
    ax.set_title(f"{summary['run_id']}: accuracy vs latency ({summary.get('env', {}).get('cpu', '')})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
