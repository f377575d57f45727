"""Atomic writes: every file appears whole or not at all (temporary name in the same folder, then rename)."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distill import dist
from distill.errors import UserError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    Works for files and folders (a folder that already exists at `path` is replaced whole).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a process killed inside this block (kill -9, OOM) leaves its temporary behind; one writer per path at a
    # time (the folder lock), so a leftover for this same path is stale and goes now
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def replace(src: Path, dst: Path) -> None:
    """Rename `src` onto `dst`; a folder already at `dst` is swapped out whole, then deleted."""
    if dst.is_dir() and src.is_dir():
        old = dst.with_name(f".{dst.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid JSON ({e})") from None


LOCK_NAME = ".distill-bench.lock"


@contextlib.contextmanager
def exclusive(folder: str | os.PathLike, name: str = LOCK_NAME) -> Iterator[None]:
    """Hold `folder` for this process: a second distill-bench writing the same folder at once is refused.

    An flock on FOLDER/NAME (.distill-bench.lock); the kernel drops it when the process ends, however it ends (kill -9
    included), so a stale lock file never blocks a rerun. The file is removed on a normal exit; a lock taken on
    a file that was removed meanwhile is retaken on the new one. Under torchrun only rank 0 takes it.
    """
    if not dist.is_main():
        yield
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    while True:
        f = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise UserError(f"{folder}: in use by {holder}; two runs must not write one folder at once — wait "
                            "for it to finish or use another folder / --run-id") from None
        if path.exists() and os.stat(path).st_ino == os.fstat(f.fileno()).st_ino:
            break
        f.close()  # the holder removed the file between our open and our lock: lock the current one
    try:
        f.seek(0)
        f.truncate()
        f.write(f"distill-bench pid {os.getpid()} on {socket.gethostname()}\n")
        f.flush()
        yield
    finally:
        path.unlink(missing_ok=True)
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()
