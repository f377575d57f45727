"""A pipeline config (a preset or the user's TOML file): one section per stage, each read into that stage's
typed config by the one mechanism of distill/settings.py, all checked before any work starts.

    [run]               RunConfig          [teacher]  TeacherConfig      [augment]  AugmentConfig
    [label]             LabelConfig        [student_defaults] and [students.<row>]: StudentRow
    [targets]           TargetsConfig      (what the ablation table checks; over the task's own)
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from distill.augment import AugmentConfig
from distill.errors import UserError
from distill.label import LabelConfig
from distill.layout import student_folder
from distill.settings import build, check_values
from distill.targets import TargetsConfig, resolve
from distill.teacher import TeacherConfig
from distill.train import StudentRunConfig, student_config

PRESETS = Path(__file__).parent / "presets"


@dataclass
class RunConfig:
    """[run]: which data, which protocol, how many students side by side."""

    task: str | None = field(default=None, metadata={"help": "registered task (sst2, mnli, qqp)"})
    train: str | None = None
    dev: str | None = None
    text_columns: list[str] = field(default_factory=lambda: ["sentence"])
    label_column: str = "label"
    jobs: int = 1
    protocol: str = "auto"
    split_seed: int = 0
    train_fraction: float = 0.8
    # a small run that shows the pipeline works: its table says so instead of checking the full recipe's targets
    smoke: bool = False


@dataclass(kw_only=True)
class StudentRow(StudentRunConfig):
    """[students.<row>] and [student_defaults]: a student's settings, and the seeds and table group of its row."""

    seeds: list[int] = field(default_factory=lambda: [0])
    group: str = "ablation"


SECTIONS = {"run": RunConfig, "teacher": TeacherConfig, "augment": AugmentConfig, "label": LabelConfig,
            "student_defaults": StudentRow, "targets": TargetsConfig}


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.toml"))


def load_config(preset: str | None, path: Path | None) -> tuple[dict, str]:
    if (preset is None) == (path is None):
        raise UserError("give exactly one of --preset NAME or --config FILE")
    if preset is not None:
        path = PRESETS / f"{preset}.toml"
        if not path.is_file():
            raise UserError(f"unknown preset {preset!r}; available: {', '.join(preset_names())}")
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid TOML ({e})") from None
    validate(raw, str(path))
    return raw, preset or Path(path).stem


def validate(raw: dict, where: str) -> None:
    """Unknown sections and keys, and wrong types, refused with the section and key named."""
    for section in raw:
        if section not in (*SECTIONS, "students"):
            raise UserError(f"{where}: unknown section [{section}]; allowed: "
                            f"{', '.join(sorted((*SECTIONS, 'students')))}")
    for section, cls in SECTIONS.items():
        check_values(cls, raw.get(section, {}), f"{where} [{section}]")
    if not raw.get("students"):
        raise UserError(f"{where}: no [students.<name>] sections; nothing to train")
    for name, spec in raw["students"].items():
        if not isinstance(spec, dict):
            raise UserError(f"{where}: students.{name} must be a table")
        check_values(StudentRow, spec, f"{where} [students.{name}]")


def student_jobs(raw: dict, task) -> list[dict]:
    """One entry per (row name, seed): its StudentRunConfig and the folder that holds (or will hold) it.

    Settings: the row's, over [student_defaults], over the task's official sizes (pairs), over the defaults.
    Rows with identical settings and seed share one folder (trained once).
    """
    defaults = dict(raw.get("student_defaults", {}))
    jobs, folders = [], {}
    for name, spec in raw["students"].items():
        merged = {**defaults, **spec}
        seeds = merged.pop("seeds", [0])
        group = merged.pop("group", "ablation")
        for seed in seeds:
            cfg = student_config(task, {**merged, "seed": seed})
            key = repr(sorted(dataclasses.asdict(cfg).items()))
            folder = folders.setdefault(key, student_folder(name, seed))
            jobs.append({"name": name, "group": group, "seed": seed, "cfg": cfg, "folder": folder})
    return jobs


def check_settings(raw: dict, task, where: str) -> None:
    """Build every stage's settings once, so an out-of-range value fails now, not after hours of teacher
    training."""
    build(TeacherConfig, raw.get("teacher", {}), where)
    build(AugmentConfig, {"n_iter": task.n_iter, **raw.get("augment", {})}, where)
    build(LabelConfig, raw.get("label", {}), where)
    try:
        resolve(task, raw)
    except UserError as e:
        raise UserError(f"{where}: {e}") from None
    try:
        student_jobs(raw, task)
    except UserError as e:
        raise UserError(f"{where}: {e}") from None
