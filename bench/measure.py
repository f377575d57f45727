"""Measurements as dataclasses with units: latency statistics from raw timings, and how many rounds to run.

Percentiles use numpy's default (linear interpolation), so p90 of [1..10] ms is 9.1 ms; the CV is the sample
standard deviation over the mean, in percent. Each percentile carries its 95% order-statistic interval
(bench/intervals.py) in `ci95`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from bench.intervals import percentile_cis


@dataclass(frozen=True)
class LatencyStats:
    """Per-call latency in milliseconds (one call = one batch)."""

    count: int
    mean: float
    stdev: float
    cv_pct: float
    min: float
    p50: float
    p90: float
    p95: float
    p99: float
    max: float
    ci95: dict | None = None  # {"p50": [lo, hi], ...}: None on a side too few calls leave open
    unit: str = "ms"

    @classmethod
    def from_seconds(cls, seconds) -> LatencyStats:
        ms = np.asarray(list(seconds), np.float64) * 1e3
        if ms.size == 0:
            raise ValueError("no timings to summarise")
        stdev = float(ms.std(ddof=1)) if ms.size > 1 else 0.0
        mean = float(ms.mean())
        p50, p90, p95, p99 = (float(v) for v in np.percentile(ms, [50, 90, 95, 99]))
        return cls(count=int(ms.size), mean=mean, stdev=stdev, cv_pct=100 * stdev / mean if mean else 0.0,
                   min=float(ms.min()), p50=p50, p90=p90, p95=p95, p99=p99, max=float(ms.max()),
                   ci95={k: [None if v is None else round(v, 6) for v in pair]
                         for k, pair in percentile_cis(ms).items()})

    def as_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def throughput_sps(batch_size: int, seconds) -> float:
    """Samples per second over all timed calls (total samples / total time)."""
    seconds = list(seconds)
    return batch_size * len(seconds) / sum(seconds)


@dataclass(frozen=True)
class RoundPlan:
    """Rounds for one benchmark: at least `min_rounds` and at least `min_time_s` of timed calls, with the
    time-based count capped by `max_time_s` (the minimum round count always wins). The time-based count
    aims 10% past the minimum, so calls a little faster than the warm-up estimate still clear it."""

    min_rounds: int
    min_time_s: float
    max_time_s: float

    def rounds(self, seconds_per_call: float) -> int:
        per_call = max(seconds_per_call, 1e-7)
        by_time = math.ceil(1.1 * self.min_time_s / per_call)
        cap = max(1, math.floor(self.max_time_s / per_call))
        return max(self.min_rounds, min(by_time, cap))

    def met(self, seconds) -> dict:
        """Whether the timed calls meet both minimums (a result is valid only if they do)."""
        seconds = list(seconds)
        total = float(sum(seconds))
        return {"rounds": len(seconds), "duration_s": round(total, 4),
                "min_rounds_met": len(seconds) >= self.min_rounds, "min_time_met": total >= self.min_time_s,
                "valid": len(seconds) >= self.min_rounds and total >= self.min_time_s}
