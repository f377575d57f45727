"""95% intervals for the bench's figures. Pure functions of raw timings; nothing here measures.

- A percentile of per-call latencies: the distribution-free order-statistic interval. The count of calls
  faster than the true q-quantile is Binomial(n, q), so the sorted timings at ranks taken from that
  binomial's 2.5% and 97.5% points bracket the quantile with at least 95% coverage, whatever the latency
  distribution (the reasoning LoadGen's early stopping uses to bound its p90). Too few calls for a tail
  percentile leave that side open (None).
- A ratio of two timed figures (a speed-up): a paired block bootstrap. The two arms were measured in
  interleaved blocks (A B A B …, bench/test_interleaved.py), so resampling whole blocks, the same ones for
  both arms, keeps whatever drift a block shared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import binom

CONFIDENCE = 0.95


def quantile_ci(values, q: float, confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
    """The order-statistic interval for the q-quantile (0 < q < 1) of the distribution `values` came from."""
    x = np.sort(np.asarray(values, np.float64))
    n = x.size
    if n == 0:
        return None, None
    alpha = (1.0 - confidence) / 2
    lo = int(binom.ppf(alpha, n, q))  # rank (1-based) of the lower bound: P(Bin(n, q) < lo) ≤ alpha
    hi = int(binom.ppf(1.0 - alpha, n, q)) + 1  # rank of the upper bound: P(Bin(n, q) ≥ hi) ≤ alpha
    return (float(x[lo - 1]) if lo >= 1 else None), (float(x[hi - 1]) if hi <= n else None)


def percentile_cis(values, percentiles=(50, 90, 95, 99)) -> dict[str, list[float | None]]:
    return {f"p{p}": list(quantile_ci(values, p / 100)) for p in percentiles}


def median_ms(blocks: Sequence[np.ndarray], batch_size: int) -> float:
    """p50 per call, ms, of the pooled calls of some blocks (each block: per-call seconds)."""
    return float(np.median(np.concatenate(blocks))) * 1e3


def samples_per_s(blocks: Sequence[np.ndarray], batch_size: int) -> float:
    """Throughput of the pooled calls: samples / total seconds."""
    calls = np.concatenate(blocks)
    return batch_size * calls.size / float(calls.sum())


FIGURES: dict[str, Callable[[Sequence[np.ndarray], int], float]] = {"p50_ms": median_ms,
                                                                    "samples_per_s": samples_per_s}


def ratio_ci(a_blocks: Sequence[np.ndarray], a_batch: int, b_blocks: Sequence[np.ndarray], b_batch: int,
             figure: str, resamples: int = 2000, seed: int = 0,
             confidence: float = CONFIDENCE) -> tuple[float, list[float]]:
    """figure(A) / figure(B) and its percentile bootstrap interval over paired blocks (block k of A was run
    beside block k of B). Both arms need the same number of blocks."""
    if len(a_blocks) != len(b_blocks) or not a_blocks:
        raise ValueError(f"paired blocks needed: {len(a_blocks)} vs {len(b_blocks)}")
    f = FIGURES[figure]
    point = f(a_blocks, a_batch) / f(b_blocks, b_batch)
    rng = np.random.default_rng(seed)
    k = len(a_blocks)
    draws = np.empty(resamples)
    for i in range(resamples):
        pick = rng.integers(0, k, k)
        draws[i] = f([a_blocks[j] for j in pick], a_batch) / f([b_blocks[j] for j in pick], b_batch)
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(draws, [alpha, 1.0 - alpha])
    return float(point), [float(lo), float(hi)]
