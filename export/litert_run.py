"""The LiteRT converter script's `--run` mode, and how it feeds a .tflite signature (shared with the smoke
test after a conversion): run a .tflite on arrays from an .npz and return its logits.

Runs inside the LiteRT virtualenv beside litert_convert.py, which imports it as a sibling module; like the
script, it imports nothing from the project.
"""

from __future__ import annotations

import numpy as np

INPUT_NAMES = ("input_ids", "attention_mask")


def pick_input(key: str, keys: list[str], arrays: dict):
    """Map a signature input name to input_ids / attention_mask."""
    low = key.lower()
    if "input_ids" in low or low.endswith("ids"):
        return arrays["input_ids"]
    if "attention_mask" in low or "mask" in low:
        return arrays["attention_mask"]
    # Positional names (args_0, args_1, ...): order by trailing index.
    ordered = sorted(keys, key=lambda k: (len(k), k))
    return arrays[INPUT_NAMES[ordered.index(key)]]


def first_output(outputs: dict):
    key = sorted(outputs, key=lambda k: (len(k), k))[0]
    return outputs[key]


def run(args) -> dict:
    # the LiteRT interpreter: heavy, imported inside the script's JSON-reporting try (litert_convert.main)
    from ai_edge_litert.interpreter import Interpreter

    with np.load(args.inputs) as data:
        missing = [n for n in INPUT_NAMES if n not in data.files]
        if missing:
            raise KeyError(f"{args.inputs} lacks arrays {missing}; has {data.files}")
        arrays = {n: np.asarray(data[n]) for n in INPUT_NAMES}
    n, seq = arrays["input_ids"].shape[0], arrays["input_ids"].shape[-1]
    if arrays["attention_mask"].shape != arrays["input_ids"].shape:
        raise ValueError(
            f"input_ids {arrays['input_ids'].shape} and attention_mask"
            f" {arrays['attention_mask'].shape} differ in shape"
        )
    interp = Interpreter(model_path=args.run)
    runner = interp.get_signature_runner()
    in_details = runner.get_input_details()
    keys = list(in_details)
    shape = tuple(int(s) for s in next(iter(in_details.values()))["shape"])
    if len(shape) != arrays["input_ids"].ndim or shape[-1] != seq:
        raise ValueError(f"model input shape {shape} does not fit inputs of shape {arrays['input_ids'].shape}")
    mb = shape[0]
    logits = []
    for start in range(0, n, mb):
        take = min(mb, n - start)
        feeds = {}
        for key, det in in_details.items():
            src = pick_input(key, keys, arrays)[start:start + take]
            if take < mb:  # pad the last chunk by repeating its final row
                src = np.concatenate([src, np.repeat(src[-1:], mb - take, axis=0)])
            feeds[key] = np.ascontiguousarray(src.astype(det["dtype"]))
        out = first_output(runner(**feeds))
        logits.extend(np.asarray(out, dtype=np.float64).reshape(mb, -1)[:take].tolist())
    return {"ok": True, "logits": logits, "model_batch": mb, "rows": n}
