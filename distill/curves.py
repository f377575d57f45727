"""A student's learning curve (its metrics.json `history`) read as a plateau: when training has stopped
improving, where its best checkpoint is, and what it had reached by a given budget of examples seen.

One history entry is written at every dev evaluation:
    {"step", "epoch", "examples_seen", "wall_seconds", "wall_clock", "train_loss", "dev_accuracy"[, "dev_f1"]}
`train_loss` is the mean training loss since the previous evaluation; `wall_seconds` is cumulative over every
process of a resumed run, evaluations included, time the process spent stopped (SIGSTOP) left out
(distill/clock.py), which `wall_clock: "running"` states. Entries written before distill/clock.py lack that
field: their wall time may include stops (a run paused for a benchmark), and so may every later entry of the
same run, since the figure is cumulative. Entries written before these fields existed carry `loss` (the
last batch's) and no `examples_seen`; `examples_seen_of` derives it from the step and batch size.
"""

from __future__ import annotations

import math
import statistics

RUNNING = "running"  # the value of `wall_clock` for wall times that leave out stopped time


def examples_seen_of(entry: dict, batch_size: int) -> int:
    return int(entry.get("examples_seen", entry["step"] * batch_size))


def wall_excludes_stops(history: list[dict]) -> bool:
    """True when every entry's cumulative wall time was measured on the running clock (stops left out)."""
    return bool(history) and all(h.get("wall_clock") == RUNNING for h in history)


def best_entry(history: list[dict]) -> dict | None:
    """The first evaluation with the highest dev accuracy: the checkpoint training keeps (ties keep the earlier,
    as training saves only on a strict improvement)."""
    best = None
    for h in history:
        if best is None or h["dev_accuracy"] > best["dev_accuracy"]:
            best = h
    return best


def plateau_reached(history: list[dict], patience: int | None, batch_size: int) -> bool:
    """True once `patience` examples have been seen since the best evaluation without beating it."""
    if not patience or not history:
        return False
    best = best_entry(history)
    return examples_seen_of(history[-1], batch_size) - examples_seen_of(best, batch_size) >= patience


def best_within(history: list[dict], budget: int, batch_size: int) -> dict | None:
    """The checkpoint a run stopped at `budget` examples seen would have kept: its best evaluation up to there."""
    return best_entry([h for h in history if examples_seen_of(h, batch_size) <= budget])


def _window(history: list[dict], skip: dict | None, start: int, end: int, batch_size: int) -> list[float]:
    """Dev accuracies of the evaluations with start < examples seen <= end, `skip` left out."""
    return [h["dev_accuracy"] for h in history
            if h is not skip and start < examples_seen_of(h, batch_size) <= end]


MAX_RHO = 0.9  # an effective sample of 1/19 of the evaluations: beyond this the windows say nothing anyway


def lag1_autocorrelation(series: list[list[float]]) -> float:
    """Lag-1 autocorrelation of the deviations from each series' own mean, pooled over the series, clamped to
    [0, MAX_RHO]."""
    num = den = 0.0
    for xs in series:
        mean = statistics.fmean(xs)
        dev = [x - mean for x in xs]
        num += sum(a * b for a, b in zip(dev, dev[1:]))
        den += sum(d * d for d in dev)
    return min(max(num / den, 0.0), MAX_RHO) if den > 0 else 0.0


def level_after_best(history: list[dict], window: int | None, batch_size: int) -> dict | None:
    """The dev accuracy a run held once it had stopped improving: the mean over its evaluations in the last
    `window` examples seen (the patience: the stretch a plateau stop waited through), the kept best excluded.
    The best checkpoint is the maximum of many noisy evaluations on the split it is reported on, so it sits above
    the curve; this level is not chosen on that split (it leans low instead: the window held no new best).

    `rise` is this level minus the level of the window before (the stretch that led up to the best), with the
    standard error of that difference: a rise of several standard errors says the curve was still climbing when
    the patience rule, which keys on the noisy best, stopped it. Successive evaluations of one run are correlated
    (one set of weights moving a little between them), so each window's variance of the mean is widened by the
    AR(1) factor (1 + rho) / (1 - rho), rho the lag-1 autocorrelation pooled over both windows (negative taken as
    0; capped at MAX_RHO). A trend inside a window also raises rho, which errs towards calling a rise noise."""
    if not window or not history:
        return None
    best, end = best_entry(history), examples_seen_of(history[-1], batch_size)
    points = _window(history, best, end - window, end, batch_size)
    if len(points) < 2:
        return None
    level = {"accuracy": statistics.fmean(points), "sd": statistics.stdev(points), "n_evals": len(points),
             "window_examples": window}
    before = _window(history, best, end - 2 * window, end - window, batch_size)
    if len(before) >= 2:
        level["before"] = statistics.fmean(before)
        level["rise"] = level["accuracy"] - level["before"]
        rho = lag1_autocorrelation([points, before])
        level["rho"] = rho
        level["rise_se"] = math.sqrt((statistics.variance(points) / len(points)
                                      + statistics.variance(before) / len(before)) * (1 + rho) / (1 - rho))
    return level


def wilson_ci(accuracy: float, n: int, z: float = 1.959964) -> list[float]:
    """95% Wilson score interval of a proportion; for curve points, where only the accuracy was recorded (the
    final checkpoint's interval is bootstrapped from its predictions instead)."""
    if n <= 0:
        return [math.nan, math.nan]
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [centre - half, centre + half]


def stop_record(history: list[dict], patience: int | None, batch_size: int, total_steps: int,
                step: int) -> dict:
    """Why and where training stopped, and where its best checkpoint was, for metrics.json."""
    best = best_entry(history) or {"step": 0, "examples_seen": 0}
    plateau = plateau_reached(history, patience, batch_size)
    return {"reason": "plateau" if plateau and step < total_steps else "budget",
            "step": step, "examples_seen": examples_seen_of(history[-1], batch_size) if history else 0,
            "budget_examples": total_steps * batch_size, "patience_examples": patience,
            "best_step": best["step"], "best_examples_seen": examples_seen_of(best, batch_size)}
