"""Tasks and their data: a registry of GLUE tasks vendored in the package, plus any TSV/CSV a user brings.

Every file is validated line by line before it becomes a `datasets.Dataset`, so a bad file gets one clear
error naming the file, the line and the field, instead of a parser traceback deep inside pandas.
Vendored files are checked against `assets/SHA256SUMS` the first time they are read.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import datasets

from distill.errors import UserError

ASSETS = Path(__file__).parent / "assets"
GLUE = ASSETS / "glue"
NLTK_DATA = ASSETS / "nltk_data"


@dataclass(frozen=True)
class Task:
    """A classification task: which columns hold the text(s) and the label, and where each split lives."""

    name: str
    text_columns: tuple[str, ...]  # one column (single sentence) or two (a pair)
    label_column: str
    label_values: tuple[str, ...]  # label as written in the file, in class-index order
    label_names: tuple[str, ...]  # human-readable names, same order
    files: dict[str, Path] = field(default_factory=dict)  # split -> file
    n_iter: int = 20  # augmentation rounds per example (paper: 20 for SST-2, 10 for pairs)
    extra_dev: tuple[str, ...] = ()  # further splits every model is also reported on (MNLI mismatched)
    f1: bool = False  # also report F1 of class 1 (GLUE does for QQP)
    student_defaults: tuple[tuple[str, object], ...] = ()  # the official config's student sizes for this task
    protocol: str = "standard: train on the train split, report on dev"
    # the paper's recipe's targets for this task (distill/targets.py TargetsConfig fields); a config's [targets]
    # goes over them
    targets: tuple[tuple[str, object], ...] = ()

    @property
    def is_pair(self) -> bool:
        return len(self.text_columns) == 2

    @property
    def num_labels(self) -> int:
        return len(self.label_values)

    def path(self, split: str) -> Path:
        if split not in self.files:
            have = ", ".join(sorted(self.files)) or "none"
            raise UserError(f"task {self.name!r} has no {split!r} split here (available: {have})")
        return self.files[split]


TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    TASKS[task.name] = task
    return task


register_task(Task(
    name="sst2", text_columns=("sentence",), label_column="label",
    label_values=("0", "1"), label_names=("negative", "positive"),
    files={s: GLUE / "SST-2" / f"{s}.tsv" for s in ("train", "dev")}, n_iter=20,
    targets=(("teacher_min", 0.910), ("row_min", 0.895), ("gap_points_min", 2.0)),  # PAPER.md's SST-2 bar
))
# Only the dev sets of MNLI and QQP exist here; the pair-task protocol (seeded split of dev) builds on these.
# Their "dev" is what GLUE calls dev (MNLI: dev-matched). distill/protocol.py splits it when no train file is given.
PAIR_STUDENT = (("fc", 200), ("dropout", 0.2), ("batch_size", 256))  # official configs (PAPER.md)
PAIR_TARGETS = (("gap_beyond_ci", True),)  # on pairs: augmentation must beat hard labels by more than the noise
register_task(Task(
    name="mnli", text_columns=("sentence1", "sentence2"), label_column="gold_label",
    label_values=("entailment", "neutral", "contradiction"),
    label_names=("entailment", "neutral", "contradiction"),
    files={"dev": GLUE / "MNLI" / "dev_matched.tsv", "dev_mismatched": GLUE / "MNLI" / "dev_mismatched.tsv"},
    n_iter=10, extra_dev=("dev_mismatched",), student_defaults=(("hidden", 150), *PAIR_STUDENT),
    targets=PAIR_TARGETS,
))
register_task(Task(
    name="qqp", text_columns=("question1", "question2"), label_column="is_duplicate",
    label_values=("0", "1"), label_names=("not_duplicate", "duplicate"),
    files={"dev": GLUE / "QQP" / "dev.tsv"}, n_iter=10, f1=True,
    student_defaults=(("hidden", 300), *PAIR_STUDENT), targets=PAIR_TARGETS,
))


def with_files(task: Task, train: str | Path, dev: str | Path | None = None) -> Task:
    """A registered task (its columns and labels) read from the user's own train (and dev) files: the
    standard protocol for MNLI/QQP when their real train sets are at hand. Without `dev`, the task's own
    dev split is kept. Extra report splits (MNLI mismatched) are kept either way."""
    train = Path(train)
    delimiter_of(train)
    files = {**task.files, "train": train, **({"dev": Path(dev)} if dev is not None else {})}
    also = "".join(f" and {files[s]}" for s in task.extra_dev)
    return replace(task, files=files, protocol=f"standard: train on {train}, report on {files['dev']}{also}")


def task_from(task: str | None = None, train: str | Path | None = None, dev: str | Path | None = None,
              text_columns: tuple[str, ...] = ("sentence",), label_column: str = "label") -> Task:
    """The task a user named, from the command line or a config's [run]: a registered task; a registered
    task read from the user's own files (`task` with `train`, `dev` optional); or a task made from the user's
    files alone (`train` and `dev`, with their text and label columns)."""
    if task and train:
        return with_files(get_task(task), train, dev)
    if train or dev:
        if not (train and dev):
            raise UserError("give train and dev files together, or a task name with a train file")
        return file_task(train, dev, tuple(text_columns), label_column)
    return get_task(task or "sst2")


def file_task(
    train: str | Path,
    dev: str | Path,
    text_columns: tuple[str, ...] = ("sentence",),
    label_column: str = "label",
    name: str | None = None,
    n_iter: int | None = None,
) -> Task:
    """A task from the user's own TSV or CSV files (format chosen by the train file's extension).

    Label values are the distinct values of the train file's label column, sorted (integers numerically).
    """
    train, dev = Path(train), Path(dev)
    rows, linenos = _read_rows(train, delimiter_of(train), (*text_columns, label_column))
    values = sorted({r[label_column] for r in rows}, key=lambda v: (not v.lstrip("-").isdigit(), _num(v), v))
    for v in values:
        line = linenos[next(i for i, r in enumerate(rows) if r[label_column] == v)]
        if v.lstrip("-").isdigit() and int(v) < 0:
            raise UserError(f"{train}:{line}: field {label_column!r}: negative label {v!r}; labels must be class "
                            "names or integers 0..K-1")
        if not v.lstrip("-").isdigit() and _is_number(v):
            raise UserError(f"{train}:{line}: field {label_column!r}: label {v!r} is a number but not an integer; "
                            "labels must be class names or integers 0..K-1 (regression is not supported)")
    if len(values) < 2:
        raise UserError(f"{train}: field {label_column!r}: only one class ({values[0]!r}) in the file; "
                        "a classifier needs at least two")
    if all(v.isdigit() for v in values) and [int(v) for v in values] != list(range(len(values))):
        raise UserError(f"{train}: field {label_column!r}: integer labels must be 0..{len(values) - 1}, "
                        f"found {values}")
    return Task(
        name=name or train.stem, text_columns=tuple(text_columns), label_column=label_column,
        label_values=tuple(values), label_names=tuple(values),
        files={"train": train, "dev": Path(dev)}, n_iter=n_iter or (10 if len(text_columns) == 2 else 20),
    )


def delimiter_of(path: Path) -> str:
    """Tab for .tsv, comma for .csv (each file by its own extension, so a CSV train may meet a TSV dev)."""
    delimiter = {".tsv": "\t", ".csv": ","}.get(Path(path).suffix.lower())
    if delimiter is None:
        raise UserError(f"{path}: expected a .tsv or .csv file, got {Path(path).suffix or 'no extension'!r}")
    return delimiter


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _num(v: str) -> int:
    return int(v) if v.lstrip("-").isdigit() else 0


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise UserError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}, "
                        "or give --train/--dev files for a TSV/CSV task")
    return TASKS[name]


def load_split(task: Task, split: str, limit: int | None = None) -> datasets.Dataset:
    """Rows of one split as a Dataset with columns `text` (and `text_b` for pairs) and an int `label`."""
    path = task.path(split)
    rows, linenos = _read_rows(path, delimiter_of(path), (*task.text_columns, task.label_column))
    index = {v: i for i, v in enumerate(task.label_values)}
    labels = []
    for lineno, r in zip(linenos, rows):
        value = r[task.label_column]
        if value not in index:
            raise UserError(f"{path}:{lineno}: field {task.label_column!r}: unknown label {value!r} "
                            f"(expected one of {', '.join(task.label_values)})")
        labels.append(index[value])
    if limit is not None:
        rows, labels = rows[:limit], labels[:limit]
    columns = {"text": [r[task.text_columns[0]] for r in rows]}
    if task.is_pair:
        columns["text_b"] = [r[task.text_columns[1]] for r in rows]
    columns["label"] = labels
    features = datasets.Features({
        **{k: datasets.Value("string") for k in columns if k != "label"},
        "label": datasets.ClassLabel(names=list(task.label_names)),
    })
    return datasets.Dataset.from_dict(columns, features=features)


def _read_rows(path: Path, delimiter: str, required: tuple[str, ...]) -> tuple[list[dict], list[int]]:
    """The required columns of every example, and each example's physical line number (for errors)."""
    path = Path(path)
    text = _read_text(path)
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise UserError(f"{path}: file is empty (expected a header line naming the columns)") from None
    except csv.Error as e:
        raise UserError(f"{path}:1: {e}") from None
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise UserError(f"{path}:1: duplicate column name(s) {dupes} in the header")
    missing = [c for c in required if c not in header]
    if missing:
        raise UserError(f"{path}:1: missing column(s) {missing}; the header has {header}")
    position = {c: header.index(c) for c in required}
    rows, linenos = [], []
    text_columns = required[:-1]
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise UserError(f"{path}:{start}: {e} (unbalanced quote?)") from None
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            raise UserError(f"{path}:{start}: blank line (every line after the header must be an example)")
        if len(fields) != len(header):
            raise UserError(f"{path}:{start}: expected {len(header)} fields ({', '.join(header)}), "
                            f"found {len(fields)}")
        row = {c: fields[i] for c, i in position.items()}
        for c in text_columns:
            row[c] = row[c].strip()
            if not row[c]:
                raise UserError(f"{path}:{start}: field {c!r}: empty text")
        row[required[-1]] = row[required[-1]].strip()
        rows.append(row)
        linenos.append(start)
    if not rows:
        raise UserError(f"{path}: has a header but no examples")
    return rows, linenos


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a data file") from None
    _verify_if_vendored(path, data)
    if data.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark, as Excel writes it
        data = data[3:]
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise UserError(f"{path}:{line}: NUL byte in the file (is it UTF-16 or binary?)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not valid UTF-8 (byte 0x{data[e.start]:02x}); "
                        "save the file as UTF-8") from None
    return text.replace("\r\n", "\n")


@cache
def _checksums() -> dict[Path, str]:
    sums = {}
    for line in (ASSETS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[(ASSETS / name.strip()).resolve()] = digest
    return sums


def _verify_if_vendored(path: Path, data: bytes) -> None:
    expected = _checksums().get(path.resolve())
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise UserError(f"{path}: checksum mismatch with {ASSETS / 'SHA256SUMS'}; the vendored file was "
                        "modified — restore it from git")
