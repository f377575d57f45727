"""Each student's dev predictions, kept beside the run's students so two arms can be compared example by example.

    runs/<run_id>/predictions/<student folder>.json
        {"model_sha256", "split": "dev", "n", "accuracy", "predictions": "0110…"}   one digit per dev example

A paired comparison (two arms scored on the same dev examples) is far tighter than comparing two arms' separate
intervals, and it needs the examples each checkpoint got right. The file is made from the student's kept
checkpoint on first need and reused while that checkpoint's sha256 is unchanged; it lives outside the student's
folder, whose files its stage record seals. A published folder keeps the files, so its tables re-render without
the weights (most students are too large to commit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from distill.data import Task, load_split
from distill.encode import encode_split
from distill.errors import UserError
from distill.evaluate import predict_logits
from distill.io import file_sha256, read_json, write_json
from distill.student_files import load_student, weights_file


def dev_predictions(folder: Path, path: Path, task: Task, accuracy: float) -> np.ndarray | None:
    """The student's argmax on the task's dev split: read from `path`, else computed from `folder`'s weights and
    written to `path`. None when neither exists (a published student whose weights were not committed). The
    predictions must reproduce the accuracy its metrics.json reports, or they are not that checkpoint's."""
    weights = weights_file(folder)
    sha = file_sha256(weights) if weights.is_file() else None
    if path.is_file():
        kept = read_json(path)
        if sha is None or kept.get("model_sha256") == sha:
            return np.frombuffer(kept["predictions"].encode(), np.uint8) - ord("0")
    if sha is None:
        return None
    model, vocab, extra = load_student(folder)
    dev = load_split(task, "dev")
    pred = predict_logits(model, encode_split(vocab, dev, extra["max_length"])).argmax(-1)
    got = float((pred == np.asarray(dev["label"])).mean())
    # two examples of slack: a near-tie may flip when the thread count differs from the training process's
    if abs(got - accuracy) * len(pred) > 2 + 1e-6:
        raise UserError(f"{folder}: its checkpoint scores {got:.4f} on dev, its metrics.json says {accuracy:.4f}: "
                        "the weights are not the ones its metrics were measured on")
    write_json(path, {"model_sha256": sha, "split": "dev", "n": int(len(pred)), "accuracy": got,
                      "predictions": "".join(map(str, pred.tolist()))})
    return pred
