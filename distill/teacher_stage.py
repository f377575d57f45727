"""Stage 1 either way: fine-tune a teacher (distill/teacher.py), or take one the user already fine-tuned.

    distill-bench teacher --task sst2 --finetuned /path/to/my-classifier --out runs/x/teacher
    [teacher] finetuned = "/path/to/my-classifier"                      # in a pipeline config

A fine-tuned folder is checked — safetensors weights, a tokenizer, a sequence-classification head with the
task's label count, and its label names against the task's (`label_map` maps them when they differ; a folder
whose names are transformers' unset LABEL_0, LABEL_1 … is read in index order, and says so) — then copied into
`out/model` in the run's layout (the head's rows put in the task's label order, the length it will be read at
saved as the tokenizer's model_max_length), evaluated on dev, and recorded like a trained teacher: its record
names the folder's sha256, so a changed folder is refused and --force takes the new one. Nothing is trained.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import torch

from distill.data import Task
from distill.errors import UserError
from distill.hf import load_classifier
from distill.io import atomic_path, read_json, write_json
from distill.record import claim, complete, folder_sha256, make_record, task_identity
from distill.teacher import TeacherConfig, evaluate_teacher, train_teacher

UNSET = re.compile(r"LABEL_\d+")  # transformers' names when a folder's config sets none


def run_teacher(task: Task, out: str | Path, cfg: TeacherConfig, force: bool = False) -> dict:
    """The teacher stage: adopt `cfg.finetuned` when given, else fine-tune `cfg.model`."""
    if cfg.finetuned:
        return adopt_teacher(task, Path(out), cfg, force)
    return train_teacher(task, out, cfg, force)


def label_order(names: list[str], task: Task, label_map: str, folder: Path) -> tuple[list[int], str]:
    """For each task label, the folder's head row that predicts it; and how that order was decided."""
    wanted = list(task.label_names)
    if len(names) != len(wanted):
        raise UserError(f"{folder}: its classification head has {len(names)} labels ({', '.join(names)}); task "
                        f"{task.name!r} has {len(wanted)} ({', '.join(wanted)})")
    if label_map:
        pairs = [p.split("=", 1) for p in label_map.split(",") if p.strip()]
        mapping = {k.strip(): v.strip() for k, v in (p if len(p) == 2 else (p[0], None) for p in pairs)}
        bad = [k for k, v in mapping.items() if v is None]
        if bad:
            raise UserError(f"label_map: {bad[0]!r} is not FOLDER_NAME=TASK_NAME")
        if set(mapping) != set(names) or sorted(mapping.values()) != sorted(wanted):
            raise UserError(f"label_map {label_map!r} must map each of the folder's labels ({', '.join(names)}) to "
                            f"a different task label ({', '.join(wanted)})")
        back = {v: names.index(k) for k, v in mapping.items()}
        return [back[w] for w in wanted], f"label_map {label_map}"
    if names == wanted:
        return list(range(len(wanted))), "the folder's label names are the task's"
    if all(UNSET.fullmatch(n) for n in names):
        return list(range(len(wanted))), (f"the folder sets no label names ({', '.join(names)}): its head rows are "
                                          "read in the task's label order")
    raise UserError(f"{folder}: its label names ({', '.join(names)}) differ from task {task.name}'s "
                    f"({', '.join(wanted)}); map them with label_map = \"{names[0]}={wanted[0]},…\" "
                    "([teacher] in a config, --label-map on the command line)")


def _head(model) -> torch.nn.Linear:
    """The last Linear layer whose outputs are the labels: the classification head's output rows."""
    heads = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == model.num_labels]
    if not heads:
        raise UserError(f"{model.name_or_path}: no output layer with {model.num_labels} rows found to order")
    return heads[-1]


def adopt_teacher(task: Task, out: Path, cfg: TeacherConfig, force: bool) -> dict:
    folder = Path(cfg.finetuned)
    tokenizer, model = load_classifier(folder)  # safetensors only, a tokenizer, no remote code
    if not any(a.endswith("ForSequenceClassification") for a in (model.config.architectures or [])):
        raise UserError(f"{folder}: not a sequence-classification model (architectures: "
                        f"{model.config.architectures}); a base encoder is fine-tuned with --model instead")
    names = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
    order, how = label_order(names, task, cfg.label_map, folder)
    task_settings, task_inputs = task_identity(task, splits=("dev",))
    settings = {"finetuned": True, "max_length": cfg.max_length, "label_map": cfg.label_map}
    record = make_record("teacher", {"task": task_settings, "teacher": settings},
                         {**task_inputs, "finetuned_model": folder_sha256(folder)})
    decision = claim(out, record, force, what=f"teacher {out}")
    if (out / "metrics.json").exists():
        if decision == "resume":
            complete(out)
        return read_json(out / "metrics.json")
    if order != list(range(len(order))):
        head = _head(model)
        with torch.no_grad():
            head.weight.copy_(head.weight[order].clone())
            if head.bias is not None:
                head.bias.copy_(head.bias[order].clone())
    model.config.id2label = dict(enumerate(task.label_names))
    model.config.label2id = {n: i for i, n in enumerate(task.label_names)}
    with atomic_path(out / "model") as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.model_max_length = cfg.max_length  # the length labelling and export read it at
        tokenizer.save_pretrained(str(tmp))
    metrics = {"task": task.name, "model": str(folder), "finetuned": True, "labels": how,
               **evaluate_teacher(out / "model", task, cfg.max_length), "n_train": None,
               "train_seconds": 0.0, "train_runs": 0, "max_length": cfg.max_length,
               "max_length_from": "the teacher max_length setting (the folder was fine-tuned elsewhere)",
               "config": asdict(cfg)}
    write_json(out / "metrics.json", metrics)
    complete(out)
    return metrics
