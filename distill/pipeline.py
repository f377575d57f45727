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
import os
import sys
import threading
from pathlib import Path

from distill import clock, dist
from distill.ablation import write_ablation
from distill.adopt import adopt_logits, adopt_teacher_metrics
from distill.augment import AugmentConfig, build_transfer_set
from distill.errors import UserError
from distill.io import exclusive, read_json, write_json
from distill.label import LabelConfig, label_transfer_set
from distill.layout import RunLayout, base_task
from distill.record import decide, refusal
from distill.run_config import check_settings, load_config, student_jobs
from distill.runinfo import command_line, env_info
from distill.settings import build
from distill.teacher import TeacherConfig
from distill.teacher_stage import run_teacher
from distill.train import student_record, train_student
from distill.workers import bound_pool


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


STAGE_FLUSH_S = 60.0


@contextlib.contextmanager
def _stage_clock(run: RunLayout, stage: str):
    """Add this stage's wall time, in this process, to stages.json (cumulative over every pipeline process of
    the run; an interrupted stage counts, its work was done; a refused one does not, it did none); rank 0
    writes. A process can be killed without warning (SIGKILL, the end of a session), so the time is written
    every STAGE_FLUSH_S seconds while the stage runs, not only at its end: a kill loses at most that much (a
    labelling stage killed twice once lost 100 of its 129 minutes here). A refusal after the first flush keeps
    the time already written."""
    lock, stop, state = threading.Lock(), threading.Event(), {"last": clock.running(), "first": True}

    def flush() -> None:
        with lock:
            now = clock.running()
            _add_stage_time(run, stage, now - state["last"], new_process=state["first"])
            state.update(last=now, first=False)

    def beat() -> None:
        while not stop.wait(STAGE_FLUSH_S):
            flush()

    ticker = threading.Thread(target=beat, name=f"stage-clock-{stage}", daemon=True)
    ticker.start()
    try:
        yield
    except UserError:
        raise
    except BaseException:
        flush()
        raise
    else:
        flush()
    finally:
        stop.set()
        ticker.join()


def _add_stage_time(run: RunLayout, stage: str, seconds: float, new_process: bool) -> None:
    if not dist.is_main():
        return
    times = read_json(run.stages) if run.stages.exists() else {"stages": {}, "runs": 0}
    times["stages"][stage] = round(times["stages"].get(stage, 0.0) + seconds, 1)
    if stage == "teacher" and new_process:
        times["runs"] += 1  # one pipeline process more
    times["total_s"] = round(sum(times["stages"].values()), 1)
    write_json(run.stages, times)


def _select(specs: list[dict], only: list[str]) -> list[dict]:
    """The jobs `--only` names: a row name takes all its seeds, a student folder name (row-sN) that one seed,
    so one seed of every row can finish (and be exported and benched) before the other seeds train."""
    names = {n for j in specs for n in (j["name"], j["folder"])}
    unknown = sorted(set(only) - names)
    if unknown:
        raise UserError(f"--only: no student row or seed {unknown} in the config; rows: "
                        f"{', '.join(dict.fromkeys(j['name'] for j in specs))} (a seed: ROW-sN)")
    rank = lambda j: min(only.index(n) for n in (j["name"], j["folder"]) if n in only)
    return sorted((j for j in specs if j["name"] in only or j["folder"] in only), key=rank)


def run_pipeline(preset: str | None = None, config_path: Path | None = None, run_id: str | None = None,
                 runs: Path = Path("runs"), jobs: int | None = None, only: list[str] | None = None,
                 workers: int | None = None, force: bool = False, make_labeller=None) -> dict:
    """Run every stage; `only` restricts stage 4 to the named student rows (the tables show what exists);
    `force` redoes every stage whose record differs (distill/record.py), which is the changed stage and the
    stages that read its output."""
    raw, default_id = load_config(preset, config_path)
    where = str(config_path) if config_path else f"preset {preset}"
    check_settings(raw, base_task(raw), where)  # a bad task, data file or value stops here, before any work
    if only:
        _select(student_jobs(raw, base_task(raw)), only)  # so does an --only naming no row or seed
    run_dir = Path(runs) / (run_id or default_id)
    command = command_line() if sys.argv[1:2] == ["pipeline"] else \
        f"distill-bench pipeline --preset {preset}" if preset else f"distill-bench pipeline --config {config_path}"
    with exclusive(run_dir):  # a second pipeline on this folder is refused while this one runs
        return _run_stages(raw, run_dir, command, jobs, only, workers, force, make_labeller)


def _run_stages(raw: dict, run_dir: Path, command: str, jobs: int | None, only: list[str] | None,
                workers: int | None, force: bool, make_labeller=None) -> dict:
    config = {"run_id": run_dir.name, "command": command, **raw}
    run = RunLayout(run_dir)
    with dist.main_first():  # rank 0 makes the folder and the data split; the others then read them
        if dist.is_main():
            run_dir.mkdir(parents=True, exist_ok=True)
            if not run.config.exists():  # replaced only once this config has run through
                write_json(run.config, config)
            if not run.env.exists():
                write_json(run.env, env_info())
        task = run.task(config, force and dist.is_main())
    dist.echo(f"run folder {run_dir} ({command})\ndata protocol: {task.protocol}")

    tcfg = build(TeacherConfig, raw.get("teacher", {}), "[teacher]")
    teacher_dir = run.teacher
    # a run made from a results folder's committed logits takes its teacher's metrics and logits, not a teacher
    from_results = raw.get("label", {}).get("from_results")
    dist.echo("[1/4] teacher" + (f" (metrics from {from_results})" if from_results else ""))
    with _stage_clock(run, "teacher"):
        if from_results:
            with dist.main_first():  # rank 0 copies; the others read what it wrote
                t = adopt_teacher_metrics(from_results, run, force) if dist.is_main() else \
                    read_json(run.teacher_metrics)
        else:
            t = run_teacher(task, teacher_dir, tcfg, force=force)
    dist.echo(f"      teacher dev accuracy {t['dev_accuracy']:.4f}")

    acfg = build(AugmentConfig, {"n_iter": task.n_iter, **raw.get("augment", {})}, "[augment]")
    transfer = run.transfer
    dist.echo("[2/4] augment")
    with dist.main_first(), _stage_clock(run, "augment"):
        if dist.is_main():
            build_transfer_set(task, transfer, acfg, workers=workers, force=force)

    dist.echo("[3/4] label" + (f" (logits from {from_results})" if from_results else ""))
    with _stage_clock(run, "label"):
        if from_results:
            with dist.main_first():
                if dist.is_main():
                    lcfg = build(LabelConfig, raw.get("label", {}), "[label]")
                    adopt_logits(from_results, transfer, run.logits, force, lcfg.fraction, lcfg.subset_seed)
        else:
            label_transfer_set(run.teacher_model, transfer, run.logits, force=force, task=task,
                               make_labeller=make_labeller, **raw.get("label", {}))

    dist.echo("[4/4] students")
    specs = student_jobs(raw, task)
    if only:  # the rows (or single seeds) asked for, in the order asked (e.g. the longest first, to start it early)
        specs = _select(specs, only)
    n_jobs = 1 if dist.world_size() > 1 else jobs or raw.get("run", {}).get("jobs", 1)
    todo, seen = [], set()
    for j in specs:  # every student's rule is applied before any trains: a refusal costs no training
        out = run.student(j["folder"])
        if j["folder"] in seen:
            continue
        seen.add(j["folder"])
        record = student_record(task, transfer, run.logits, j["cfg"], run.teacher_model)
        decision, lines = decide(out, record)
        if decision == "differs" and not force:
            raise refusal(f"student {out}", lines)
        if decision == "skip":
            dist.echo(f"      student {out} exists, skipped: made with the same settings and inputs")
            continue
        cfg = dataclasses.replace(j["cfg"], threads=j["cfg"].threads or (1 if n_jobs > 1 else 0))
        todo.append((task, transfer, run.logits, out, cfg, run.teacher_model, command, force))
    with _stage_clock(run, "students"):
        if n_jobs > 1 and len(todo) > 1:
            # spawned, not forked: a fork would copy this process's torch and tokenizer thread pools mid-state
            with _environ(OMP_NUM_THREADS="1"), \
                    bound_pool(n_jobs, "spawn") as pool:
                list(pool.map(_train_one, todo))
        else:
            for args in todo:
                _train_one(args)

    with dist.main_first():
        if not dist.is_main():
            return read_json(run.ablation_json)
        write_json(run.config, config)
        return write_ablation(run_dir)
