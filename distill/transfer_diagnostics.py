"""How the teacher labelled the transfer set: what a student learns from the augmented rows.

    runs/<run_id>/transfer_diagnostics.json   made by the ablation from transfer.tsv and logits/logits.npy

For the originals: the teacher's accuracy against their gold labels (for a teacher trained on them, its
training accuracy) and its mean top-class probability. For the augmented rows, which have no gold label: how
often the teacher's label equals the gold label of the original each was made from, and its mean top-class
probability. An augmented row whose label moved away from its original's is not wrong in itself (a replaced
word can flip the sentiment), but when the teacher is weak, most of what kd-aug adds is the teacher's noise.
And each class's share: of the originals' gold labels, of the teacher's labels on the originals and on the
augmented rows (a pair augmentation that breaks paraphrases shifts the last toward the negative class, so
kd-aug learns a class prior the dev set does not have).
The file is kept with the sha256 of the two inputs and remade when either changes; publishing copies it, so a
results folder states it without the transfer set.
"""

from __future__ import annotations

import numpy as np

from distill.io import file_sha256, read_json, write_json
from distill.layout import RunLayout
from distill.metrics import top_probability
from distill.transfer_set import load_logits, read_transfer_set


def transfer_diagnostics(run: RunLayout) -> dict | None:
    """The run's diagnostics: from its kept file when the inputs are unchanged or absent (a published folder),
    else computed; None when neither exists."""
    path = run.transfer_diagnostics
    logits = run.logits / "logits.npy"
    if not (run.transfer.is_file() and logits.is_file()):
        return read_json(path) if path.is_file() else None
    inputs = {"transfer_sha256": file_sha256(run.transfer), "logits_sha256": file_sha256(logits)}
    kept = read_json(path) if path.is_file() else {}
    # a kept file from before the class shares were measured is measured again
    if "class_shares" in kept and all(kept.get(k) == v for k, v in inputs.items()):
        return kept
    out = {**inputs, **_measure(run)}
    write_json(path, out)
    return out


def _measure(run: RunLayout) -> dict:
    ts = read_transfer_set(run.transfer)
    logits = load_logits(run.logits)
    labels, origins = np.asarray(ts.labels), np.asarray(ts.origins)
    labelled = np.isfinite(logits).all(1)  # a subset labelling leaves NaN rows
    finite = np.nan_to_num(logits)
    confidence = top_probability(finite)
    pred = np.where(labelled, finite.argmax(1), -1)
    original = labels >= 0
    gold_of_origin = dict(zip(origins[original].tolist(), labels[original].tolist()))
    aug = ~original & labelled
    kept = pred[aug] == np.asarray([gold_of_origin[o] for o in origins[aug].tolist()], dtype=np.int64)
    orig = original & labelled
    k = logits.shape[1]

    def shares(classes: np.ndarray) -> list[float] | None:
        return (np.bincount(classes, minlength=k) / len(classes)).tolist() if len(classes) else None
    return {"originals": int(original.sum()), "augmented": int((~original).sum()),
            "augmented_labelled": int(aug.sum()),
            "teacher_accuracy_on_originals": float((pred[orig] == labels[orig]).mean()),
            "augmented_label_kept": float(kept.mean()) if aug.any() else None,
            "confidence_originals": float(confidence[orig].mean()),
            "confidence_augmented": float(confidence[aug].mean()) if aug.any() else None,
            "class_shares": {"originals_gold": shares(labels[original]), "originals_teacher": shares(pred[orig]),
                             "augmented_teacher": shares(pred[aug])}}
