"""Benchmark inputs from real dev text, at one fixed length so every runtime does the same work.

Row r starts at dev sentence r (file order) and continues through the sentences after it until the
artifact's own tokenizer has produced exactly `seq_len` tokens; the row is cut there. So every row is real
text with no padding, a batch-1 call costs the same from round to round (a stable p90), and a fixed-length
artifact (ExecuTorch, LiteRT) runs at the same length as the others rather than routing short rows to a
smaller bucket. The natural dev length distribution is reported beside the results (`length_stats`).
"""

from __future__ import annotations

import numpy as np


def packed_rows(encoder, texts: list[str], seq_len: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """`rows` × `seq_len` (input_ids, attention_mask) of real text, every mask all ones."""
    n = len(texts)
    ids = np.zeros((rows, seq_len), np.int64)
    for r in range(rows):
        k = 1
        while True:
            text = " ".join(texts[(r + j) % n] for j in range(k))
            row_ids, row_mask = encoder([text], seq_len)
            if row_mask.sum() >= seq_len or k >= n:
                break
            k += 1
        if row_mask.sum() < seq_len:
            raise ValueError(f"the whole dev set gives only {int(row_mask.sum())} tokens; --seq-len {seq_len} "
                             "is longer than that")
        ids[r] = row_ids[0, :seq_len]
    return ids, np.ones_like(ids)


def batches(ids: np.ndarray, mask: np.ndarray, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Consecutive batches over the row pool (wrapping around), at least one."""
    count = max(1, len(ids) // batch_size)
    out = []
    for b in range(count):
        idx = np.arange(b * batch_size, (b + 1) * batch_size) % len(ids)
        out.append((np.ascontiguousarray(ids[idx]), np.ascontiguousarray(mask[idx])))
    return out


def length_stats(encoder, texts: list[str], max_length: int) -> dict:
    """Token lengths of the dev sentences as they are (each alone, cut at the model's max length)."""
    lengths = []
    for i in range(0, len(texts), 256):
        _, mask = encoder(texts[i:i + 256], max_length)
        lengths += mask.sum(1).tolist()
    lengths = np.asarray(lengths)
    p50, p90, p99 = np.percentile(lengths, [50, 90, 99])
    return {"n": int(lengths.size), "mean": round(float(lengths.mean()), 2),
            "p50": round(float(p50), 1), "p90": round(float(p90), 1), "p99": round(float(p99), 1),
            "max": int(lengths.max()), "min": int(lengths.min())}
