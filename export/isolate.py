"""Run one build step in a fresh child process, so whatever memory it keeps dies with it.

Lowering a model to ExecuTorch leaves gigabytes per length bucket alive in the process (export and dynamo
caches that `torch._dynamo.reset()` and `gc.collect()` free only in part). Measured on the MNLI pair student,
int8: each of the 16, 32 and 64 buckets alone peaks at 2.8, 4.9 and 9.5 GB, but the three in one process
passed 13.2 GB and were killed. A child process gives its memory back to the OS when it exits.

The child is spawned, not forked: a fork taken after this process has run torch ops hung inside
torch.export (a tensor clone waiting on the intra-op thread pool, which does not survive a fork). So the
step gets what it needs as plain arguments (a folder to load the model from, options, texts) and returns a
small result; multiprocessing carries both between our own two processes.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import traceback
import warnings
from collections.abc import Callable


class ChildDied(RuntimeError):
    """The child ended without an answer: killed (often by the kernel for memory) or crashed."""


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " — usually the kernel's out-of-memory killer; build fewer buckets (--buckets)" \
            if -exitcode == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit code {exitcode}"


def _picklable(category: type[Warning]) -> type[Warning]:
    """A warning class made on the fly cannot travel between processes; its nearest builtin base can."""
    try:
        pickle.dumps(category)
        return category
    except Exception:
        return next(c for c in category.__mro__ if c.__module__ == "builtins")


def _child(send, fn: Callable, args: tuple) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            answer = ("ok", fn(*args))
        except BaseException as e:  # noqa: BLE001 - every failure goes back to the parent, with its traceback
            answer = ("error", e, traceback.format_exc())
    raised = [(str(w.message), _picklable(w.category), w.filename, w.lineno) for w in caught]
    try:
        send.send((answer, raised))
    except Exception as e:  # an exception or result that does not pickle still comes back, as text
        what = f"{type(answer[1]).__name__}: {answer[1]}" if answer[0] == "error" else f"its result ({e})"
        send.send((("error", RuntimeError(f"cannot send back {what}"), answer[-1]), raised))
    send.close()


def in_child(fn: Callable, *args):
    """fn(*args) in a spawned child; its return value or its exception comes back, and the warnings it raised
    are raised again here. fn must be importable (module level) and args picklable."""
    mp = multiprocessing.get_context("spawn")
    receive, send = mp.Pipe(duplex=False)
    process = mp.Process(target=_child, args=(send, fn, args))  # not a daemon: a build may start processes
    process.start()
    send.close()  # the child holds the only writer now, so its death ends recv() with EOFError
    answer, raised = None, []
    try:
        answer, raised = receive.recv()
    except EOFError:
        pass
    finally:
        process.join(timeout=None if answer is not None else 5)
        if process.is_alive():  # Ctrl-C or an error here: never leave a build running behind
            process.kill()
            process.join()
    for message, category, filename, lineno in raised:  # the caller's warning filters and records see them
        warnings.warn_explicit(message, category, filename, lineno)
    if answer is None:
        raise ChildDied(f"the build process ended without a result ({_describe(process.exitcode)})")
    if answer[0] == "error":
        error, remote = answer[1], answer[2]
        error.add_note(f"raised in the build process:\n{remote}")
        raise error
    return answer[1]
