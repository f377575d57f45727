"""[targets]: what a run's ablation table checks its figures against, and the check itself.

A run's targets are its task's (the paper's recipe: `Task.targets`, distill/data.py) with the config's
[targets] section over them, so a run that asks a different question (a stronger teacher: a higher
teacher bar, a share of it the student must keep) states its own bar in its config and the table checks that
bar, not the paper's. The resolved targets are written into ablation.json beside where they came from; the table reads
them from there, never from a list in the renderer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from distill.errors import UserError
from distill.settings import build


@dataclass
class TargetsConfig:
    """[targets]: thresholds on the teacher and on one student row (`row`), each checked only when set."""

    from_task: bool = field(default=True, metadata={
        "help": "start from the task's own targets (the paper's recipe); false: only this section's (an "
                "experiment that asks another question, with none set, gets no targets section)"})
    row: str = field(default="bilstm-kd-aug", metadata={"help": "the student row the targets are about"})
    baseline: str = field(default="bilstm-plain", metadata={"help": "the row `row` is compared with"})
    teacher_min: float | None = field(default=None, metadata={"help": "teacher dev accuracy ≥ this"})
    row_min: float | None = field(default=None, metadata={"help": "the row's mean dev accuracy over seeds ≥ this"})
    share_of_teacher_min: float | None = field(
        default=None, metadata={"help": "the row's mean ÷ the teacher's accuracy ≥ this (0.97 = keeps 97 %)"})
    gap_points_min: float | None = field(
        default=None, metadata={"help": "row mean − baseline mean ≥ this many accuracy points"})
    gap_beyond_ci: bool = field(
        default=False, metadata={"help": "row mean − baseline mean > the larger of the two rows' mean 95 % CI "
                                         "half-widths"})

    def __post_init__(self) -> None:
        for name in ("teacher_min", "row_min", "share_of_teacher_min"):
            value = getattr(self, name)
            if value is not None and not 0.0 < value <= 1.0:
                raise UserError(f"{name} must be in (0, 1] (a fraction, not a percentage), got {value}")


def resolve(task, raw: dict) -> dict:
    """The run's targets as a dict for ablation.json: the task's, with the config's [targets] over them, and
    `source` saying which of the two set them."""
    own = raw.get("targets", {})
    inherited = dict(task.targets) if own.get("from_task", True) else {}
    cfg = build(TargetsConfig, {**inherited, **own}, "[targets]")
    paper = f"the paper's recipe for {task.name} (the task's defaults)"
    keys = [k for k in own if k != "from_task"]
    source = (f"the config's [targets] ({', '.join(keys)}) over {paper}" if keys and inherited else
              "the config's [targets]" if keys else paper if inherited else
              "none (the config's [targets] sets from_task = false and no target of its own)")
    return {**dataclasses.asdict(cfg), "source": source}


# the fields that set a bar (the others say which rows, and where the bar comes from)
THRESHOLDS = tuple(f.name for f in dataclasses.fields(TargetsConfig) if f.name not in ("from_task", "row", "baseline"))


def is_set(targets: dict | None) -> bool:
    return bool(targets) and any(targets.get(k) not in (None, False) for k in THRESHOLDS)


def check(ab: dict) -> list[str]:
    """One line per set target, each with the measured figure and met / **not met** (or not measured yet)."""
    t = ab["targets"]
    by_name = {s["name"]: s for s in ab["summary"]}
    row, base, teacher = by_name.get(t["row"]), by_name.get(t["baseline"]), by_name.get("teacher")
    out = []

    def line(label: str, value: str | None, ok: bool) -> None:
        out.append(f"- {label}: " + ("not measured yet" if value is None else
                                     f"{value} — {'met' if ok else '**not met**'}"))

    if t.get("teacher_min") is not None:
        line(f"teacher ≥ {t['teacher_min']:.3f}", teacher and f"{teacher['mean']:.4f}",
             bool(teacher) and teacher["mean"] >= t["teacher_min"])
    seeds = f" ({row['n_seeds']} seed{'s' if row['n_seeds'] != 1 else ''})" if row else ""
    if t.get("row_min") is not None:
        line(f"{t['row']} mean{seeds} ≥ {t['row_min']:.3f}", row and f"{row['mean']:.4f}",
             bool(row) and row["mean"] >= t["row_min"])
    share = 100 * row["mean"] / teacher["mean"] if row and teacher and teacher["mean"] else None
    said = share is not None and f"{share:.1f}%{_share_ci(ab, t['row'])}" or None
    if t.get("share_of_teacher_min") is not None:
        line(f"{t['row']} mean{seeds} keeps ≥ {100 * t['share_of_teacher_min']:g}% of the teacher's dev accuracy",
             said, share is not None and share >= 100 * t["share_of_teacher_min"] - 1e-9)
    elif share is not None:
        out.append(f"- {t['row']} keeps {said} of the teacher's dev accuracy")
    gap = 100 * (row["mean"] - base["mean"]) if row and base else None
    if t.get("gap_points_min") is not None:
        line(f"{t['row']} mean ≥ {t['baseline']} mean + {t['gap_points_min']:.1f} points",
             gap is not None and f"{gap:+.2f} points" or None, gap is not None and gap >= t["gap_points_min"])
    if t.get("gap_beyond_ci"):
        half = 100 * max(row["ci_half_width_mean"], base["ci_half_width_mean"]) if row and base else None
        line(f"{t['row']} mean above {t['baseline']} mean by more than the 95% CI half-width"
             + (f" ({half:.2f} points, the larger of the two rows' mean half-widths)" if half is not None else ""),
             gap is not None and f"{gap:+.2f} points" or None, gap is not None and gap > half)
    if row and base:  # the task's other figures, stated beside the verdicts (no bar of their own)
        if "f1_mean" in row and "f1_mean" in base:
            out.append(f"- F1: {t['row']} − {t['baseline']} = {100 * (row['f1_mean'] - base['f1_mean']):+.2f} points")
        for split in ab.get("extra_dev", []):
            a, p = row.get(split + "_mean"), base.get(split + "_mean")
            if a is not None and p is not None:
                out.append(f"- {split}: {t['row']} − {t['baseline']} = {100 * (a - p):+.2f} points")
    out.append(f"\nTargets: {t['source']}.")
    return out


def _share_ci(ab: dict, row: str) -> str:
    """" (paired 95% CI [lo, hi]%)" from the row's pairing with the teacher (distill/ablation_paired.py); "" when
    the teacher's dev predictions were not kept."""
    p = next((p for p in ab.get("paired") or [] if p["a"] == row and p["b"] == "teacher" and "ratio_ci95" in p), None)
    return f" (paired 95% CI [{100 * p['ratio_ci95'][0]:.1f}, {100 * p['ratio_ci95'][1]:.1f}]%)" if p else ""
