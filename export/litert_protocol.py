"""How the LiteRT converter script (export/litert_convert.py) answers: exactly one JSON line on stdout, and
everything the converter logs (Python prints, rich progress, C++ logs, warnings) on stderr or in the answer.

Runs inside the LiteRT virtualenv beside litert_convert.py, which imports it as a sibling module (the script's
folder is first on sys.path); like the script, it imports nothing from the project.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from importlib.metadata import version as _dist_version

MAX_WARNINGS = 20
_NOISY_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def version(dist: str) -> str | None:
    try:
        return _dist_version(dist)
    except Exception:  # pragma: no cover - metadata missing
        return None


@contextlib.contextmanager
def stdout_to_stderr():
    """Send fd 1 to stderr (Python prints, rich progress and C++ logs alike).

    Yields a writer for the real stdout, used for the single JSON result line.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    real = os.fdopen(os.dup(saved), "w")
    try:
        yield real
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


class _Collector(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        # a record whose message cannot be formatted must not break the conversion it reports on
        with contextlib.suppress(Exception):
            self.sink.append(record.getMessage())


@contextlib.contextmanager
def collect_warnings(sink: list[str]):
    handler = _Collector(sink)
    root = logging.getLogger()
    root.addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            root.removeHandler(handler)
            for w in caught:
                if not issubclass(w.category, _NOISY_CATEGORIES):
                    sink.append(f"{w.category.__name__}: {w.message}")


def dedupe(messages: list[str]) -> list[str]:
    out: list[str] = []
    for m in messages:
        m = " ".join(str(m).split())[:500]
        if m and m not in out:
            out.append(m)
    return out[:MAX_WARNINGS]
