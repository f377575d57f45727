"""export.isolate.in_child: a build step in a forked child returns its result, its errors and its warnings,
and the memory it keeps goes back to the OS when it exits."""

from __future__ import annotations

import os
import signal
import warnings

import pytest

from distill.errors import UserError
from export.isolate import ChildDied, in_child

_KEPT: list = []  # what a leaky exporter holds on to after it returns (like the export caches)


def _leak(megabytes: int) -> int:
    block = bytearray(megabytes << 20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    _KEPT.append(block)
    return len(block)


def _resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _fail():
    raise UserError("bad option in the child")


def _warn_and_return():
    warnings.warn("a converter warning", DeprecationWarning, stacklevel=1)
    return {"nodes": 7}


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc for resident memory")
def test_memory_kept_by_the_step_is_freed_with_the_child():
    before = _resident_mb()
    assert in_child(_leak, 300) == 300 << 20
    assert _resident_mb() - before < 50 and not _KEPT  # the child's 300 MB died with it
    _leak(300)  # the same step in this process keeps it: the check above can tell the difference
    assert _resident_mb() - before > 250
    _KEPT.clear()


def test_errors_come_back_with_their_type_and_the_child_traceback():
    with pytest.raises(UserError, match="bad option in the child") as info:
        in_child(_fail)
    assert any("raised in the build process" in n and "_fail" in n for n in info.value.__notes__)


def test_warnings_are_raised_again_in_the_parent():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert in_child(_warn_and_return) == {"nodes": 7}
    assert [(w.category, str(w.message)) for w in caught] == [(DeprecationWarning, "a converter warning")]


def test_a_killed_child_is_reported_with_the_likely_cause():
    with pytest.raises(ChildDied, match="SIGKILL.*out-of-memory"):
        in_child(_die)
