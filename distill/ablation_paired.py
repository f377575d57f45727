"""Paired differences between a run's student rows: the same dev examples, every seed of each row.

Two rows are compared when they share a group, a family and the parameter count without embeddings (the same
encoder trained two ways: the paper's plain / kd / kd-aug arms, a family's hard-label and kd-aug arms). Each
gap is the later row minus the earlier one in the config's order, which is how the presets list an arm before
its improvement. A row whose seeds lack predictions (a published student whose weights were not committed and
that had no predictions file) is left out of every pair.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from distill.data import Task, load_split
from distill.layout import RunLayout
from distill.metrics import paired_gap
from distill.predictions import dev_predictions


def correct_by_row(run: RunLayout, task: Task, rows: list[dict]) -> dict[str, list[np.ndarray]]:
    """Row name → per seed, which dev examples it got right; rows with a seed lacking predictions left out."""
    students = [r for r in rows if r["name"] != "teacher"]
    labels = None
    correct: dict[str, list[np.ndarray]] = {}
    for name in dict.fromkeys(r["name"] for r in students):
        seeds = []
        for r in (r for r in students if r["name"] == name):
            pred = dev_predictions(run.student(r["folder"]), run.student_predictions(r["folder"]), task,
                                   r["accuracy"])
            if pred is None:
                break
            labels = np.asarray(load_split(task, "dev")["label"]) if labels is None else labels
            seeds.append(pred == labels)
        else:
            correct[name] = seeds
    return correct


def paired_gaps(run: RunLayout, task: Task, rows: list[dict]) -> list[dict]:
    correct = correct_by_row(run, task, rows)
    students = [r for r in rows if r["name"] != "teacher"]
    names = list(dict.fromkeys(r["name"] for r in students))
    first = {name: next(r for r in students if r["name"] == name) for name in names}
    out = []
    for a, b in combinations(names, 2):  # a before b in the config
        ra, rb = first[a], first[b]
        if a in correct and b in correct and all(ra.get(k) == rb.get(k) for k in
                                                 ("group", "family", "params_no_embedding")):
            out.append({"a": b, "b": a, **paired_gap(correct[b], correct[a])})
    return out
