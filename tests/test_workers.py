"""Pool workers exit when the process that started them is killed (no orphan keeps writing a run folder)."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

DRIVER = """
import os, sys, time
from distill.workers import bound_pool
if __name__ == "__main__":
    pool = bound_pool(1, sys.argv[1])
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 120)
    time.sleep(120)
"""


def _gone(pid: int, within_s: float) -> bool:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_worker_exits_when_its_pipeline_is_killed(method, tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(driver), method], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own group: the kill below reaches the driver only
    worker = None
    try:
        worker = int(proc.stdout.readline())
        time.sleep(1.5)  # the worker is now inside its 120 s task
        assert not _gone(worker, 0.5)  # alive while its owner is
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _gone(worker, 10), f"worker {worker} outlived its killed owner"
    finally:  # nothing outlives the test, whatever it found
        for pid in filter(None, (None if proc.poll() is not None else proc.pid, worker)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
