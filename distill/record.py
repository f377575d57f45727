"""What made a stage output, and the one rerun rule every stage follows.

Every stage output (teacher folder, transfer set, logits folder, student folder, export artifact, bench run)
gets a record beside it: `record.json` inside a folder output, `<stem>.record.json` beside a file output.

    {"stage": "label",
     "settings": {...},            the resolved settings that change what the output is
     "inputs": {"teacher": sha256, "transfer": sha256, ...},   every file it read, by content
     "version": "0.1.0",           the distill-bench version (a version bump marks changed behaviour)
     "provenance": {git sha + dirty flag, library versions, utc, command},   recorded, not compared
     "complete": false → true,     written when the stage starts; true once its output is whole
     "output_sha256": …}           the output itself, once complete: an output edited since is a difference

The rule (`claim`), the same for the pipeline and every stage command:
- no output yet                        → run
- same settings, inputs and version:   finished → skipped (and it says so); unfinished → resumed
- anything different, or an output with no record
                                       → refused, one line per differing key (old → new), nothing touched
- the same with `force=True`           → the old output is moved aside (`.<name>.replaced`) and the stage runs
                                         again; the old one is deleted only when the new one is complete, so a
                                         killed forced run never leaves a mix of the two.
Downstream stages record the sha256 of what they read, so redoing a stage makes every stage that read its
output differ in turn: `--force` on the pipeline redoes exactly the changed stage and what depends on it.

What a job ran on (threads, processes, batch sizes that only change speed) is provenance, not identity: a
rerun on another machine or thread count is not a difference.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import shutil
from pathlib import Path
from typing import Any

from distill.errors import UserError
from distill.io import file_sha256, read_json, write_json
from distill.runinfo import command_line, git_state, library_versions

RECORD = "record.json"
IDENTITY = ("stage", "settings", "inputs", "version")
IGNORED_FILES = {RECORD, ".distill-bench.lock"}


def project_version() -> str:
    try:
        return importlib.metadata.version("distill-bench")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


FILE_OUTPUTS = (".tsv", ".csv")  # a transfer set is a file; every other stage output is a folder


def record_path(output: str | Path) -> Path:
    """record.json inside a folder output; `<stem>.record.json` beside a file output (transfer.tsv)."""
    output = Path(output)
    return output.parent / f"{output.stem}.record.json" if output.suffix in FILE_OUTPUTS else output / RECORD


def folder_sha256(folder: str | Path) -> str:
    """One digest of every file under `folder` (relative path and content), hidden files and records aside:
    a teacher folder is its weights, config and tokenizer together."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: folder not found")
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if path.name in IGNORED_FILES or any(part.startswith(".") for part in rel.parts):
            continue
        h.update(f"{rel.as_posix()}\0{file_sha256(path)}\n".encode())
    return h.hexdigest()


def task_identity(task, splits: tuple[str, ...] = ("train", "dev")) -> tuple[dict, dict]:
    """(settings, inputs) of a task: its name, columns and labels; the sha256 of each data file read."""
    settings = {"name": task.name, "text_columns": list(task.text_columns), "label_column": task.label_column,
                "label_names": list(task.label_names), "protocol": task.protocol.split(":")[0]}
    inputs = {f"data.{s}": file_sha256(task.files[s]) for s in (*splits, *task.extra_dev) if s in task.files}
    return settings, inputs


def make_record(stage: str, settings: dict, inputs: dict[str, str | None]) -> dict:
    return {"stage": stage, "settings": settings, "inputs": {k: v for k, v in inputs.items() if v is not None},
            "version": project_version(), "complete": False,
            "provenance": {"utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                           "git": git_state(), "command": command_line(),
                           "libraries": library_versions()}}


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: obj}


_MISSING = object()


def _show(value: Any) -> str:
    """A value as the user reads it; a sha256 by its first 12 hex digits."""
    if value is _MISSING:
        return "(absent)"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12] + "…"
    return repr(value)


def differences(old: dict, new: dict) -> list[str]:
    """One line per key of the identity that differs: `settings.lr: 5e-05 → 3e-05`."""
    a, b = _flat({k: old.get(k) for k in IDENTITY}), _flat({k: new.get(k) for k in IDENTITY})
    return [f"{key}: {_show(a.get(key, _MISSING))} → {_show(b.get(key, _MISSING))}"
            for key in sorted(set(a) | set(b)) if a.get(key, _MISSING) != b.get(key, _MISSING)]


def _has_output(output: Path) -> bool:
    if output.is_dir():
        return any(p.name not in IGNORED_FILES and not p.name.startswith(".") for p in output.iterdir())
    return output.exists()


def _aside(output: Path) -> Path:
    return output.parent / f".{output.name}.replaced"


def _companions(output: Path) -> list[Path]:
    """A file output's record (and its stats file, transfer.json) travel with it."""
    if output.suffix in FILE_OUTPUTS:
        return [record_path(output), output.with_suffix(".json")]
    return []


def output_sha256(output: Path) -> str:
    return file_sha256(output) if output.suffix in FILE_OUTPUTS else folder_sha256(output)


def decide(output: str | Path, record: dict) -> tuple[str, list[str]]:
    """The rule, without acting on it: ("run" | "resume" | "skip" | "differs", the differing lines). A finished
    output whose files changed since it was made (a transfer set edited by hand) differs too."""
    output = Path(output)
    path = record_path(output)
    old = read_json(path) if path.is_file() else None
    if old is not None and not differences(old, record):
        if not old.get("complete"):
            return "resume", []
        now = output_sha256(output) if output.exists() else None
        if now != old.get("output_sha256"):
            return "differs", [f"output_sha256: {_show(old.get('output_sha256'))} → {_show(now)} (its files changed "
                               "since it was made)"]
        return "skip", []
    if old is not None:
        if not old.get("complete") and not _has_output(output):
            return "run", []  # claimed, then stopped before making anything (a refused labeller): nothing to keep
        return "differs", differences(old, record)
    if _has_output(output):
        return "differs", ["(no record of what made it: made by hand or by a version that kept no records)"]
    return "run", []


def refusal(what: str, lines: list[str]) -> UserError:
    return UserError(f"{what} was made with other settings or inputs; it is kept as it is (--force redoes it and "
                     f"what depends on it, or use a new --run-id / --out):\n  " + "\n  ".join(lines))


def claim(output: str | Path, record: dict, force: bool = False, what: str | None = None, log=print) -> str:
    """Apply the rerun rule to `output` for `record`: returns "run", "resume" or "skip", writing the record
    (complete = false) when the stage is to run; raises UserError when the output was made differently."""
    output = Path(output)
    what = what or str(output)
    path = record_path(output)
    decision, lines = decide(output, record)
    if decision == "skip":
        log(f"{what} exists, skipped: made with the same settings and inputs ({path})")
        return "skip"
    if decision == "resume":  # a resumed output keeps when and how it was started; its time adds up
        old = read_json(path)
        _write(path, {**record, "provenance": old.get("provenance", record["provenance"]),
                      "seconds": old.get("seconds", 0.0), "runs": old.get("runs", 1) + 1})
        return "resume"
    if decision == "differs":
        if not force:
            raise refusal(what, lines)
        log(f"{what}: --force: redoing it ({len(lines)} difference(s): {'; '.join(lines)[:300]})")
        _move_aside(output)
    _write(path, {**record, "seconds": 0.0, "runs": 1})
    return "run"


def _move_aside(output: Path) -> None:
    """Keep the old output whole until the new one is complete. An aside already there is the original
    (a forced run was killed before): the partial output of that run goes instead. A folder's contents move,
    not the folder: the command's lock file inside it stays where the next writer looks for it."""
    aside = _aside(output)
    things = [p for p in output.iterdir() if p.name != ".distill-bench.lock"] if output.is_dir() else [output]
    things += [p for p in _companions(output) if p.exists()]
    if aside.exists():
        for p in things:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        return
    aside.mkdir(parents=True)
    for p in things:
        p.rename(aside / p.name)


def add_seconds(output: str | Path, seconds: float) -> None:
    """Add this process's working time to the record, so a resumed stage reports its time over every
    process (call at each checkpoint with the time since the last one)."""
    path = record_path(output)
    record = read_json(path)
    record["seconds"] = round(record.get("seconds", 0.0) + seconds, 1)
    _write(path, record)


def complete(output: str | Path, **extra: Any) -> dict:
    """Mark the record of a whole output complete (adding `extra`, e.g. cumulative seconds) and drop the old
    output a --force run replaced."""
    output = Path(output)
    record = seal(output, read_json(record_path(output)), **extra)
    shutil.rmtree(_aside(output), ignore_errors=True)
    return record


def seal(folder: str | Path, record: dict, **extra: Any) -> dict:
    """Write `record`, complete, into a finished output folder. For an output built under a temporary name
    and renamed into place whole (an export artifact), sealing it before the rename means a record in place
    always vouches for a finished output."""
    folder = Path(folder)
    record = {"seconds": 0.0, "runs": 1, **record, **extra, "complete": True, "output_sha256": output_sha256(folder)}
    _write(record_path(folder), record)
    return record


def read_record(output: str | Path) -> dict | None:
    path = record_path(output)
    return read_json(path) if path.is_file() else None


def _write(path: Path, record: dict) -> None:
    write_json(path, record)
