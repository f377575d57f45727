"""Process pools whose workers cannot outlive the process that started them.

A pipeline killed on its own (kill PID, not the process group) would leave its spawned training workers running:
they keep writing checkpoints into a run folder whose lock (distill/io.py `exclusive`) died with the pipeline, so
a second pipeline could then write the same student folder. Each worker watches its parent and exits when it is
gone; a worker stopped mid-chunk leaves only what its atomic writes completed, which the next run resumes from.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PARENT_POLL_S = 1.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _exit_with_parent(owner: int) -> None:
    # a spawned worker's parent is `owner`; a forkserver's worker's is the fork server, which exits with `owner`:
    # either way an orphan is re-parented (to init or a subreaper) and its parent id changes
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent and _alive(owner):
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def bound_pool(workers: int, method: str) -> ProcessPoolExecutor:
    """A ProcessPoolExecutor (start method `method`) whose workers exit when this process dies."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))
