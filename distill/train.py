"""Stage 4: train a BiLSTM student on hard labels, teacher logits, or both.

    distill-bench student --transfer runs/x/transfer.tsv --logits runs/x/logits --out runs/x/kd-aug
    distill-bench student --transfer runs/x/transfer.tsv --examples original --alpha 1 --out runs/x/plain

Adadelta (lr 1.0, ρ 0.95), batch 50, dev accuracy every `eval_every` steps; the best-dev weights are kept in
`model.safetensors` next to `config.json` and `vocab.json`. A `state.pt` written at every evaluation (our own
file, read back with weights_only=True) lets an interrupted run resume at the same step with the same data
order; it is deleted when training finishes.

Under torchrun (see distill/dist.py) every rank walks the same global batches and takes its slice of each; the
loss is weighted by the slice's share of the batch so that DDP's gradient average equals the one-process
gradient of the whole batch. With dropout 0 the weights match a one-process run to float rounding; with
dropout each rank draws its own masks (seeded by seed and rank), so runs agree in distribution, not bit for bit.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shlex
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from distill import dist
from distill.augment import read_transfer_set
from distill.data import Task, load_split
from distill.embeddings import EMBEDDINGS, initial_vectors
from distill.errors import UserError, first_line
from distill.io import atomic_path, file_sha256, read_json, write_json
from distill.label import load_logits
from distill.losses import DISTILL_LOSSES, total_loss
from distill.metrics import scores
from distill.record import claim, complete, folder_sha256, make_record, task_identity
from distill.students import BiLSTMClassifier, StudentConfig, build_student
from distill.vocab import Vocab, load_wordpiece


@dataclass
class StudentRunConfig:
    examples: str = "all"  # "original": the labelled train set only; "all": the whole transfer set
    alpha: float = 0.0  # weight of CE on hard labels; 0 = pure logit MSE (the paper's best, BiLSTM_SOFT)
    loss: str = "mse"  # distillation term: "mse" (paper) or "kl"
    temperature: float = 1.0  # for loss = "kl"
    embedding: str = "wordpiece"  # random | glove50 | wordpiece (teacher's input embeddings)
    embed_dim: int = 300  # for random embeddings; the others take their table's width
    multichannel: bool = False
    hidden: int = 150
    fc: int = 200
    dropout: float = 0.1
    batch_size: int = 50
    epochs: float = 10.0
    lr: float = 1.0
    rho: float = 0.95
    max_length: int = 128
    eval_every: int = 1000
    train_limit: int | None = None  # cap on training rows, after selection (quick preset, tests)
    seed: int = 0
    threads: int = 0  # intra-op threads; 0 = torch's default

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
        if self.lr <= 0 or not 0 < self.rho < 1 or self.threads < 0:
            raise UserError(f"lr must be positive, rho in (0, 1) and threads ≥ 0, got {self.lr}, {self.rho}, "
                            f"{self.threads}")
        if self.train_limit is not None and self.train_limit <= 0:
            raise UserError(f"train_limit must be positive, got {self.train_limit}")


def pad_batch(seqs: list[np.ndarray], pad_id: int = 0, width: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (to the longest sequence, or `width` if larger) and the lengths."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    ids = np.full((len(seqs), max(width, int(lengths.max()))), pad_id, dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
    return torch.from_numpy(ids), torch.from_numpy(lengths)


def model_inputs(encoded: list[list[np.ndarray]], rows) -> tuple[torch.Tensor, ...]:
    """The student's inputs for `rows`: (ids, lengths), or for pairs (ids, lengths, ids_b, lengths_b), both
    sides padded to one width (the (batch, 2, seq) layout of an exported pair student)."""
    width = max(len(side[i]) for side in encoded for i in rows)
    return tuple(t for side in encoded for t in pad_batch([side[i] for i in rows], width=width))


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Shuffled batches of similar lengths: shuffle, sort within pools of 50 batches, shuffle the batches.

    Padding never changes a student's output (see students.py), so bucketing only saves time.
    """
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for i in range(0, len(perm), pool):
        p = perm[i:i + pool]
        p = p[np.argsort(lengths[p], kind="stable")]
        batches.extend(p[j:j + batch_size] for j in range(0, len(p), batch_size))
    order = rng.permutation(len(batches))
    return [batches[k] for k in order]


@torch.inference_mode()
def predict_logits(model: BiLSTMClassifier, encoded: list[list[np.ndarray]], batch_size: int = 256) -> np.ndarray:
    """Logits for every example; `encoded` holds one list of id arrays per sentence of the example."""
    model.eval()
    device = next(model.parameters()).device
    order = np.argsort(total_lengths(encoded), kind="stable")
    out = np.zeros((len(encoded[0]), model.cfg.num_labels), np.float32)
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        out[idx] = model(*(t.to(device) for t in model_inputs(encoded, idx))).cpu().numpy()
    return out


def total_lengths(encoded: list[list[np.ndarray]]) -> np.ndarray:
    return np.sum([[len(s) for s in side] for side in encoded], axis=0).astype(np.int64)


def encode_split(vocab: Vocab, ds, max_length: int) -> list[list[np.ndarray]]:
    """Token ids of a split's sentences: [first sentences] or [first, second] for a pair task."""
    columns = ["text", "text_b"] if "text_b" in ds.column_names else ["text"]
    return [vocab.encode(ds[c], max_length) for c in columns]


def evaluate_splits(model: BiLSTMClassifier, vocab: Vocab, task: Task, max_length: int, seed: int = 0) -> dict:
    """Scores on dev and on the task's extra dev splits (MNLI mismatched): {split: scores}."""
    out = {}
    for split in ("dev", *task.extra_dev):
        ds = load_split(task, split)
        logits = predict_logits(model, encode_split(vocab, ds, max_length))
        out[split] = scores(logits, ds["label"], task.f1, seed=seed)
    return out


def save_student(folder: Path, model: BiLSTMClassifier, vocab: Vocab, extra: dict) -> None:
    """model.safetensors + config.json + vocab.json: everything needed to run the student."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file(state, str(tmp))
    vocab.save(folder)
    write_json(folder / "config.json", {"student": model.cfg.to_dict(), **extra})


def load_student(folder: str | Path) -> tuple[BiLSTMClassifier, Vocab, dict]:
    folder = Path(folder)
    config = read_json(folder / "config.json")
    try:
        model = build_student(StudentConfig(**config["student"]))
    except (KeyError, TypeError) as e:
        raise UserError(f"{folder / 'config.json'}: bad 'student' section ({e})") from None
    try:
        state = load_file(str(folder / "model.safetensors"))
    except FileNotFoundError:
        raise UserError(f"{folder / 'model.safetensors'}: not found") from None
    except Exception as e:  # safetensors raises its own error types for truncated/corrupt files
        raise UserError(f"{folder / 'model.safetensors'}: not a valid safetensors file ({e})") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise UserError(f"{folder / 'model.safetensors'}: weights do not match config.json ({e})") from None
    return model.eval(), Vocab.load(folder), config


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
    settings = {k: v for k, v in asdict(cfg).items() if k not in EXECUTION_ONLY}
    return make_record("student", {"task": task_settings, "student": settings}, {
        **task_inputs, "transfer": file_sha256(transfer),
        "logits": file_sha256(logits_file) if logits_file is not None else None,
        "teacher": folder_sha256(teacher) if teacher is not None and cfg.embedding == "wordpiece" else None})


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
    if cfg.train_limit:
        rows = rows[:cfg.train_limit]
    need_teacher = cfg.alpha < 1.0 or cfg.examples == "all"
    teacher_logits = None
    if need_teacher:
        if logits is None:
            raise UserError("this student needs teacher logits (--logits): alpha < 1 or examples 'all'")
        all_logits = load_logits(logits)
        if len(all_logits) != len(texts):
            raise UserError(f"{logits}: {len(all_logits)} logits rows for {len(texts)} transfer examples; "
                            "label this transfer set again")
        teacher_logits = torch.from_numpy(all_logits[rows])
    # Hard labels: gold for original sentences, the teacher's argmax for augmented ones.
    hard = gold[rows].copy()
    if teacher_logits is not None:
        aug = hard < 0
        hard[aug] = teacher_logits[torch.from_numpy(aug)].argmax(-1).numpy()
    hard = torch.from_numpy(hard)

    wordpiece = None
    if cfg.embedding == "wordpiece":
        if teacher is None:
            raise UserError("embedding 'wordpiece' needs the teacher folder (--teacher)")
        wordpiece = load_wordpiece(teacher)
    sides = [[col[i] for i in rows] for col in (ts.texts, ts.texts_b) if col is not None]
    vocab = Vocab.build([t for side in sides for t in side], "wordpiece" if wordpiece else "word", wordpiece)
    encoded = [vocab.encode(side, cfg.max_length) for side in sides]
    lengths = total_lengths(encoded)
    dev = load_split(task, "dev")
    dev_encoded, dev_labels = encode_split(vocab, dev, cfg.max_length), np.asarray(dev["label"])

    torch.manual_seed(cfg.seed)
    vectors, coverage = initial_vectors(vocab, cfg.embedding, cfg.seed, cfg.embed_dim, teacher)
    arch = StudentConfig(vocab_size=len(vocab), embed_dim=vectors.shape[1], multichannel=cfg.multichannel,
                         hidden=cfg.hidden, fc=cfg.fc, num_labels=task.num_labels, dropout=cfg.dropout,
                         pair=task.is_pair)
    model = build_student(arch)
    model.init_embeddings(vectors)
    device, world, rank = dist.device(), dist.world_size(), dist.rank()
    model.to(device)
    forward = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        forward = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        torch.manual_seed(rank_seed(cfg.seed, rank))  # the same initial weights everywhere, own dropout masks
    if teacher_logits is not None:
        teacher_logits = teacher_logits.to(device)
    hard = hard.to(device)
    optim = torch.optim.Adadelta([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, rho=cfg.rho)

    steps_per_epoch = (len(rows) + cfg.batch_size - 1) // cfg.batch_size
    total_steps = max(1, int(round(cfg.epochs * steps_per_epoch)))
    state_path = out / "state.pt"
    step, best, history, elapsed = 0, -1.0, [], 0.0
    out.mkdir(parents=True, exist_ok=True)
    if state_path.exists():
        state = load_state(state_path, device)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        step, best, elapsed = int(state["step"]), float(state["best"]), float(state["elapsed"])
        restore_rng(state, cfg.seed, step)
        history = json.loads(state["history"])
        dist.echo(f"resuming student training at step {step}/{total_steps}")
    extra = {"task": task.name, "label_names": list(task.label_names), "train": asdict(cfg),
             "max_length": cfg.max_length}

    def evaluate() -> float:
        acc = float((predict_logits(model, dev_encoded).argmax(-1) == dev_labels).mean())
        model.train()
        return acc

    bar = tqdm(total=total_steps, initial=step, desc=f"student {out.name}", unit="step",
               disable=not progress or not dist.is_main(), mininterval=5)
    start = time.time()
    model.train()
    while step < total_steps:
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
            bar.update(1)
            if step % cfg.eval_every == 0 or step == total_steps or step % steps_per_epoch == 0:
                rngs = dist.gather_tensors(torch.get_rng_state())  # collective: every rank, every checkpoint
                if dist.is_main():
                    acc = evaluate()
                    history.append({"step": step, "epoch": round(step / steps_per_epoch, 3),
                                    "loss": round(loss.item(), 5), "dev_accuracy": acc})
                    bar.set_postfix(dev=f"{acc:.4f}", best=f"{max(best, acc):.4f}")
                    if acc > best:
                        best = acc
                        save_student(out, model, vocab, extra)
                    with atomic_path(state_path) as tmp:
                        torch.save({"model": model.state_dict(), "optim": optim.state_dict(),
                                    "rng": torch.get_rng_state(), "rng_ranks": rngs, "step": step, "best": best,
                                    "elapsed": elapsed + time.time() - start,
                                    "history": json.dumps(history)}, tmp)
            if step >= total_steps:
                break
    bar.close()
    elapsed += time.time() - start
    if dist.is_main():
        finish_student(out, task, vocab, cfg, coverage, rows, step, steps_per_epoch, elapsed, history, command)
    dist.barrier()  # the other ranks return rank 0's metrics
    return read_json(out / "metrics.json")


def load_state(path: Path, device: torch.device) -> dict:
    """A resumable state.pt, read with weights_only=True: tensors and plain data only, so a file that is really a
    pickle payload (anything naming a class or a function) is refused before any of it runs."""
    try:
        state = torch.load(path, weights_only=True, map_location=device)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as e:
        raise UserError(f"{path}: not a training state written by distill-bench, not loaded ({first_line(e)}); delete "
                        "it to train this student from the start") from None
    if not isinstance(state, dict) or not {"model", "optim", "step"} <= state.keys():
        raise UserError(f"{path}: not a training state written by distill-bench (keys missing); delete it to "
                        "train this student from the start")
    return state


def rank_seed(seed: int, rank: int) -> int:
    """A per-rank seed for dropout; rank r of any run with this seed draws the same masks."""
    return seed + 1_000_003 * (rank + 1)


def rank_slice(batch: np.ndarray, rank: int, world: int) -> tuple[np.ndarray, float]:
    """This rank's rows of a global batch and the weight that makes DDP's mean gradient the whole batch's.

    Rank r's loss is a mean over n_r rows; DDP averages over W ranks, so weighting it by n_r·W/n gives
    Σ n_r·mean_r / n, the batch mean. A rank left with no rows (a last batch smaller than W) runs one row
    at weight 0, since every rank must take part in each DDP step.
    """
    if world == 1:
        return batch, 1.0
    local = np.array_split(batch, world)[rank]
    if len(local) == 0:
        return batch[:1], 0.0
    return local, len(local) * world / len(batch)


def restore_rng(state: dict, seed: int, step: int) -> None:
    """Put back this rank's RNG from a state.pt; a state from a run with another process count cannot be
    continued draw for draw, so each rank reseeds from (seed, rank, step) instead, and says so."""
    ranks = state.get("rng_ranks")
    world, rank = dist.world_size(), dist.rank()
    if ranks is not None and ranks.shape[0] == world:
        torch.set_rng_state(ranks[rank].cpu())
    elif world == 1:
        torch.set_rng_state(state["rng"].cpu())
    else:
        dist.echo(f"state.pt was written by {1 if ranks is None else ranks.shape[0]} process(es), this run has "
                  f"{world}: dropout masks are reseeded from (seed, rank, step); the weights carry on exactly")
        torch.manual_seed(rank_seed(seed, rank) + step)


def finish_student(out: Path, task: Task, vocab: Vocab, cfg: StudentRunConfig, coverage, rows, step: int,
                   steps_per_epoch: int, elapsed: float, history: list, command: str) -> None:
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
        "seed": cfg.seed, "config": asdict(cfg), "history": history,
        "command": command or shlex.join(["distill-bench", *sys.argv[1:]]),
    }
    write_json(out / "metrics.json", metrics)
    (out / "state.pt").unlink(missing_ok=True)
    complete(out, seconds=metrics["train_seconds"])


def student_config(task: Task, settings: dict) -> StudentRunConfig:
    """Settings over the task's official student sizes (pairs: hidden, FC, dropout, batch) over the defaults."""
    return StudentRunConfig(**{**dict(task.student_defaults), **settings})


def add_student_args(p: argparse.ArgumentParser) -> None:
    d = StudentRunConfig()
    p.add_argument("--transfer", required=True, type=Path, help="transfer set from `augment`")
    p.add_argument("--logits", type=Path, default=None, help="folder from `label` (not needed for alpha=1)")
    p.add_argument("--teacher", type=Path, default=None, help="teacher folder (for wordpiece embeddings)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--force", action="store_true", help="redo a student made with other settings or inputs")
    for f in fields(StudentRunConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                           help=f"[{getattr(d, f.name)}]")
        else:  # unset options take the task's default (pairs) or the dataclass default
            kind = {"int": int, "float": float, "str": str}.get(str(f.type).split(" ")[0], int)
            p.add_argument(flag, type=kind, default=argparse.SUPPRESS, help=f"[{getattr(d, f.name)}]")


def run_student_from_args(task: Task, args) -> None:
    given = {f.name: getattr(args, f.name) for f in fields(StudentRunConfig) if hasattr(args, f.name)}
    cfg = student_config(task, given)
    m = train_student(task, args.transfer, args.logits, args.out, cfg, teacher=args.teacher, force=args.force)
    lo, hi = m["ci95"]
    dist.echo(f"student dev accuracy {m['accuracy']:.4f} [{lo:.4f}, {hi:.4f}] (n={m['n']}) → {args.out}")
