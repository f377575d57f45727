"""Paired differences between a run's student rows: the same dev examples, every seed of each row.

Two rows are compared when they share a group, a family and the parameter count without embeddings (the same
encoder trained two ways: the paper's plain / kd / kd-aug arms, a family's hard-label and kd-aug arms). Each
gap is the later row minus the earlier one in the config's order, which is how the presets list an arm before
its improvement. Every student row is also paired with the teacher (row − teacher, and the share of the
teacher's accuracy the row keeps, both with a paired CI). A row whose seeds lack predictions (a published
student whose weights were not committed and that had no predictions file; a teacher of a run published before
its predictions were kept) is left out of every pair.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from distill.data import Task, load_split
from distill.io import read_json
from distill.layout import RunLayout
from distill.metrics import paired_gap
from distill.predictions import dev_predictions, teacher_dev_predictions


def predictions_by_row(run: RunLayout, task: Task, rows: list[dict]) -> dict[str, list[np.ndarray]]:
    """Row name → per seed, its predicted class for each dev example; rows with a seed lacking predictions left
    out."""
    out: dict[str, list[np.ndarray]] = {}
    for name in dict.fromkeys(r["name"] for r in rows):
        seeds = []
        for r in (r for r in rows if r["name"] == name):
            pred = _teacher(run, task, r) if name == "teacher" else dev_predictions(
                run.student(r["folder"]), run.student_predictions(r["folder"]), task, r["accuracy"])
            if pred is None:
                break
            seeds.append(pred)
        else:
            out[name] = seeds
    return out


def correct_by_row(run: RunLayout, task: Task, rows: list[dict],
                   predicted: dict[str, list[np.ndarray]] | None = None) -> dict[str, list[np.ndarray]]:
    """Row name → per seed, which dev examples it got right (from `predicted` when already read)."""
    labels = np.asarray(load_split(task, "dev")["label"])
    predicted = predictions_by_row(run, task, rows) if predicted is None else predicted
    return {name: [pred == labels for pred in seeds] for name, seeds in predicted.items()}


def _teacher(run: RunLayout, task: Task, row: dict) -> np.ndarray | None:
    metrics = read_json(run.teacher_metrics)
    # the length its dev accuracy was measured at; read only when the predictions must be made from the weights
    max_length = metrics.get("max_length") or (metrics.get("config") or {}).get("max_length")
    return teacher_dev_predictions(run.teacher_model, run.teacher_predictions, task, row["accuracy"], max_length)


def paired_gaps(run: RunLayout, task: Task, rows: list[dict]) -> list[dict]:
    """Every pair (see the module's text) with its accuracy gap, and on a task that reports F1 (QQP) its F1 gap
    (`f1_gap`, `f1_ci95`) from the same predictions, so a verdict can be read in each of the task's metrics."""
    predicted = predictions_by_row(run, task, rows)
    correct = correct_by_row(run, task, rows, predicted)
    labels = np.asarray(load_split(task, "dev")["label"]) if task.f1 else None

    def gap(a: str, b: str, ratio: bool = False) -> dict:
        out = paired_gap(correct[a], correct[b], ratio=ratio)
        if labels is not None:
            f1 = paired_gap(predicted[a], predicted[b], labels=labels)
            out.update(f1_gap=f1["gap"], f1_ci95=f1["ci95"])
        return out

    students = [r for r in rows if r["name"] != "teacher"]
    names = list(dict.fromkeys(r["name"] for r in students))
    first = {name: next(r for r in students if r["name"] == name) for name in names}
    out = []
    for a, b in combinations(names, 2):  # a before b in the config
        ra, rb = first[a], first[b]
        if a in correct and b in correct and all(ra.get(k) == rb.get(k) for k in
                                                 ("group", "family", "params_no_embedding")):
            out.append({"a": b, "b": a, **gap(b, a)})
    if "teacher" in correct:
        [teacher] = predicted["teacher"]
        # fidelity: how often the row predicts what the teacher predicts, right or wrong (mean over seeds) — a row
        # that follows a weak teacher closely inherits its mistakes
        out += [{"a": name, "b": "teacher", **gap(name, "teacher", ratio=True),
                 "agreement": float(np.mean([(pred == teacher).mean() for pred in predicted[name]]))}
                for name in names if name in correct]
    return out
