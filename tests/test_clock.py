"""distill.clock: a process stopped with SIGSTOP (how long jobs are paused for benchmarks) does not count the
pause as running time; a busy or sleeping process counts every second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

CHILD = """
import sys, time
from distill import clock
clock.GAP = 1.0  # seconds: the test's pause is 3 s
r0, w0 = clock.running(), time.monotonic()
print("ready", flush=True)
sys.stdin.readline()  # the parent stops us, waits, continues us, then writes this line
print(round(clock.running() - r0, 2), round(time.monotonic() - w0, 2), flush=True)
"""


def test_a_stopped_process_does_not_count_its_pause():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        os.kill(child.pid, signal.SIGSTOP)
        time.sleep(3.0)
        os.kill(child.pid, signal.SIGCONT)
        child.stdin.write("go\n")
        child.stdin.flush()
        running, wall = map(float, child.stdout.readline().split())
    finally:
        child.kill()
    assert wall >= 3.0
    assert abs((wall - running) - 3.0) < 1.0, (running, wall)  # the pause, to within about one tick


def test_unpaused_time_counts_whole():
    from distill import clock

    r0, w0 = clock.running(), time.monotonic()
    time.sleep(1.2)  # below the gap: a slow wake-up is not a pause
    assert abs((clock.running() - r0) - (time.monotonic() - w0)) < 0.05
