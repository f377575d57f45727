"""Benchmark inputs from real dev text, at one fixed length so every runtime does the same work.

Row r starts at dev sentence r (file order) and continues through the sentences after it until the
artifact's own tokenizer has produced exactly `seq_len` tokens; the row is cut there. So every row is real
text with no padding, a batch-1 call costs the same from round to round (a stable p90), and a fixed-length
artifact (ExecuTorch, LiteRT) runs at the same length as the others rather than routing short rows to a
smaller bucket. The natural dev length distribution is reported beside the results (`length_stats`).
For a pair task `seq_len` is the length of each sentence.
"""

from __future__ import annotations

import numpy as np


def packed_texts(encoder, texts: list[str], seq_len: int, rows: int) -> list[str]:
    """Row r: dev sentence r and the ones after it, joined until the tokenizer gives at least seq_len tokens."""
    n, out = len(texts), []
    for r in range(rows):
        k = 1
        while True:
            text = " ".join(texts[(r + j) % n] for j in range(k))
            _, row_mask = encoder([text], seq_len)
            if row_mask.sum() >= seq_len or k >= n:
                break
            k += 1
        if row_mask.sum() < seq_len:
            raise ValueError(f"the whole dev set gives only {int(row_mask.sum())} tokens; --seq-len {seq_len} "
                             "is longer than that")
        out.append(text)
    return out


def packed_rows(encoder, texts: list[str], seq_len: int, rows: int,
                texts_b: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`rows` rows of real text, every mask all ones: (rows, seq_len) for single sentences.

    Pairs (`texts_b`): each sentence packed as above from its own column. A student gets them as (rows, 2,
    seq_len); a Hugging Face model gets both in one row joined its tokenizer's way, cut longest-first to
    2 × seq_len − 1 tokens: for BERT [CLS] a [SEP] b [SEP] with seq_len − 2 words of each, the same words
    (and specials) as the two student sentences."""
    a = packed_texts(encoder, texts, seq_len, rows)
    if texts_b is None:
        ids, _ = encoder(a, seq_len)
        return np.ascontiguousarray(ids[:, :seq_len]), np.ones((rows, seq_len), np.int64)
    b = packed_texts(encoder, texts_b, seq_len, rows)
    ids, mask = encoder(a, seq_len if encoder.kind == "student" else 2 * seq_len - 1, b)
    if not mask.all():
        raise ValueError(f"packed pair rows came out shorter than seq_len {seq_len}")
    return ids, mask


def batches(ids: np.ndarray, mask: np.ndarray, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Consecutive batches over the row pool (wrapping around), at least one."""
    count = max(1, len(ids) // batch_size)
    out = []
    for b in range(count):
        idx = np.arange(b * batch_size, (b + 1) * batch_size) % len(ids)
        out.append((np.ascontiguousarray(ids[idx]), np.ascontiguousarray(mask[idx])))
    return out


def length_stats(encoder, texts: list[str], max_length: int, texts_b: list[str] | None = None) -> dict:
    """Token lengths of the dev examples as they are (cut at the model's max length): per sentence for a pair
    student, per joined pair for a Hugging Face pair model."""
    lengths = []
    for i in range(0, len(texts), 256):
        _, mask = encoder(texts[i:i + 256], max_length, texts_b[i:i + 256] if texts_b is not None else None)
        lengths += mask.sum(-1).ravel().tolist()
    lengths = np.asarray(lengths)
    p50, p90, p99 = np.percentile(lengths, [50, 90, 99])
    return {"n": int(lengths.size), "mean": round(float(lengths.mean()), 2),
            "p50": round(float(p50), 1), "p90": round(float(p90), 1), "p99": round(float(p99), 1),
            "max": int(lengths.max()), "min": int(lengths.min())}
