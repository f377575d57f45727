"""`distill-bench predict ARTIFACT "text" …`: run any exported artifact on raw text through its manifest.

Uses only the artifact folder (model file(s), manifest.json, tokenizer/) — no training run, no checkpoint —
which is the proof that an artifact ships on its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from distill.errors import UserError, first_line
from export.encoder import TextEncoder
from export.manifest import MANIFEST, read_manifest, verify_files
from export.registry import all_targets

TOO_LONG = ("truncate", "error")


def predict(artifact: str | Path, texts: list[str], too_long: str = "truncate") -> list[dict]:
    """Classify `texts`; for a pair model they are read two at a time (first sentence, second sentence).

    Input rules: an empty or whitespace-only text is an error; a text with no word the student knows is
    classified (it reads [UNK] only) with a warning in its result; a text longer than the artifact's max_length
    is cut to it with a warning (too_long="truncate", the default) or refused (too_long="error").
    """
    if not texts:
        raise UserError("give at least one text to classify")
    if too_long not in TOO_LONG:
        raise UserError(f"--too-long must be one of {', '.join(TOO_LONG)}, got {too_long!r}")
    for i, t in enumerate(texts, start=1):
        if not t.strip():
            raise UserError(f"text {i}: empty (nothing to classify)")
    folder, manifest = read_manifest(artifact)
    pairs = None
    if manifest.get("pair"):
        if len(texts) % 2:
            raise UserError(f"{folder}: a sentence-pair model; give texts two at a time (first second …), "
                            f"got {len(texts)}")
        texts, pairs = texts[0::2], texts[1::2]
    targets = all_targets()
    if manifest["target"] not in targets:
        raise UserError(f"{folder / MANIFEST}: target {manifest['target']!r} is not one this version "
                        f"knows ({', '.join(targets)})")
    verify_files(folder, manifest)
    encoder = TextEncoder(manifest["tokenizer"]["kind"], folder / manifest["tokenizer"]["folder"])
    try:
        runner = targets[manifest["target"]].load(folder, manifest)
    except Exception as e:  # each runtime has its own parse errors; the file is the user's, so one line
        raise UserError(f"{folder}: cannot load this {manifest['target']} artifact ({first_line(e)})") from None
    limit = manifest["max_length"]
    warnings = [[] for _ in texts]
    for i, n in enumerate(encoder.token_counts(texts, pairs)):
        if n > limit:
            if too_long == "error":
                raise UserError(f"text {i + 1}: {n} tokens, longer than this artifact's max_length {limit} "
                                "(shorten it, or --too-long truncate)")
            warnings[i].append(f"{n} tokens, truncated to max_length {limit}")
    for side in (texts, pairs or []):
        for i, unknown in enumerate(encoder.unknown_only(side)):
            if unknown:
                warnings[i].append(f"no word of {side[i]!r} is in the student's vocabulary (it reads [UNK] only)")
    ids, mask = encoder(texts, limit, pairs)
    logits = np.asarray(runner(ids, mask), np.float64)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    names = manifest["label_names"]
    return [{"text": t, **({"text_b": pairs[i]} if pairs else {}), "label": names[int(p.argmax())],
             "probabilities": dict(zip(names, map(float, p))), "logits": [float(x) for x in z],
             **({"warnings": warnings[i]} if warnings[i] else {})}
            for i, (t, p, z) in enumerate(zip(texts, probs, logits))]
