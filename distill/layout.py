"""The run folder: every path in it, named once, and the run's task.

    runs/<run_id>/
        config.json env.json            the resolved config and the machine/library provenance, written first
        data/{train,dev}.tsv split.json  a dev-split protocol's files (distill/protocol.py)
        teacher/{model/,metrics.json,record.json}                      stage 1 (teacher)
        transfer.tsv transfer.json transfer.record.json                stage 2 (augment)
        logits/{logits.npy,label.json,record.json}                     stage 3 (label)
        students/<name>-s<seed>/{model.safetensors,config.json,vocab.json,metrics.json,record.json}   stage 4
        transfer_diagnostics.json       how the teacher labelled the transfer set (distill/transfer_diagnostics.py)
        predictions/<name>-s<seed>.json  each student's dev predictions (distill/predictions.py), for paired CIs
        predictions/teacher.json        the teacher's, the same way
        ablation.json ablation.md       the accuracy table
        learning_curves.png             dev accuracy of every ablation arm while it trained
        stages.json                     wall seconds per pipeline stage, summed over every pipeline process
        imported/<name>/model/          HF classifiers brought in by `distill-bench import` (teacher-like)
        export/<model>/<target>/        artifacts (export/), export/export.json their outcomes

A published results folder (`distill-bench ablation RUN --out results/x`) keeps the same names for what it
copies (config.json, env.json, teacher/metrics.json, students/*, predictions/*, transfer_diagnostics.json,
data/split.json, and the logits of a run that took ≥ 30 min) plus weights.json.
Nobody else spells a path of a run folder: they ask a RunLayout.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from distill.data import Task, task_from
from distill.errors import UserError
from distill.io import file_sha256, read_json
from distill.protocol import describe_split, dev_split, resolve


def student_folder(row: str, seed: int) -> str:
    """A student's folder name under students/: its config row and seed."""
    return f"{row}-s{seed}"


def student_row(folder: str) -> str:
    """The config row a student folder was trained for (the inverse of student_folder)."""
    return re.sub(r"-s\d+$", "", folder)


@dataclass(frozen=True)
class RunLayout:
    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    # -- files written before any stage
    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def env(self) -> Path:
        return self.root / "env.json"

    @property
    def data(self) -> Path:
        return self.root / "data"

    # -- stage outputs
    @property
    def teacher(self) -> Path:
        return self.root / "teacher"

    @property
    def teacher_model(self) -> Path:
        return self.teacher / "model"

    @property
    def teacher_metrics(self) -> Path:
        return self.teacher / "metrics.json"

    @property
    def transfer(self) -> Path:
        return self.root / "transfer.tsv"

    @property
    def transfer_stats(self) -> Path:
        return self.transfer.with_suffix(".json")

    @property
    def logits(self) -> Path:
        return self.root / "logits"

    @property
    def students(self) -> Path:
        return self.root / "students"

    def student(self, folder: str) -> Path:
        return self.students / folder

    def student_metrics(self, folder: str) -> Path:
        return self.student(folder) / "metrics.json"

    @property
    def label_stats(self) -> Path:
        return self.logits / "label.json"

    @property
    def transfer_diagnostics(self) -> Path:
        return self.root / "transfer_diagnostics.json"

    def student_predictions(self, folder: str) -> Path:
        return self.root / "predictions" / f"{folder}.json"

    @property
    def teacher_predictions(self) -> Path:  # no student folder is named "teacher" (theirs end in -s<seed>)
        return self.root / "predictions" / "teacher.json"

    def trained_students(self) -> dict[str, Path]:
        """Student folder name → folder, for every student that finished (has metrics.json), by name."""
        return {p.parent.name: p.parent for p in sorted(self.students.glob("*/metrics.json"))}  # metrics: finished

    # -- tables and exports
    @property
    def ablation_json(self) -> Path:
        return self.root / "ablation.json"

    @property
    def ablation_md(self) -> Path:
        return self.root / "ablation.md"

    @property
    def imported(self) -> Path:
        return self.root / "imported"

    def imported_model(self, name: str) -> Path:
        """An HF classifier brought in by `distill-bench import` (export/importer.py), teacher-like."""
        return self.imported / name / "model"

    @property
    def stages(self) -> Path:
        return self.root / "stages.json"

    @property
    def learning_curves(self) -> Path:
        return self.root / "learning_curves.png"

    @property
    def export(self) -> Path:
        return self.root / "export"

    @property
    def published(self) -> bool:
        """A results folder written by `publish` (it holds weights.json), not a run folder."""
        return (self.root / "weights.json").exists()

    # -- the run's task
    def read_config(self) -> dict:
        if not self.config.is_file():
            raise UserError(f"{self.root}: not a run folder (no config.json); make one with `distill-bench pipeline`")
        return read_json(self.config)

    def task(self, config: dict | None = None, force: bool = False) -> Task:
        """The run's task under its data protocol; a dev-split is made once, in data/. A published folder keeps
        only data/split.json, which is enough to state the protocol."""
        config = config if config is not None else self.read_config()
        task = base_task(config)
        if self.published:
            split = self.data / "split.json"
            return published_split(task, split) if split.exists() else task
        run = config.get("run", {})
        return resolve(task, self.data, run.get("protocol", "auto"), run.get("split_seed", 0),
                       run.get("train_fraction", 0.8), force)


def base_task(config: dict) -> Task:
    """The task named by a config's [run], before the data protocol is applied."""
    run = config.get("run", {})
    return task_from(run.get("task"), run.get("train"), run.get("dev"), tuple(run.get("text_columns", ["sentence"])),
                     run.get("label_column", "label"))


def published_split(task: Task, record: Path) -> Task:
    """A published folder's dev-split task: it keeps only data/split.json, so the split is made again from the
    vendored dev file with the recorded seed and fraction into a scratch folder, and each file must match the
    sha256 split.json records (the paired CIs score predictions against its dev labels)."""
    recorded = read_json(record)
    scratch = Path(tempfile.gettempdir()) / "distill-bench-splits" / file_sha256(record)[:16]
    remade = dev_split(task, scratch, recorded["seed"], recorded["train_fraction"])
    for name, info in recorded["splits"].items():
        path = Path(remade.files[name])
        if file_sha256(path) != info["sha256"]:
            raise UserError(f"{record}: the {name} split made again from {task.path('dev')} does not match the "
                            "recorded sha256 (the dev file differs from the one the run split)")
    return replace(remade, protocol=describe_split(task, recorded))
