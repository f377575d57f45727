"""`distill-bench pipeline`: teacher → augment → label → students, in one run folder.

    distill-bench pipeline --preset quick                    # small SST-2 run, prints an accuracy table
    distill-bench pipeline --preset sst2-paper --jobs 2      # the full recipe behind results/sst2
    distill-bench pipeline --config my.toml --run-id my-run

Run folder layout (runs/<run_id>/):
    config.json env.json                 resolved config and machine/library provenance, written first
    teacher/{model/,metrics.json}        stage 1      transfer.tsv transfer.json   stage 2
    logits/{logits.npy,label.json}       stage 3      students/<name>-s<seed>/     stage 4
    ablation.json ablation.md            the accuracy table
Each stage follows the rerun rule of distill/record.py: an output made with the same settings and inputs is
skipped, one made otherwise is refused with one line per difference (or redone with --force, and with it
every stage that read it). Students with identical settings and seed are trained once
and shared by every row that asks for them (e.g. an embedding-comparison row and the ablation's default).

Under torchrun (distill/dist.py) every stage is data-parallel: teacher and students train with DDP, labelling
deals chunks to the ranks, rank 0 alone augments, writes and prints, and students run one after another
(`jobs` is for one machine without torchrun).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import shlex
import sys
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from distill import dist
from distill.augment import AugmentConfig, build_transfer_set
from distill.data import task_from
from distill.errors import UserError
from distill.io import exclusive, read_json, write_json
from distill.label import check_label_settings, label_transfer_set
from distill.record import decide, refusal
from distill.runinfo import env_info
from distill.teacher import TeacherConfig, train_teacher
from distill.train import StudentRunConfig, student_config, student_record, train_student

PRESETS = Path(__file__).parent / "presets"
SECTIONS = {"run", "teacher", "augment", "label", "student_defaults", "students"}
RUN_KEYS = {"task": str, "train": str, "dev": str, "text_columns": list, "label_column": str, "jobs": int,
            "protocol": str, "split_seed": int, "train_fraction": float,
            "smoke": bool}  # a small run that shows the pipeline works: its table says so instead of checking targets
LABEL_KEYS = {"batch_size": int, "chunk_size": int, "max_length": int, "precision": str}
STUDENT_EXTRA_KEYS = {"seeds": list, "group": str}


def load_config(preset: str | None, path: Path | None) -> tuple[dict, str]:
    if (preset is None) == (path is None):
        raise UserError("give exactly one of --preset NAME or --config FILE")
    if preset is not None:
        path = PRESETS / f"{preset}.toml"
        if not path.is_file():
            names = sorted(p.stem for p in PRESETS.glob("*.toml"))
            raise UserError(f"unknown preset {preset!r}; available: {', '.join(names)}")
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid TOML ({e})") from None
    validate(raw, str(path))
    return raw, preset or Path(path).stem


def _check_keys(section: dict, allowed: dict, where: str) -> None:
    for key, value in section.items():
        if key not in allowed:
            raise UserError(f"{where}: unknown key {key!r}; allowed: {', '.join(sorted(allowed))}")
        expected = allowed[key]
        ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
        if not ok or (expected in (int, float) and isinstance(value, bool)):
            raise UserError(f"{where}.{key}: expected {expected.__name__}, got {type(value).__name__} {value!r}")


def _fields(cls) -> dict:
    types = {"int": int, "float": float, "str": str, "bool": bool, "int | None": int}
    return {f.name: types[str(f.type)] for f in dataclasses.fields(cls)}


def validate(raw: dict, where: str) -> None:
    for section in raw:
        if section not in SECTIONS:
            raise UserError(f"{where}: unknown section [{section}]; allowed: {', '.join(sorted(SECTIONS))}")
    _check_keys(raw.get("run", {}), RUN_KEYS, f"{where} [run]")
    _check_keys(raw.get("teacher", {}), _fields(TeacherConfig), f"{where} [teacher]")
    _check_keys(raw.get("augment", {}), _fields(AugmentConfig), f"{where} [augment]")
    _check_keys(raw.get("label", {}), LABEL_KEYS, f"{where} [label]")
    student_keys = {**_fields(StudentRunConfig), **STUDENT_EXTRA_KEYS}
    _check_keys(raw.get("student_defaults", {}), student_keys, f"{where} [student_defaults]")
    if not raw.get("students"):
        raise UserError(f"{where}: no [students.<name>] sections; nothing to train")
    for name, spec in raw["students"].items():
        if not isinstance(spec, dict):
            raise UserError(f"{where}: students.{name} must be a table")
        _check_keys(spec, student_keys, f"{where} [students.{name}]")


def student_jobs(raw: dict, task) -> list[dict]:
    """One entry per (row name, seed): its StudentRunConfig and the folder that holds (or will hold) it.

    Settings: the row's, over [student_defaults], over the task's official sizes (pairs), over the defaults.
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
            folder = folders.setdefault(key, f"{name}-s{seed}")
            jobs.append({"name": name, "group": group, "seed": seed, "cfg": cfg, "folder": folder})
    return jobs


def check_settings(raw: dict, task, where: str) -> None:
    """Build every stage's settings once, so an out-of-range value fails now, not after hours of teacher
    training; also checks the label settings the stages take as plain arguments."""
    try:
        _build_settings(raw, task)
    except UserError as e:
        raise UserError(f"{where}: {e}") from None


def _build_settings(raw: dict, task) -> None:
    TeacherConfig(**raw.get("teacher", {}))
    AugmentConfig(**{"n_iter": task.n_iter, **raw.get("augment", {})})
    check_label_settings(**raw.get("label", {}))
    student_jobs(raw, task)


def task_of_run(raw: dict, run_dir: str | Path, force: bool = False):
    """The run's task and data protocol (see distill/protocol.py); a dev-split is made once, in RUN/data."""
    from distill.protocol import resolve

    run = raw.get("run", {})
    return resolve(base_task(raw), run_dir, run.get("protocol", "auto"), run.get("split_seed", 0),
                   run.get("train_fraction", 0.8), force)


def base_task(raw: dict):
    """The task named by [run], before the data protocol is applied."""
    run = raw.get("run", {})
    return task_from(run.get("task"), run.get("train"), run.get("dev"), tuple(run.get("text_columns", ["sentence"])),
                     run.get("label_column", "label"))


def _train_one(args: tuple) -> dict:
    task, transfer, logits, out, cfg, teacher, command, force = args
    return train_student(task, transfer, logits, out, cfg, teacher=teacher, command=command, progress=True,
                         force=force)


@contextlib.contextmanager
def _environ(**values: str):
    """Set environment variables for processes started inside the block (a spawned worker reads them before
    it imports torch, so OMP_NUM_THREADS takes effect there), then put the old values back."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def run_pipeline(preset: str | None = None, config_path: Path | None = None, run_id: str | None = None,
                 runs: Path = Path("runs"), jobs: int | None = None, only: list[str] | None = None,
                 workers: int | None = None, force: bool = False) -> dict:
    """Run every stage; `only` restricts stage 4 to the named student rows (the tables show what exists);
    `force` redoes every stage whose record differs (distill/record.py), which is the changed stage and the
    stages that read its output."""
    raw, default_id = load_config(preset, config_path)
    where = str(config_path) if config_path else f"preset {preset}"
    check_settings(raw, base_task(raw), where)  # a bad task, data file or value stops here, before any work
    run_dir = Path(runs) / (run_id or default_id)
    command = shlex.join(["distill-bench", *sys.argv[1:]]) if sys.argv[1:2] == ["pipeline"] else \
        f"distill-bench pipeline --preset {preset}" if preset else f"distill-bench pipeline --config {config_path}"
    with exclusive(run_dir):  # a second pipeline on this folder is refused while this one runs
        return _run_stages(raw, run_dir, command, jobs, only, workers, force)


def _run_stages(raw: dict, run_dir: Path, command: str, jobs: int | None, only: list[str] | None,
                workers: int | None, force: bool) -> dict:
    config = {"run_id": run_dir.name, "command": command, **raw}
    with dist.main_first():  # rank 0 makes the folder and the data split; the others then read them
        if dist.is_main():
            run_dir.mkdir(parents=True, exist_ok=True)
            if not (run_dir / "config.json").exists():  # replaced only once this config has run through
                write_json(run_dir / "config.json", config)
            if not (run_dir / "env.json").exists():
                write_json(run_dir / "env.json", env_info())
        task = task_of_run(raw, run_dir, force and dist.is_main())
    dist.echo(f"run folder {run_dir} ({command})\ndata protocol: {task.protocol}")

    tcfg = TeacherConfig(**raw.get("teacher", {}))
    teacher_dir = run_dir / "teacher"
    dist.echo("[1/4] teacher")
    t = train_teacher(task, teacher_dir, tcfg, force=force)
    dist.echo(f"      teacher dev accuracy {t['dev_accuracy']:.4f}")

    acfg = AugmentConfig(**{"n_iter": task.n_iter, **raw.get("augment", {})})
    transfer = run_dir / "transfer.tsv"
    dist.echo("[2/4] augment")
    with dist.main_first():
        if dist.is_main():
            build_transfer_set(task, transfer, acfg, workers=workers, force=force)

    dist.echo("[3/4] label")
    label_transfer_set(teacher_dir / "model", transfer, run_dir / "logits", force=force, **raw.get("label", {}))

    dist.echo("[4/4] students")
    specs = student_jobs(raw, task)
    unknown = sorted(set(only or []) - {j["name"] for j in specs})
    if unknown:
        raise UserError(f"--only: no student row(s) {unknown} in the config; rows: "
                        f"{', '.join(dict.fromkeys(j['name'] for j in specs))}")
    if only:  # the rows asked for, in the order asked (e.g. the longest first, to start it early)
        specs = sorted((j for j in specs if j["name"] in only), key=lambda j: only.index(j["name"]))
    n_jobs = 1 if dist.world_size() > 1 else jobs or raw.get("run", {}).get("jobs", 1)
    todo, seen = [], set()
    for j in specs:  # every student's rule is applied before any trains: a refusal costs no training
        out = run_dir / "students" / j["folder"]
        if j["folder"] in seen:
            continue
        seen.add(j["folder"])
        record = student_record(task, transfer, run_dir / "logits", j["cfg"], teacher_dir / "model")
        decision, lines = decide(out, record)
        if decision == "differs" and not force:
            raise refusal(f"student {out}", lines)
        if decision == "skip":
            dist.echo(f"      student {out} exists, skipped: made with the same settings and inputs")
            continue
        cfg = dataclasses.replace(j["cfg"], threads=j["cfg"].threads or (1 if n_jobs > 1 else 0))
        todo.append((task, transfer, run_dir / "logits", out, cfg, teacher_dir / "model", command, force))
    if n_jobs > 1 and len(todo) > 1:
        # spawned, not forked: a fork would copy this process's torch and tokenizer thread pools mid-state
        with _environ(OMP_NUM_THREADS="1"), \
                ProcessPoolExecutor(max_workers=n_jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_train_one, todo))
    else:
        for args in todo:
            _train_one(args)

    from distill.ablation import write_ablation

    with dist.main_first():
        if not dist.is_main():
            return read_json(run_dir / "ablation.json")
        write_json(run_dir / "config.json", config)
        return write_ablation(run_dir)
