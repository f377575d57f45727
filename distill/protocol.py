"""Which data a run trains on and reports on: the standard protocol, or a seeded split of dev.

Only the dev sets of MNLI and QQP are vendored (distill/assets), so by default a task with no train file
(registered or configured) is run on a **dev-split**: a seeded, class-stratified 80/20 split of its dev set. Teacher and
students train on the 80 %, and every figure is reported on the other 20 % (for MNLI also on the whole of
dev-mismatched, which no model has seen). The two split files are written once into `RUN/data/`, and their
checksums go into `RUN/data/split.json` and from there into every results table.

With a train file (a registered task's `train`, or `run.train` in the config / `--train` on the command
line) the **standard** protocol is used instead: train on train, report on dev. No code changes either way.

    distill-bench split --task mnli --out data/mnli-split     # the split files, for the per-stage commands
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import numpy as np

from distill.data import Task, delimiter_of, load_split
from distill.errors import UserError
from distill.io import file_sha256, read_json, write_json, write_text

PROTOCOLS = ("auto", "standard", "dev-split")


def resolve(task: Task, split_dir: str | Path, protocol: str = "auto", seed: int = 0,
            train_fraction: float = 0.8, force: bool = False) -> Task:
    """The task as a run reads it; for a dev-split, the split files are made (or checked) in `split_dir` (a run's
    data/ folder, distill/layout.py)."""
    if protocol not in PROTOCOLS:
        raise UserError(f"run.protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if protocol == "auto":
        protocol = "standard" if "train" in task.files else "dev-split"
    if protocol == "standard":
        task.path("train")  # a clear error when there is no train file to be standard with
        return task
    return dev_split(task, split_dir, seed, train_fraction, force)


def dev_split(task: Task, out: str | Path, seed: int = 0, train_fraction: float = 0.8, force: bool = False) -> Task:
    """Split `task`'s dev set into out/train and out/dev (stratified by class, seeded); reuse a split that
    is already there only if it was made from the same file with the same settings and is unchanged. With
    `force` a differing split is made again (the stages that read it then differ in turn, distill/record.py)."""
    if not 0.0 < train_fraction < 1.0:
        raise UserError(f"run.train_fraction must be between 0 and 1, got {train_fraction}")
    out = Path(out)
    source = task.path("dev")
    suffix = source.suffix.lower()
    files = {"train": out / f"train{suffix}", "dev": out / f"dev{suffix}"}
    wanted = {"source": str(source), "source_sha256": file_sha256(source), "seed": seed,
              "train_fraction": train_fraction, "stratified": True}
    record = out / "split.json"
    if record.exists() and not force:
        old = read_json(record)
        diff = [k for k, v in wanted.items() if k != "source" and old.get(k) != v]
        if diff:
            raise UserError(f"{record}: this run's split was made with other settings ({', '.join(diff)} "
                            "differ); use a new --run-id, or --force to split again")
        for split, path in files.items():
            if not path.exists() or file_sha256(path) != old["splits"][split]["sha256"]:
                raise UserError(f"{path}: missing or changed since {record} was written; the run's results "
                                "were made from the recorded split — restore it, use a new --run-id, or --force "
                                "to split again")
    else:
        rows = load_split(task, "dev")
        labels = np.asarray(rows["label"])
        train_idx = stratified_indices(labels, seed, train_fraction)
        dev_idx = np.setdiff1d(np.arange(len(labels)), train_idx)
        splits = {}
        for split, idx in (("train", train_idx), ("dev", dev_idx)):
            _write_rows(files[split], task, rows, idx)
            counts = np.bincount(labels[idx], minlength=task.num_labels)
            splits[split] = {"file": files[split].name, "rows": int(len(idx)), "sha256": file_sha256(files[split]),
                             "per_class": dict(zip(task.label_names, map(int, counts)))}
        write_json(record, {"protocol": "dev-split", **wanted, "splits": splits})
    return replace(task, files={**task.files, **files}, protocol=describe_split(task, read_json(record)))


def describe_split(task: Task, info: dict) -> str:
    """The protocol caption of a dev-split, from its split.json (`info`) and the task it was made from; a
    published results folder keeps split.json, so its tables can be re-rendered without the split files."""
    n_train, n_dev = info["splits"]["train"]["rows"], info["splits"]["dev"]["rows"]
    also = "".join(f" and on all of {s} (n = {len(load_split(task, s))})" for s in task.extra_dev)
    seed, fraction = info["seed"], info["train_fraction"]
    pct = round(100 * fraction)
    why = (f"run.protocol chose it over the task's train file {task.files['train'].name}" if "train" in task.files
           else f"no train file is registered or configured for {task.name}")
    train, dev = info["splits"]["train"], info["splits"]["dev"]
    return (f"dev-split: a seeded (seed {seed}), class-stratified {pct}/{100 - pct} split of {task.name} "
            f"dev ({Path(info['source']).name}, {n_train + n_dev} rows; {why}). Teacher and "
            f"students train on the {pct} % (n = {n_train}); checkpoints are chosen and results reported on "
            f"the other {100 - pct} % (n = {n_dev}){also}. Split files: {train['file']} sha256 "
            f"{train['sha256'][:16]}…, {dev['file']} sha256 {dev['sha256'][:16]}… (split.json)")


def stratified_indices(labels: np.ndarray, seed: int, fraction: float) -> np.ndarray:
    """Sorted row indices of the train part: round(fraction × n_c) rows of every class c, drawn by `seed`."""
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        chosen.append(rng.permutation(rows)[:int(round(fraction * len(rows)))])
    return np.sort(np.concatenate(chosen))


def _write_rows(path: Path, task: Task, rows, idx: np.ndarray) -> None:
    """The task's own columns (texts, then label as written in the source), in source order."""
    # each column read once into a list: indexing a datasets column row by row rebuilds its features every time
    # (QQP's 40k pairs took over a minute)
    columns = [list(rows["text"])] + ([list(rows["text_b"])] if task.is_pair else [])
    labels = list(rows["label"])
    records = [(*(c[i] for c in columns), task.label_values[labels[i]]) for i in idx]
    delimiter = delimiter_of(path)
    buf = io.StringIO()
    if delimiter == "\t":  # the source was read without quoting: fields hold no tab or newline
        buf.write("\n".join(["\t".join((*task.text_columns, task.label_column)), *map("\t".join, records)]) + "\n")
    else:
        w = csv.writer(buf, lineterminator="\n")
        w.writerow((*task.text_columns, task.label_column))
        w.writerows(records)
    write_text(path, buf.getvalue())
