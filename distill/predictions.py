"""Each student's (and the teacher's) dev predictions, kept beside the run's students so two arms can be compared
example by example.

    runs/<run_id>/predictions/<student folder>.json    (the teacher's: predictions/teacher.json)
        {"model_sha256", "split": "dev", "n", "accuracy", "predictions": "0110…"}   one digit per dev example

A paired comparison (two arms scored on the same dev examples) is far tighter than comparing two arms' separate
intervals, and it needs the examples each checkpoint got right. The file is made from the student's kept
checkpoint on first need and reused while that checkpoint's sha256 is unchanged; it lives outside the student's
folder, whose files its stage record seals. A published folder keeps the files, so its tables re-render without
the weights (most students are too large to commit).
"""

from __future__ import annotations

from collections.abc import Callable
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
    def predict() -> np.ndarray:
        model, vocab, extra = load_student(folder)
        return predict_logits(model, encode_split(vocab, load_split(task, "dev"), extra["max_length"])).argmax(-1)

    return _kept_or_made(folder, weights_file(folder), path, task, accuracy, predict)


def teacher_dev_predictions(folder: Path, path: Path, task: Task, accuracy: float,
                            max_length: int | None) -> np.ndarray | None:
    """The same for a run's fine-tuned teacher (an HF folder): what pairs every student row with the teacher, so
    the share of the teacher a student keeps gets a paired CI. Made once from the weights (a dev pass of the
    teacher: seconds for MiniLM on SST-2, about a minute on QQP's 8,086 pairs) and kept like a student's."""
    def predict() -> np.ndarray:
        from distill.hf import dev_argmax  # transformers: imported only when a teacher must be run

        if not max_length:
            raise UserError(f"{folder.parent / 'metrics.json'}: no max_length recorded, so the teacher's dev "
                            "accuracy cannot be reproduced to pair it with the students")
        return dev_argmax(folder, task, max_length)

    return _kept_or_made(folder, folder / "model.safetensors", path, task, accuracy, predict)


def _kept_or_made(folder: Path, weights: Path, path: Path, task: Task, accuracy: float,
                  predict: Callable[[], np.ndarray]) -> np.ndarray | None:
    """Predictions read from `path` while they belong to `weights` (or no weights are there to check against: a
    published folder), else made by `predict` and checked against the accuracy the model's metrics report."""
    sha = file_sha256(weights) if weights.is_file() else None
    if path.is_file():
        kept = read_json(path)
        if sha is None or kept.get("model_sha256") == sha:
            return np.frombuffer(kept["predictions"].encode(), np.uint8) - ord("0")
    if sha is None:
        return None
    pred = np.asarray(predict())
    got = float((pred == np.asarray(load_split(task, "dev")["label"])).mean())
    # two examples of slack: a near-tie may flip when the thread count differs from the training process's
    if abs(got - accuracy) * len(pred) > 2 + 1e-6:
        raise UserError(f"{folder}: its checkpoint scores {got:.4f} on dev, its metrics.json says {accuracy:.4f}: "
                        "the weights are not the ones its metrics were measured on")
    write_json(path, {"model_sha256": sha, "split": "dev", "n": int(len(pred)), "accuracy": got,
                      "predictions": "".join(map(str, pred.tolist()))})
    return pred
