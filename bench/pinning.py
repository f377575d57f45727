"""`--pin-core N`: 1-thread measurements run with their measuring thread bound to CPU core N (default: auto).

On a VM the scheduler may move a single busy thread between cores mid-measurement (cold caches, another
tenant's core); binding it is the usual remedy, and whether it narrows the spread between bench runs is
measured (results/sst2-bench-repro-pinned against results/sst2-bench-repro: the 1-thread p50 spread
between runs fell from 14.5% to 0.75%), which is why binding is the default. Only the calling thread is
bound (Linux sched_setaffinity with pid 0): ONNX Runtime at 1 intra-op thread and torch at 1 thread
compute on it, and a LoadGen server's worker started inside inherits the binding. Multi-thread
measurements are never bound (they need every core).
"""

from __future__ import annotations

import contextlib
import os


def default_core() -> int:
    """`--pin-core auto`: the last core this process may run on (the first tends to take the VM's interrupts)."""
    return max(os.sched_getaffinity(0))


def check_core(core: int | None) -> int | None:
    """The core, if this process may run on it (ValueError naming the allowed ones if not)."""
    allowed = sorted(os.sched_getaffinity(0))
    if core is not None and core not in allowed:
        raise ValueError(f"core {core} is not one this process may run on ({', '.join(map(str, allowed))})")
    return core


@contextlib.contextmanager
def pinned(core: int | None, threads: int):
    """Bind the calling thread to `core` while a 1-thread measurement runs; otherwise change nothing."""
    if core is None or threads != 1:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
