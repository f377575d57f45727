"""`distill-bench predict ARTIFACT "text" …`: run any exported artifact on raw text through its manifest.

Uses only the artifact folder (model file(s), manifest.json, tokenizer/) — no training run, no checkpoint —
which is the proof that an artifact ships on its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from distill.errors import UserError
from export.manifest import read_manifest
from export.registry import all_targets
from export.source import TextEncoder


def predict(artifact: str | Path, texts: list[str]) -> list[dict]:
    """Classify `texts`; for a pair model they are read two at a time (first sentence, second sentence)."""
    if not texts:
        raise UserError("give at least one text to classify")
    folder, manifest = read_manifest(artifact)
    pairs = None
    if manifest.get("pair"):
        if len(texts) % 2:
            raise UserError(f"{folder}: a sentence-pair model; give texts two at a time (first second …), "
                            f"got {len(texts)}")
        texts, pairs = texts[0::2], texts[1::2]
    targets = all_targets()
    if manifest["target"] not in targets:
        raise UserError(f"{folder / 'manifest.json'}: target {manifest['target']!r} is not one this version "
                        f"knows ({', '.join(targets)})")
    encoder = TextEncoder(manifest["tokenizer"]["kind"], folder / manifest["tokenizer"]["folder"])
    runner = targets[manifest["target"]].load(folder, manifest)
    ids, mask = encoder(texts, manifest["max_length"], pairs)
    logits = np.asarray(runner(ids, mask), np.float64)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    names = manifest["label_names"]
    return [{"text": t, **({"text_b": pairs[i]} if pairs else {}), "label": names[int(p.argmax())],
             "probabilities": dict(zip(names, map(float, p))), "logits": [float(x) for x in z]}
            for i, (t, p, z) in enumerate(zip(texts, probs, logits))]
