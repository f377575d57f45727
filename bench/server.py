"""The server scenario: Poisson arrivals at a target QPS into one worker with a bounded queue.

The load generator draws arrival times up front (seeded) and replays them in real time. The worker serves
requests first in, first out; a request that arrives while `queue_limit` earlier ones are still waiting or
in service is dropped, as a server with a bounded queue would. Latency runs from arrival to completion, so
queueing delay counts. Since requests are served in order, the queue depth a request met on arrival is
known exactly when its turn comes (completions of all earlier requests are known by then).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ServerResult:
    target_qps: float
    offered_qps: float  # the rate the seeded draw actually produced (requests / last arrival time)
    offered: int
    completed: int
    dropped: int
    late: int  # completed but slower than the bound
    achieved_qps: float
    p50_ms: float
    p99_ms: float
    bound_ms: float
    duration_s: float
    queue_limit: int

    @property
    def within_bound(self) -> bool:
        return self.dropped == 0 and self.completed > 0 and self.p99_ms <= self.bound_ms

    def as_dict(self) -> dict:
        return {**asdict(self), "within_bound": self.within_bound}


def _wait_until(deadline: float, start: float) -> None:
    """Sleep most of the gap and spin the last half millisecond (sleep alone overshoots by ~0.1 ms)."""
    while True:
        left = deadline - (time.perf_counter() - start)
        if left <= 0:
            return
        if left > 5e-4:
            time.sleep(left - 5e-4)


def run_server(call: Callable[[int], object], qps: float, requests: int, bound_ms: float,
               queue_limit: int = 64, seed: int = 0) -> ServerResult:
    arrivals = np.cumsum(np.random.default_rng(seed).exponential(1.0 / qps, requests))
    completions: list[float] = []  # of admitted requests, ascending (one FIFO worker)
    latencies, dropped = [], 0
    start = time.perf_counter()
    for i, arrival in enumerate(arrivals):
        _wait_until(arrival, start)
        waiting = len(completions) - bisect.bisect_right(completions, arrival)
        if waiting >= queue_limit:
            dropped += 1
            continue
        call(i)
        done = time.perf_counter() - start
        completions.append(done)
        latencies.append(done - arrival)
    duration = max(completions[-1] if completions else 0.0, float(arrivals[-1]))
    ms = np.asarray(latencies) * 1e3
    p50, p99 = (float(v) for v in np.percentile(ms, [50, 99])) if ms.size else (float("inf"),) * 2
    return ServerResult(target_qps=round(qps, 3), offered_qps=round(requests / float(arrivals[-1]), 3),
                        offered=requests, completed=len(latencies), dropped=dropped,
                        late=int((ms > bound_ms).sum()), achieved_qps=round(len(latencies) / duration, 3),
                        p50_ms=round(p50, 4), p99_ms=round(p99, 4), bound_ms=bound_ms,
                        duration_s=round(duration, 3), queue_limit=queue_limit)


def requests_for(qps: float, seconds: float, minimum: int = 100) -> int:
    return max(minimum, int(round(qps * seconds)))


def max_qps_under_bound(call, capacity_qps: float, bound_ms: float, seconds: float,
                        fractions=(0.5, 0.8, 0.9, 0.95), queue_limit: int = 64) -> tuple[float, list[dict]]:
    """The highest of `fractions` × capacity whose p99 stays under the bound with nothing dropped (0 if
    none), and every level tried. Stops at the first level that misses."""
    best, tried = 0.0, []
    for f in fractions:
        qps = f * capacity_qps
        result = run_server(call, qps, requests_for(qps, seconds), bound_ms, queue_limit)
        tried.append({"fraction_of_capacity": f, **result.as_dict()})
        if not result.within_bound:
            break
        best = result.target_qps
    return best, tried
