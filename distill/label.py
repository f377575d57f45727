"""Stage 3: the teacher's raw logits for every transfer example.

    distill-bench label --teacher runs/x/teacher/model --transfer runs/x/transfer.tsv --out runs/x/logits

Examples are sorted by token length so each batch is padded only to its own longest example; the sorted
order is cut into chunks, each written atomically as `chunk_NNNNN.npy`, so an interrupted run resumes at the
first missing chunk. When all chunks exist they are merged, in transfer-set order, into `logits.npy`.

Under torchrun the chunks are dealt out round-robin (chunk k to rank k mod N): each rank labels its own, an
interrupted rank resumes at its first missing chunk, and rank 0 merges them exactly as one process would —
every chunk holds the same examples in the same batches whatever N is, so the merged file is the same.

Labellers: "torch" (the eager teacher, the default) or "onnx-int8" (its dynamic-int8 ONNX, export/labeller.py,
3–4× faster on a CPU), used only when its argmax agreement with the fp32 teacher on the task's dev split is at
least `min_agreement`; the gate is measured before any example is labelled and written to label.json. Which
labeller made the logits is part of their record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from distill import clock, dist
from distill.adopt import source_folder
from distill.batching import length_order
from distill.errors import UserError
from distill.hf import PRECISIONS, load_classifier, resolve_precision, teacher_logits, trained_length
from distill.io import atomic_path, file_sha256, read_json, write_json
from distill.record import add_seconds, claim, complete, folder_sha256, make_record
from distill.transfer_set import label_subset, read_transfer_set

LABELLERS = ("torch", "onnx-int8", "onnx-int8-pc")  # pc: per-channel int8 weights (export/labeller.py)


@dataclass
class LabelConfig:
    batch_size: int = field(default=128, metadata={"help": "examples per forward pass (speed only)"})
    chunk_size: int = field(default=20000, metadata={"help": "examples per resumable chunk file"})
    max_length: int | None = field(default=None, metadata={"help": "tokens per example; none = the length the "
                                                                    "teacher was trained at"})
    precision: str = field(default="auto", metadata={"help": "auto (bf16 on a GPU that has it, else fp32) | fp32 "
                                                              "| bf16 | fp16"})
    labeller: str = field(default="torch", metadata={"help": "torch (the eager teacher) | onnx-int8 / onnx-int8-pc "
                                                              "(per-tensor / per-channel weights) (its int8 "
                                                              "ONNX, only if it agrees with fp32 on dev ≥ "
                                                              "min_agreement)"})
    min_agreement: float = field(default=0.98, metadata={"help": "the onnx-int8 labeller's floor: argmax agreement "
                                                                 "with the fp32 teacher on dev"})
    fraction: float = field(default=1.0, metadata={"help": "share of the augmented rows to label (every original "
                                                           "is): a subset stratified by original, chosen by "
                                                           "subset_seed; the others get NaN logits, which students "
                                                           "skip"})
    subset_seed: int = field(default=0, metadata={"help": "seed of the labelled subset (fraction < 1)"})
    from_results: str = field(default="", metadata={"help": "a results folder whose committed logits (and teacher "
                                                            "metrics) this run takes instead of a teacher: "
                                                            "distill/adopt.py (pipeline only)"})

    def __post_init__(self):
        for name in ("batch_size", "chunk_size", "max_length"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise UserError(f"label {name} must be a positive integer, got {getattr(self, name)}")
        if self.labeller not in LABELLERS:
            raise UserError(f"label labeller must be one of {', '.join(LABELLERS)}, got {self.labeller!r}")
        if not 0.0 < self.fraction <= 1.0:
            raise UserError(f"label fraction must be in (0, 1], got {self.fraction}")
        if not 0.0 < self.min_agreement <= 1.0:
            raise UserError(f"label min_agreement must be in (0, 1], got {self.min_agreement}")
        if self.from_results:
            source_folder(self.from_results)  # checked with the config, before any stage runs
        if self.precision not in PRECISIONS:
            raise UserError(f"label precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")


def label_transfer_set(teacher: str | Path, transfer: str | Path, out: str | Path, progress: bool = True,
                       force: bool = False, task=None, make_labeller: Callable | None = None, **settings) -> dict:
    """Label every transfer example; max_length None = the length the teacher was trained at. Batch and chunk
    size change only speed and the resume layout, so they are not part of the record (distill/record.py).
    A labeller other than torch is made by `make_labeller(name, teacher, task, max_length, min_agreement,
    scratch)` (export/labeller.py; the command line passes it) when there is labelling to do."""
    out = Path(out)
    cfg = LabelConfig(**settings)  # the settings given (LabelConfig's fields), over its defaults
    batch_size, chunk_size, max_length, precision = cfg.batch_size, cfg.chunk_size, cfg.max_length, cfg.precision
    tokenizer, model = load_classifier(teacher)
    model.to(dist.device())
    precision = resolve_precision(precision, model.device)
    max_length = max_length or trained_length(tokenizer, model)
    identity = {"max_length": max_length, "precision": precision}
    if cfg.labeller != "torch":  # the torch labeller's records predate this setting and stay as they were
        identity.update(labeller=cfg.labeller, min_agreement=cfg.min_agreement)
    if cfg.fraction < 1.0:  # likewise: a whole-set labelling's record is unchanged
        identity.update(fraction=cfg.fraction, subset_seed=cfg.subset_seed)
    record = make_record("label", identity, {"teacher": folder_sha256(teacher), "transfer": file_sha256(transfer)})
    with dist.main_first():
        decision = claim(out, record, force, what=f"logits {out}", log=dist.echo) if dist.is_main() else None
    if (out / "logits.npy").exists() and (out / "label.json").exists():
        if decision == "resume":
            complete(out)
        return read_json(out / "label.json")
    ts = read_transfer_set(transfer)
    texts, pairs = ts.texts, ts.texts_b
    plan = {"transfer": str(transfer), "transfer_sha256": record["inputs"]["transfer"], "n": len(texts),
            "chunk_size": chunk_size, "max_length": max_length, "teacher": str(teacher),
            "precision": precision, "labeller": cfg.labeller, "fraction": cfg.fraction,
            "subset_seed": cfg.subset_seed}
    labeller = None
    if cfg.labeller != "torch":
        if make_labeller is None or task is None:
            raise UserError(f"labeller {cfg.labeller} is checked on a task's dev split before it labels: give "
                            "--task (distill-bench label) or run it from the pipeline")
        labeller = make_labeller(cfg.labeller, Path(teacher), task, max_length, cfg.min_agreement,
                                 out.parent / f".{out.name}-labeller")
        dist.echo(f"labeller {cfg.labeller}: argmax agreement with the fp32 teacher on dev "
                  f"{labeller.gate['value']:.4f} ≥ {cfg.min_agreement}")
    with dist.main_first():  # rank 0 writes plan.json; the others check theirs against it
        _check_plan(out, plan)

    chosen = np.flatnonzero(label_subset(ts, cfg.fraction, cfg.subset_seed))
    lengths = [len(ids) for ids in tokenizer([texts[i] for i in chosen], [pairs[i] for i in chosen] if pairs else None,
                                             truncation=True, max_length=max_length)["input_ids"]]
    order = chosen[length_order(lengths)]  # transfer-set row numbers, shortest first
    n_chunks = (len(order) + chunk_size - 1) // chunk_size
    mine = [k for k in range(n_chunks) if k % dist.world_size() == dist.rank()]
    todo = [k for k in mine if not (out / f"chunk_{k:05d}.npy").exists()]
    bar = tqdm(total=sum(len(order[k * chunk_size:(k + 1) * chunk_size]) for k in mine),
               initial=sum(len(order[k * chunk_size:(k + 1) * chunk_size]) for k in mine if k not in todo),
               desc="label" if dist.world_size() == 1 else f"label (rank 0 of {dist.world_size()})", unit="ex",
               disable=not progress or not dist.is_main(), mininterval=2, smoothing=0.05)
    estimate = _estimate(order, todo, chunk_size, batch_size, texts, pairs, labeller, model, tokenizer, max_length,
                         precision) if todo and dist.is_main() else None
    if estimate:
        dist.echo(f"label: {estimate['rows']:,} rows to label (of {len(texts):,}; fraction {cfg.fraction} of the "
                  f"augmented), about {estimate['minutes']:.1f} min at ~{estimate['rows_per_s']:.0f} rows/s "
                  "(one median-length batch, timed now)")
    start, labelled = clock.running(), 0
    lap = start
    for k in todo:
        path = out / f"chunk_{k:05d}.npy"
        idx = order[k * chunk_size:(k + 1) * chunk_size]
        chunk_texts = [texts[i] for i in idx]
        chunk_pairs = [pairs[i] for i in idx] if pairs else None
        logits = []
        for i in range(0, len(chunk_texts), batch_size):
            batch, batch_b = chunk_texts[i:i + batch_size], chunk_pairs[i:i + batch_size] if pairs else None
            logits.append(labeller.logits(batch, batch_b, max_length) if labeller else
                          teacher_logits(model, tokenizer, batch, batch_b, batch_size=batch_size,
                                         max_length=max_length, precision=precision))
            bar.update(len(logits[-1]))
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, np.concatenate(logits).astype(np.float32))
        labelled += len(idx)
        if dist.is_main():  # rank 0's wall time: the time every rank's share took, as they run side by side
            add_seconds(out, clock.running() - lap)
        lap = clock.running()
    bar.close()
    labelled = int(dist.sum_across(labelled))  # also waits for every rank's chunks
    seconds = clock.running() - start
    if dist.is_main():
        add_seconds(out, clock.running() - lap)
        _merge(out, order, n_chunks, chunk_size, len(texts), model.config.num_labels)
        stats_subset = {"labelled_rows": int(len(order)), "fraction": cfg.fraction, "subset_seed": cfg.subset_seed,
                        "estimate": estimate}
        rec = read_json(out / "record.json")
        stats = {**plan, "num_labels": model.config.num_labels, "labelled_this_process": labelled,  # all ranks
                 "seconds_this_process": round(seconds, 1),  # wall time of this run, rank 0
                 "seconds": rec["seconds"], "runs": rec["runs"],  # over every run that labelled a chunk
                 "sentences_per_second": round(labelled / seconds, 1) if labelled and seconds else None,
                 "processes": dist.world_size(), "threads": torch.get_num_threads(), "batch_size": batch_size,
                 "device": str(model.device), "labeller_gate": labeller.gate if labeller else None, **stats_subset}
        write_json(out / "label.json", stats)
        for k in range(n_chunks):
            (out / f"chunk_{k:05d}.npy").unlink()
        complete(out)
        print(f"label: {len(texts)} examples, {labelled} labelled now in {seconds:.0f} s → {out / 'logits.npy'}")
    dist.barrier()
    return read_json(out / "label.json")


def _estimate(order, todo, chunk_size, batch_size, texts, pairs, labeller, model, tokenizer, max_length,
              precision) -> dict:
    """Rows this process will label and the time it will take, from one median-length batch timed now."""
    rows = sum(len(order[k * chunk_size:(k + 1) * chunk_size]) for k in todo)
    mid = len(order) // 2
    idx = order[max(0, mid - batch_size // 2):][:batch_size]
    batch, batch_b = [texts[i] for i in idx], [pairs[i] for i in idx] if pairs else None
    start = clock.running()
    if labeller:
        labeller.logits(batch, batch_b, max_length)
    else:
        teacher_logits(model, tokenizer, batch, batch_b, batch_size=batch_size, max_length=max_length,
                       precision=precision)
    rate = len(idx) / max(clock.running() - start, 1e-9)
    return {"rows": int(rows), "rows_per_s": round(rate, 1), "minutes": round(rows / rate / 60, 1)}


def _check_plan(out: Path, plan: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if (out / "plan.json").exists():
        old = read_json(out / "plan.json")
        keys = ("transfer_sha256", "n", "chunk_size", "max_length", "precision", "labeller", "fraction",
                "subset_seed")
        missing = {"precision": "fp32", "labeller": "torch", "fraction": 1.0, "subset_seed": 0}  # older plans
        if any(old.get(k, missing.get(k)) != plan[k] for k in keys):
            raise UserError(f"{out}: holds chunks of a different labelling run ({out / 'plan.json'}); "
                            "use another --out or delete that folder")
    else:
        write_json(out / "plan.json", plan)


def _merge(out: Path, order: np.ndarray, n_chunks: int, chunk_size: int, n: int, num_labels: int) -> None:
    """Chunks (in length order) back into transfer-set order, as one atomic logits.npy."""
    merged = np.full((n, num_labels), np.nan, np.float32)  # rows outside a subset stay NaN
    for k in range(n_chunks):
        merged[order[k * chunk_size:(k + 1) * chunk_size]] = np.load(out / f"chunk_{k:05d}.npy", allow_pickle=False)
    with atomic_path(out / "logits.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, merged)
