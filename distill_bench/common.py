"""What several commands share: the task options, number types, and --force."""

from __future__ import annotations

import argparse

from distill.data import task_from


def add_task_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", default=None, help="registered task (sst2, mnli, qqp) [sst2]; with --train: "
                   "that task's columns and labels read from your files")
    p.add_argument("--train", help="your own train .tsv/.csv (with --dev, or with --task)")
    p.add_argument("--dev", help="your own dev .tsv/.csv [with --task: the task's own dev]")
    p.add_argument("--text-columns", default="sentence", help="text column(s), comma-separated for pairs")
    p.add_argument("--label-column", default="label")


def task_of(args):
    return task_from(args.task, args.train, args.dev, tuple(c.strip() for c in args.text_columns.split(",")),
                     args.label_column)


def positive_int(s: str) -> int:
    v = int(s)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {s}")
    return v


def positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {s}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {s}")
    return v


def add_force(p: argparse.ArgumentParser, help_: str = "redo the output if it was made with other settings or "
              "inputs (default: refuse; distill/record.py)") -> None:
    p.add_argument("--force", action="store_true", help=help_)
