"""The ablation read through the students' learning curves: every arm at an equal budget of examples seen and
at its own plateau, the sentence that says whether kd-aug ≥ kd ≥ plain holds there, and learning_curves.png.

The equal budget is the smallest number of examples any ablation arm saw in any seed; an arm's figure there is
the dev accuracy of the checkpoint a run stopped at that budget would have kept (its best evaluation up to it,
distill/curves.py), with a 95% Wilson interval (only the accuracy was recorded at curve points). The plateau
figure is the arm's final best checkpoint, with its bootstrap interval (metrics.json).
"""

from __future__ import annotations

import statistics
from pathlib import Path

from tabulate import tabulate

from distill.curves import best_entry, best_within, examples_seen_of, level_after_best, wall_excludes_stops, wilson_ci

ORDER = ("bilstm-kd-aug", "bilstm-kd", "bilstm-plain")  # the paper's claim: each beats the next


def device_kind(row: dict) -> str | None:
    """'cpu' or 'cuda' (a student row's metrics `device`, 'cuda:0' → 'cuda'); None where it was not recorded."""
    return (row.get("device") or "").split(":")[0] or None


def curve_fields(metrics: dict) -> dict:
    """What an ablation row keeps of a student's curve: where it stopped and why, where its best was."""
    history = metrics.get("history") or []
    batch = metrics["config"]["batch_size"] if history else 0
    stopped = metrics.get("stopped") or {
        "reason": "budget", "examples_seen": examples_seen_of(history[-1], batch) if history else None,
        "patience_examples": None}
    best = best_entry(history)
    return {"stop_reason": stopped["reason"], "examples_seen": stopped["examples_seen"],
            "patience_examples": stopped.get("patience_examples"),
            "best_examples_seen": examples_seen_of(best, batch) if best else None,
            "level": level_after_best(history, stopped.get("patience_examples"), batch),
            # None: no curve, so nothing to say about how its time was measured
            "wall_excludes_stops": wall_excludes_stops(history) if history else None}


def add_equal_budget(rows: list[dict], histories: dict[str, list[dict]], batch: dict[str, int], n: int) -> int | None:
    """Give every ablation-group student row its figure at the equal budget; returns the budget."""
    arms = [r for r in rows if r["name"] != "teacher" and r["group"] == "ablation" and r.get("examples_seen")]
    if not arms:
        return None
    budget = min(r["examples_seen"] for r in arms)
    for r in arms:
        point = best_within(histories[r["folder"]], budget, batch[r["folder"]])
        if point is not None:
            r["equal_budget"] = {"examples": budget, "accuracy": point["dev_accuracy"],
                                 "ci95": wilson_ci(point["dev_accuracy"], n), "step": point["step"],
                                 **({"f1": point["dev_f1"]} if "dev_f1" in point else {})}
    return budget


def summarise(summary: list[dict], rows: list[dict]) -> None:
    """Per row name: the mean at the equal budget and the mean examples seen at the best checkpoint."""
    for s in summary:
        seeds = [r for r in rows if r["name"] == s["name"]]
        at = [r["equal_budget"]["accuracy"] for r in seeds if "equal_budget" in r]
        if at and len(at) == len(seeds):
            s["equal_budget_mean"] = statistics.fmean(at)
        levels = [r["level"]["accuracy"] for r in seeds if r.get("level")]
        if levels and len(levels) == len(seeds):
            s["level_mean"] = statistics.fmean(levels)
        best = [r["best_examples_seen"] for r in seeds if r.get("best_examples_seen") is not None]
        if best:
            s["best_examples_mean"] = statistics.fmean(best)


def crossings(rows: list[dict], histories: dict[str, list[dict]], batch: dict[str, int]) -> list[dict]:
    """Where each step of the paper's ordering (kd-aug vs kd, kd vs plain) changes sign along the budget.

    At every budget where either arm was evaluated, each arm's figure is the mean over its seeds of what a run
    stopped there would report (best_within: the best evaluation so far; a seed that had already stopped keeps
    its final best). These best-so-far curves only rise, so a sign change is a real overtaking, not noise
    between two evaluations. Budgets start where every seed of both arms has been evaluated once."""
    out = []
    for hi, lo in zip(ORDER, ORDER[1:]):
        seeds = {arm: [r["folder"] for r in rows if r["name"] == arm and histories.get(r["folder"])]
                 for arm in (hi, lo)}
        if not all(seeds.values()):
            continue
        runs = [f for arm in (hi, lo) for f in seeds[arm]]
        start = max(examples_seen_of(histories[f][0], batch[f]) for f in runs)
        grid = sorted({examples_seen_of(h, batch[f]) for f in runs for h in histories[f]} | {start})
        grid = [x for x in grid if x >= start]
        gaps = [_mean_best(histories, batch, seeds[hi], x) - _mean_best(histories, batch, seeds[lo], x) for x in grid]
        signs = [(g > 0) - (g < 0) for g in gaps]
        changes = [grid[i] for i in range(1, len(grid)) if signs[i] != signs[i - 1]]
        out.append({"a": hi, "b": lo, "from_examples": grid[0], "to_examples": grid[-1],
                    "ahead_at_end": signs[-1], "sign_changes": len(changes),
                    "last_change_at": changes[-1] if changes else None,
                    "gap_at_end": gaps[-1], "max_gap": max(gaps), "min_gap": min(gaps)})
    return out


def _mean_best(histories: dict[str, list[dict]], batch: dict[str, int], folders: list[str], budget: int) -> float:
    return statistics.fmean(best_within(histories[f], budget, batch[f])["dev_accuracy"] for f in folders)


def crossing_sentence(ab: dict) -> str | None:
    """Where the best-so-far curves of the ordering's steps cross (crossings), in words."""
    parts = []
    for c in ab.get("crossings") or []:
        state = {1: "ahead of", -1: "behind", 0: "level with"}[c["ahead_at_end"]]
        span = f"from {c['from_examples']:,} to {c['to_examples']:,} examples seen"
        if not c["sign_changes"]:
            parts.append(f"{c['a']} is {state} {c['b']} at every budget {span}")
        else:
            parts.append(f"{c['a']} is {state} {c['b']} from {c['last_change_at']:,} examples seen on "
                         f"({c['sign_changes']} change(s) of lead {span}; the gap ranges over "
                         f"[{100 * c['min_gap']:+.2f}, {100 * c['max_gap']:+.2f}] points)")
    if not parts:
        return None
    return ("Where the curves cross, read from the best-so-far mean curves (at each budget, the mean over seeds of "
            "what a run stopped there would report): " + "; ".join(parts) + ".")


def _ci(value: float, ci: list | None) -> str:
    return f"{value:.4f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{value:.4f}"


def budget_table(ab: dict) -> list[str]:
    """The equal-budget table and its caption; nothing when no row has a curve."""
    if not ab.get("equal_budget"):
        return []
    body = []
    for s in (x for x in ab["summary"] if x["group"] == "ablation" and "equal_budget_mean" in x):
        seeds = [r for r in ab["rows"] if r["name"] == s["name"]]
        body.append([s["name"], len(seeds), f"{s['equal_budget_mean']:.4f}",
                     ", ".join(_ci(r["equal_budget"]["accuracy"], r["equal_budget"]["ci95"]) for r in seeds),
                     ", ".join(f"{r['equal_budget']['step']:,}" for r in seeds)])
    return [f"## Every arm at an equal budget: {ab['equal_budget']:,} examples seen", "",
            "The smallest number of training examples any arm saw (in any seed). Each figure is the dev accuracy "
            "of the best checkpoint up to that budget — what the arm would report had it stopped there; "
            "intervals are 95% Wilson intervals (n = " f"{ab['n']:,}).", "",
            tabulate(body, headers=["row", "seeds", "mean acc at budget", "each seed acc [95% CI]",
                                    "step of that checkpoint"], tablefmt="github"), ""]


def find_pair(ab: dict, a: str, b: str) -> dict | None:
    """The paired gap a − b (ablation_paired.py) in either stored direction, or None."""
    for p in ab.get("paired") or []:
        if (p["a"], p["b"]) == (a, b):
            return p
        if (p["a"], p["b"]) == (b, a):
            flipped = {**p, "a": a, "b": b, "gap": -p["gap"], "ci95": [-p["ci95"][1], -p["ci95"][0]]}
            if "f1_gap" in p:
                flipped.update(f1_gap=-p["f1_gap"], f1_ci95=[-p["f1_ci95"][1], -p["f1_ci95"][0]])
            return flipped
    return None


def _paired_verdict(gap: float, low: float, high: float) -> str:
    return ("holds beyond the CI" if low > 0 else "reversed beyond the CI" if high < 0
            else "holds within the CI (not decided)" if gap >= 0 else "reversed within the CI (not decided)")


def ordering_sentence(ab: dict) -> str | None:
    """Whether kd-aug ≥ kd ≥ plain holds at the plateau, with the CI half-widths that decide each step; on a task
    that reports F1 (QQP), a second clause reads the same steps in F1 from the paired F1 gaps."""
    by = {s["name"]: s for s in ab["summary"]}
    if not all(name in by for name in ORDER):
        return None
    plateau = all(r.get("stop_reason") == "plateau" for r in ab["rows"] if r["name"] in ORDER)
    parts, f1_parts = [], []
    for hi, lo in zip(ORDER, ORDER[1:]):
        paired = find_pair(ab, hi, lo)
        if paired:  # the decisive interval: the same dev examples, seeds resampled
            gap, (low, high) = 100 * paired["gap"], (100 * x for x in paired["ci95"])
            parts.append(f"{hi} − {lo} = {gap:+.2f} points ({_paired_verdict(gap, low, high)}; "
                         f"paired 95% CI [{low:+.2f}, {high:+.2f}])")
            if "f1_gap" in paired:
                gap, (low, high) = 100 * paired["f1_gap"], (100 * x for x in paired["f1_ci95"])
                f1_parts.append(f"{hi} − {lo} = {gap:+.2f} F1 points ({_paired_verdict(gap, low, high)}; "
                                f"paired 95% CI [{low:+.2f}, {high:+.2f}])")
            continue
        gap = 100 * (by[hi]["mean"] - by[lo]["mean"])
        half = 100 * max(by[hi]["ci_half_width_mean"], by[lo]["ci_half_width_mean"])
        verdict = ("holds beyond the CI" if gap > half else "holds within the CI (not decided)" if gap >= 0
                   else "reversed within the CI (not decided)" if -gap <= half else "reversed beyond the CI")
        parts.append(f"{hi} − {lo} = {gap:+.2f} points ({verdict}; unpaired, 95% CI half-width {half:.2f})")
    holds = by[ORDER[0]]["mean"] >= by[ORDER[1]]["mean"] >= by[ORDER[2]]["mean"]
    where = ("at every arm's plateau" if plateau
             else "at the end of each arm's budget (not every seed reached a plateau)")
    sentence = (f"kd-aug ≥ kd ≥ plain {'holds' if holds else 'does not hold'} {where}, means over seeds: "
                + "; ".join(parts) + ".")
    if len(f1_parts) == len(ORDER) - 1:
        f1_holds = all(find_pair(ab, hi, lo)["f1_gap"] >= 0 for hi, lo in zip(ORDER, ORDER[1:]))
        sentence += (f" In F1 of the positive class (the task's other metric; checkpoints were chosen on "
                     f"accuracy) it {'holds' if f1_holds else 'does not hold'}: " + "; ".join(f1_parts) + ".")
    return sentence


def level_sentence(ab: dict) -> str | None:
    """The ordering read at each arm's level after its best (curves.level_after_best) instead of at its best
    checkpoint, and how far each best sits above its level: checkpoints are chosen on the split they are reported
    on, and an arm with a noisier curve gains more from taking the maximum."""
    by = {s["name"]: s for s in ab["summary"]}
    if not all("level_mean" in by.get(name, {}) for name in ORDER):
        return None
    gaps = "; ".join(f"{hi} − {lo} = {100 * (by[hi]['level_mean'] - by[lo]['level_mean']):+.2f} points"
                     for hi, lo in zip(ORDER, ORDER[1:]))
    above = ", ".join(f"{name} {100 * (by[name]['mean'] - by[name]['level_mean']):+.2f}" for name in ORDER)
    sds = ", ".join(f"{name} {100 * statistics.fmean(r['level']['sd'] for r in ab['rows'] if r['name'] == name):.2f}"
                    for name in ORDER)
    holds = by[ORDER[0]]["level_mean"] >= by[ORDER[1]]["level_mean"] >= by[ORDER[2]]["level_mean"]
    return (f"Read at the level each arm held after its best (the level column: mean dev accuracy over the "
            f"evaluations in its last patience window, the best excluded, so not chosen on the reported split), "
            f"kd-aug ≥ kd ≥ plain {'holds' if holds else 'does not hold'}, means over seeds: {gaps} (no interval: "
            f"curve points record accuracy only). Each best checkpoint sits above that level by (points): {above}; "
            f"the evaluations in the window scatter by (sd, points): {sds}.")


def rising_sentence(ab: dict) -> str | None:
    """Which ablation seeds were still climbing when the patience rule stopped them: their level after the best
    rose by more than two standard errors over the level of the window before (curves.level_after_best)."""
    seeds = [r for r in ab["rows"] if r["name"] in ORDER and "rise" in (r.get("level") or {})]
    if not seeds:
        return None
    rising = [r for r in seeds if r["level"]["rise"] > 2 * r["level"]["rise_se"]]
    if not rising:
        return (f"No seed's level rose by more than two standard errors from the patience window before its best "
                f"to the one after it ({len(seeds)} seeds): by this reading every arm had stopped climbing.")
    listed = ", ".join(f"{r['folder']} {100 * r['level']['rise']:+.2f} ± {100 * r['level']['rise_se']:.2f}"
                       for r in rising)
    return (f"Still climbing when stopped: {len(rising)} of {len(seeds)} seeds' level rose by more than two "
            f"standard errors from the patience window before the best to the one after it ({listed} points). The "
            f"patience rule keys on the best single evaluation, which noise can set early, so it stopped these "
            f"runs while their curves were still rising, and their best checkpoints may understate where the arm "
            f"levels off. The standard error allows for successive evaluations being correlated (lag-1 "
            f"autocorrelation, curves.level_after_best); with about one run in twenty a two-standard-error rise can "
            f"still be noise.")


def colour_index(arm: str, arms: list[str]) -> int:
    """The paper's three arms keep one colour in every run's plot (plain, kd, kd-aug: tab10's first three), so
    figures of two runs read side by side; other arms take the next colours in config order."""
    fixed = {name: i for i, name in enumerate(reversed(ORDER))}
    others = [a for a in arms if a not in fixed]
    return fixed[arm] if arm in fixed else len(fixed) + others.index(arm)


def curve_groups(run_rows: list[dict], histories: dict[str, list[dict]]) -> dict[str, list[str]]:
    """The arms to draw, per table group (the paper's ablation first, then e.g. each student family's rows in
    config order): every row but the teacher's with a recorded curve."""
    groups: dict[str, list[str]] = {}
    for r in sorted(run_rows, key=lambda r: r["group"] != "ablation"):
        if r["name"] != "teacher" and histories.get(r["folder"]):
            groups.setdefault(r["group"], [])
            if r["name"] not in groups[r["group"]]:
                groups[r["group"]].append(r["name"])
    return groups


def plot_curves(run_rows: list[dict], histories: dict[str, list[dict]], batch: dict[str, int], budget: int | None,
                title: str, path: Path) -> None:
    """A row of two panels per table group, dev accuracy against examples seen (log scale) and against wall
    minutes; one colour per arm (mean over seeds at the evaluations every seed had, band = min–max over seeds,
    thin = each seed, dot = the mean best checkpoint). The equal budget is the ablation group's."""
    import matplotlib

    matplotlib.use("Agg")  # no display: chosen before pyplot is imported
    import matplotlib.pyplot as plt

    groups = curve_groups(run_rows, histories)
    # constrained layout keeps each row's legend beside its panels and the key below them, where neither can
    # cover a curve
    fig, axes = plt.subplots(len(groups), 2, figsize=(13, 0.9 + 3.9 * len(groups)), sharey="row",
                             layout="constrained", squeeze=False)
    # minutes on a CPU and on a GPU are not one axis: the wall panels draw the seeds of the device most students
    # trained on, and the key says which seeds they leave out
    kinds = [device_kind(r) for r in run_rows if r["name"] != "teacher" and histories.get(r["folder"])]
    wall_kind = max(dict.fromkeys(kinds), key=kinds.count) if kinds else None
    left_out = [r for r in run_rows if r["name"] != "teacher" and histories.get(r["folder"])
                and device_kind(r) != wall_kind]  # every drawn row (curve_groups) whose wall time is not drawn
    dashed = False
    for (group, arms), (ax_n, ax_t) in zip(groups.items(), axes):
        for arm in arms:
            dashed |= _draw_arm(ax_n, ax_t, arm, arms, run_rows, histories, batch, wall_kind)
        if budget and group == "ablation":
            ax_n.axvline(budget, color="black", ls="--", lw=0.8, label=f"equal budget ({budget:,} examples)")
        _label_row(ax_n, ax_t, group if len(groups) > 1 else None)
    handles = [plt.Rectangle((0, 0), 1, 1, color="gray", alpha=0.25), plt.Line2D([], [], color="gray", lw=0.6,
               alpha=0.6), plt.Line2D([], [], marker="o", color="gray", lw=0)]
    labels = ["band: min–max over seeds (where all were evaluated)", "thin: each seed's whole run",
              "dot: best mean checkpoint"]
    if dashed:
        handles.append(plt.Line2D([], [], color="gray", ls="--"))
        labels.append("dashed: wall time may include stopped time (recorded before distill/clock.py)")
    if left_out:
        handles.append(plt.Line2D([], [], lw=0))
        others = sorted({device_kind(r) or "device not recorded" for r in left_out})
        labels.append(f"wall time: {wall_kind} seeds only ({len(left_out)} on {', '.join(others)} not drawn)")
    fig.legend(handles, labels, fontsize=7, loc="outside lower center", ncol=min(3, len(labels)), frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def _mean_band(folders: list[str], histories: dict[str, list[dict]], batch: dict[str, int]) -> tuple:
    """(mean examples seen, mean wall minutes, mean / min / max dev accuracy) over `folders`, at the steps every
    one of them was evaluated: a step only some seeds reached (an epoch end, a longer run's tail) would make the
    mean jump between seed subsets."""
    import numpy as np

    by_step: dict[int, list[tuple[float, float, float]]] = {}
    for folder in folders:
        for h in histories[folder]:
            by_step.setdefault(h["step"], []).append(
                (examples_seen_of(h, batch[folder]), h.get("wall_seconds", np.nan) / 60, h["dev_accuracy"]))
    steps = sorted(s for s, points in by_step.items() if len(points) == len(folders))
    acc = [[p[2] for p in by_step[s]] for s in steps]
    return (np.array([statistics.fmean(p[0] for p in by_step[s]) for s in steps]),
            np.array([statistics.fmean(p[1] for p in by_step[s]) for s in steps]),
            *(np.array([f(a) for a in acc]) for f in (statistics.fmean, min, max)))


def _draw_arm(ax_n, ax_t, arm: str, arms: list[str], run_rows: list[dict], histories: dict[str, list[dict]],
              batch: dict[str, int], wall_kind: str | None) -> bool:
    """One arm's mean line, band, seed lines and best dot on both panels (the wall panel: its seeds on
    `wall_kind` only); True where its wall time is drawn dashed: some seed's cumulative time was recorded before
    stops were left out of it"""
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [r for r in run_rows if r["name"] == arm and histories.get(r["folder"])]
    seeds = [r["folder"] for r in rows]
    timed = [r["folder"] for r in rows if device_kind(r) == wall_kind]
    band = _mean_band(seeds, histories, batch)
    x, _, mean, lo, hi = band
    _, t, t_mean, t_lo, t_hi = band if timed == seeds else _mean_band(timed, histories, batch)
    colour = plt.get_cmap("tab10")(colour_index(arm, arms) % 10)
    # (only where a wall time was drawn at all)
    unverified = bool(np.isfinite(t).any()) and any(r.get("wall_excludes_stops") is False for r in rows
                                                    if r["folder"] in timed)
    for folder in seeds if len(seeds) > 1 else []:
        h = histories[folder]
        ax_n.plot([examples_seen_of(e, batch[folder]) for e in h], [e["dev_accuracy"] for e in h], color=colour,
                  lw=0.6, alpha=0.45)
        if folder in timed and len(timed) > 1:
            ax_t.plot([e.get("wall_seconds", np.nan) / 60 for e in h], [e["dev_accuracy"] for e in h],
                      color=colour, lw=0.6, alpha=0.45, ls="--" if unverified else "-")
    for ax, xs, ys, low, high, n in ((ax_n, x, mean, lo, hi, len(seeds)), (ax_t, t, t_mean, t_lo, t_hi, len(timed))):
        ax.plot(xs, ys, color=colour, lw=1.6, ls="--" if ax is ax_t and unverified else "-",
                label=f"{arm} ({n} seed{'s' if n > 1 else ''})")
        ax.fill_between(xs, low, high, color=colour, alpha=0.18, lw=0)
        if len(ys):
            best = int(np.argmax(ys))
            ax.plot(xs[best], ys[best], "o", color=colour, ms=5)
    return unverified


def _label_row(ax_n, ax_t, group: str | None) -> None:
    """Axis labels, the row's arm legend beside its wall-time panel, and a note where no wall time was kept."""
    import numpy as np

    ax_n.set_xscale("log")
    ax_n.set_xlabel("training examples seen (log scale)")
    ax_t.set_xlabel("wall time, minutes (mean over seeds)")
    ax_n.set_ylabel("dev accuracy" if group is None else f"dev accuracy — {group}")
    if not any(np.isfinite(line.get_xdata()).any() for line in ax_t.get_lines()):
        ax_t.set_xticks([])
        ax_t.text(0.5, 0.5, "wall time was not recorded at each evaluation\n(metrics written before the curve record)",
                  ha="center", va="center", transform=ax_t.transAxes, fontsize=8)
    ax_t.legend(*ax_n.get_legend_handles_labels(), fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5),
                frameon=False)
