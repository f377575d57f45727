"""The stage commands: split, teacher, augment, label, student, pipeline, ablation, compare. Each stage's flags come
from its typed config (distill/settings.py), so a new setting is one field in that config."""

from __future__ import annotations

from pathlib import Path

from distill import dist
from distill.ablation import publish, write_ablation
from distill.augment import AugmentConfig, build_transfer_set
from distill.compare import parse_rows, write_compare
from distill.label import LabelConfig, label_transfer_set
from distill.pipeline import run_pipeline
from distill.protocol import dev_split
from distill.run_config import preset_names
from distill.settings import add_flags, build, given_flags
from distill.teacher import TeacherConfig
from distill.teacher_stage import run_teacher
from distill.train import StudentRunConfig, student_config, train_student
from distill_bench.common import add_force, add_task_args, positive_int, task_of


def add_commands(sub) -> None:
    p = sub.add_parser("split", help="seeded stratified split of a task's dev set (for tasks with no train set)")
    add_task_args(p)
    p.add_argument("--out", required=True, type=Path, help="folder for train/dev files and split.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-fraction", type=float, default=0.8)
    p.set_defaults(handler=_split, writes=lambda a: a.out, parallel="rank0")

    p = sub.add_parser("teacher", help="fine-tune a local HF encoder folder on a task")
    add_task_args(p)
    p.add_argument("--out", required=True, type=Path)
    add_flags(p, TeacherConfig)
    add_force(p)
    p.set_defaults(handler=_teacher, writes=lambda a: a.out, parallel="all")

    p = sub.add_parser("augment", help="build the augmented transfer set")
    add_task_args(p)
    p.add_argument("--out", required=True, type=Path)
    add_flags(p, AugmentConfig)
    p.add_argument("--workers", type=positive_int, default=None,
                   help="processes for POS tagging and augmentation (output is the same) [all cores]")
    add_force(p)
    p.set_defaults(handler=_augment, writes=lambda a: a.out.parent, parallel="rank0")

    p = sub.add_parser("label", help="teacher logits for every transfer example (resumable)")
    add_task_args(p)  # the dev split a labeller other than torch is checked on
    p.add_argument("--teacher", required=True, type=Path, help="fine-tuned teacher folder")
    p.add_argument("--transfer", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path, help="folder for logits chunks and logits.npy")
    add_flags(p, LabelConfig)
    add_force(p)
    p.set_defaults(handler=_label, writes=lambda a: a.out, parallel="all")

    p = sub.add_parser("student", help="train a BiLSTM student")
    add_task_args(p)
    p.add_argument("--transfer", required=True, type=Path, help="transfer set from `augment`")
    p.add_argument("--logits", type=Path, default=None, help="folder from `label` (not needed for alpha=1)")
    p.add_argument("--teacher", type=Path, default=None, help="teacher folder (for wordpiece embeddings)")
    p.add_argument("--out", required=True, type=Path)
    add_flags(p, StudentRunConfig)  # unset flags take the task's official sizes (pairs), then the defaults
    add_force(p)
    p.set_defaults(handler=_student, writes=lambda a: a.out, parallel="all")

    p = sub.add_parser("pipeline", help="teacher → augment → label → students, in one run folder")
    p.add_argument("--preset", default=None, help=f"built-in preset ({', '.join(preset_names())})")
    p.add_argument("--config", type=Path, default=None, help="a TOML config file instead of a preset")
    p.add_argument("--run-id", default=None, help="run folder name under --runs [preset name]")
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--jobs", type=positive_int, default=None,
                   help="students trained in parallel, one thread each [config's run.jobs or 1]")
    p.add_argument("--only", default=None,
                   help="train only these student rows, or single seeds as ROW-sN (comma-separated)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="processes for POS tagging and augmentation [all cores]")
    add_force(p, "redo every stage whose output was made with other settings or inputs, and what reads it")
    p.set_defaults(handler=_pipeline, writes=lambda a: None, parallel="all")  # the pipeline holds its run folder

    p = sub.add_parser("ablation", help="(re)write ablation.json/.md of a run folder or a published results "
                       "folder, optionally copy a run's to results")
    p.add_argument("run", type=Path)
    p.add_argument("--out", type=Path, default=None, help="also copy the tables and student weights here")
    p.set_defaults(handler=_ablation, writes=lambda a: None, parallel=None)

    p = sub.add_parser("compare", help="the same student rows of two runs (e.g. two teachers) on the same dev "
                       "examples, each gap with a paired 95%% CI")
    p.add_argument("a", type=Path, help="run or results folder with ablation.json (A)")
    p.add_argument("b", type=Path, help="run or results folder with ablation.json (B)")
    p.add_argument("--out", type=Path, required=True, help="folder for compare.md / compare.json")
    p.add_argument("--rows", default=None, help="A_ROW=B_ROW pairs, comma-separated, to compare rows of other "
                   "names [every row name the two have in common]")
    p.set_defaults(handler=_compare, writes=lambda a: a.out, parallel=None)


def _split(args) -> None:
    task = dev_split(task_of(args), args.out, args.seed, args.train_fraction)
    print(f"{task.protocol}\nnext: distill-bench teacher --task {args.task or task.name} "
          f"--train {task.files['train']} --dev {task.files['dev']} --out …")


def _teacher(args) -> None:
    cfg = build(TeacherConfig, given_flags(args, TeacherConfig), "flags")
    m = run_teacher(task_of(args), args.out, cfg, force=args.force)
    dist.echo(f"teacher dev accuracy {m['dev_accuracy']:.4f} (n={m['n_dev']}) → {args.out}/model")


def _augment(args) -> None:
    task = task_of(args)
    cfg = build(AugmentConfig, {"n_iter": task.n_iter, **given_flags(args, AugmentConfig)}, "flags")
    build_transfer_set(task, args.out, cfg, workers=args.workers, force=args.force)


def make_labeller(*args):
    """export/labeller.py's make_labeller, imported when a labeller other than torch is asked for (it loads the
    ONNX tooling)."""
    from export.labeller import make_labeller as make

    return make(*args)


def _label(args) -> None:
    settings = given_flags(args, LabelConfig)
    task = task_of(args) if settings.get("labeller", "torch") != "torch" else None
    label_transfer_set(args.teacher, args.transfer, args.out, force=args.force, task=task,
                       make_labeller=make_labeller, **settings)


def _student(args) -> None:
    task = task_of(args)
    cfg = student_config(task, given_flags(args, StudentRunConfig))
    m = train_student(task, args.transfer, args.logits, args.out, cfg, teacher=args.teacher, force=args.force)
    lo, hi = m["ci95"]
    dist.echo(f"student dev accuracy {m['accuracy']:.4f} [{lo:.4f}, {hi:.4f}] (n={m['n']}) → {args.out}")


def _pipeline(args) -> None:
    run_pipeline(preset=args.preset, config_path=args.config, run_id=args.run_id, runs=args.runs, jobs=args.jobs,
                 only=args.only.split(",") if args.only else None, workers=args.workers, force=args.force,
                 make_labeller=make_labeller)


def _compare(args) -> None:
    write_compare(args.a, args.b, args.out, parse_rows(args.rows))


def _ablation(args) -> None:
    write_ablation(args.run)
    if args.out:
        publish(args.run, args.out)
