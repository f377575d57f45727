"""`running()`: seconds this process has been running, the time it spent stopped left out.

Long jobs here are paused with SIGSTOP while a benchmark runs (never benchmark beside training), and a paused
hour must not count as an hour of training in a curve's wall-time axis or a table's training minutes. A stopped
process cannot see its own pause, but a daemon thread that wakes every TICK seconds can, once it runs again:
a wake-up far later than asked is time the process was stopped (or the machine suspended). Late wake-ups
under CPU contention are milliseconds, and a call that holds the GIL for long (a big json.loads) is seconds,
so only a gap over GAP seconds counts as a pause (a benchmark's pause lasts minutes); a pause is measured to
within about one tick. The thread is started on first use.
"""

from __future__ import annotations

import threading
import time

TICK = 0.5
GAP = 30.0

_lock = threading.Lock()
_paused = 0.0
_last = time.monotonic()  # the watcher's latest wake-up
_thread: threading.Thread | None = None


def _pause_since_last(now: float) -> float:
    """The part of the time since the watcher's last wake-up that was a pause (0 if it was not one)."""
    late = now - _last
    return late - TICK if late > GAP else 0.0


def _watch() -> None:
    global _paused, _last
    while True:
        time.sleep(TICK)
        now = time.monotonic()
        with _lock:
            _paused += _pause_since_last(now)
            _last = now


def paused() -> float:
    """Seconds this process has been seen stopped since the clock started; a pause that has just ended but
    that the watcher has not woken to yet counts already (the caller may run first after SIGCONT)."""
    _start()
    with _lock:
        return _paused + _pause_since_last(time.monotonic())


def running() -> float:
    """A monotonic clock that does not advance while the process is stopped (for differences only)."""
    return time.monotonic() - paused()


def _start() -> None:
    global _thread, _last
    with _lock:
        if _thread is None or not _thread.is_alive():  # a forked child has no watcher: start its own
            _last = time.monotonic()
            _thread = threading.Thread(target=_watch, name="distill-clock", daemon=True)
            _thread.start()
