"""A student's logits and scores on a task's dev splits: what training selects on and metrics.json reports."""

from __future__ import annotations

import numpy as np
import torch

from distill.batching import length_batches
from distill.data import Task, load_split
from distill.encode import encode_split, model_inputs, total_lengths
from distill.metrics import scores
from distill.students import BiLSTMClassifier
from distill.vocab import Vocab


@torch.inference_mode()
def predict_logits(model: BiLSTMClassifier, encoded: list[list[np.ndarray]], batch_size: int = 256) -> np.ndarray:
    """Logits for every example; `encoded` holds one list of id arrays per sentence of the example."""
    model.eval()
    device = next(model.parameters()).device
    out = np.zeros((len(encoded[0]), model.cfg.num_labels), np.float32)
    for idx in length_batches(total_lengths(encoded), batch_size):
        out[idx] = model(*(t.to(device) for t in model_inputs(encoded, idx))).cpu().numpy()
    return out


def evaluate_splits(model: BiLSTMClassifier, vocab: Vocab, task: Task, max_length: int, seed: int = 0) -> dict:
    """Scores on dev and on the task's extra dev splits (MNLI mismatched): {split: scores}."""
    out = {}
    for split in ("dev", *task.extra_dev):
        ds = load_split(task, split)
        logits = predict_logits(model, encode_split(vocab, ds, max_length))
        out[split] = scores(logits, ds["label"], task.f1, seed=seed)
    return out
