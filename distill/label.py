"""Stage 3: the teacher's raw logits for every transfer example.

    distill-bench label --teacher runs/x/teacher/model --transfer runs/x/transfer.tsv --out runs/x/logits

Examples are sorted by token length so each batch is padded only to its own longest example; the sorted
order is cut into chunks, each written atomically as `chunk_NNNNN.npy`, so an interrupted run resumes at the
first missing chunk. When all chunks exist they are merged, in transfer-set order, into `logits.npy`.

Under torchrun the chunks are dealt out round-robin (chunk k to rank k mod N): each rank labels its own, an
interrupted rank resumes at its first missing chunk, and rank 0 merges them exactly as one process would —
every chunk holds the same examples in the same batches whatever N is, so the merged file is the same.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from tqdm import tqdm

from distill import dist
from distill.augment import read_transfer_set
from distill.errors import UserError, first_line
from distill.io import atomic_path, file_sha256, read_json, write_json
from distill.record import add_seconds, claim, complete, folder_sha256, make_record


def load_finetuned_teacher(folder: str | Path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise UserError(f"{folder}: not a fine-tuned teacher folder (no config.json)")
    if not any(folder.glob("*.safetensors")):
        raise UserError(f"{folder}: no *.safetensors weights (pickle checkpoints are refused)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True,
                                                                   use_safetensors=True)
    except LOAD_ERRORS as e:
        raise load_error(folder, e) from None
    check_tokenizer(folder, tokenizer)
    return tokenizer, model.eval()


def check_tokenizer(folder: Path, tokenizer) -> None:
    """transformers builds an empty tokenizer (every word [UNK]) from a folder without tokenizer files, and the
    teacher would then label noise without a word of complaint: refuse that folder instead."""
    if len(tokenizer) <= len(set(tokenizer.all_special_tokens)) + 1:
        raise UserError(f"{folder}: no usable tokenizer (its vocabulary has {len(tokenizer)} tokens); the folder "
                        "needs the tokenizer files saved with the model (tokenizer.json or vocab.txt …)")


# what transformers raises for a bad config.json or tokenizer file, and safetensors for a truncated or corrupt
# weights file: a user's folder, so a one-line error, never a traceback
LOAD_ERRORS = (OSError, ValueError, KeyError, RuntimeError, SafetensorError)


def load_error(folder: Path, e: Exception) -> UserError:
    return UserError(f"{folder}: cannot load this model folder ({first_line(e, 300)})")


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_precision(precision: str, device: torch.device) -> str:
    """fp32, bf16 or fp16. "auto": bf16 on a GPU that has it (faster, and the teacher's logits move far less
    than distillation notices), fp32 on CPU (bf16 is slower there without AMX, and CPU runs stay exact)."""
    if precision not in PRECISIONS:
        raise UserError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    return precision


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device`; None = plain fp32."""
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[resolve_precision(precision, device)]


@torch.inference_mode()
def teacher_logits(model, tokenizer, texts: list[str], pairs: list[str] | None = None, batch_size: int = 128,
                   max_length: int = 128, precision: str = "fp32") -> np.ndarray:
    """Logits for `texts` (and their second sentences) in the given order, each batch padded to its longest."""
    out = []
    device = model.device
    dtype = autocast_dtype(precision, device)
    for i in range(0, len(texts), batch_size):
        args = (texts[i:i + batch_size],) + ((pairs[i:i + batch_size],) if pairs else ())
        enc = tokenizer(*args, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            out.append(model(**enc.to(device)).logits.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.num_labels), np.float32)


def check_label_settings(**settings) -> None:
    """The labelling settings given (label_transfer_set's keywords), checked once for the command and for a
    pipeline config before any work; an absent one takes label_transfer_set's default, which is valid."""
    for name in ("batch_size", "chunk_size", "max_length"):
        if settings.get(name) is not None and settings[name] <= 0:
            raise UserError(f"label {name} must be a positive integer, got {settings[name]}")
    if settings.get("precision", "auto") not in PRECISIONS:
        raise UserError(f"label precision must be one of {', '.join(PRECISIONS)}, got {settings['precision']!r}")


def trained_length(tokenizer, model) -> int:
    """The length the teacher was trained at: `train_teacher` saves it as the tokenizer's model_max_length. A
    folder from elsewhere may carry transformers' "unset" sentinel (~1e30): then the model's position table."""
    limit = getattr(model.config, "max_position_embeddings", None) or 512
    length = tokenizer.model_max_length
    return int(length) if 0 < length <= limit else int(limit)


def label_transfer_set(teacher: str | Path, transfer: str | Path, out: str | Path, batch_size: int = 128,
                       chunk_size: int = 20000, max_length: int | None = None, precision: str = "auto",
                       progress: bool = True, force: bool = False) -> dict:
    """Label every transfer example; max_length None = the length the teacher was trained at. Batch and chunk
    size change only speed and the resume layout, so they are not part of the record (distill/record.py)."""
    out = Path(out)
    check_label_settings(batch_size=batch_size, chunk_size=chunk_size, max_length=max_length, precision=precision)
    tokenizer, model = load_finetuned_teacher(teacher)
    model.to(dist.device())
    precision = resolve_precision(precision, model.device)
    max_length = max_length or trained_length(tokenizer, model)
    record = make_record("label", {"max_length": max_length, "precision": precision},
                         {"teacher": folder_sha256(teacher), "transfer": file_sha256(transfer)})
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
            "precision": precision}
    with dist.main_first():  # rank 0 writes plan.json; the others check theirs against it
        _check_plan(out, plan)

    lengths = [len(ids) for ids in tokenizer(texts, pairs, truncation=True, max_length=max_length)["input_ids"]]
    order = np.argsort(np.asarray(lengths), kind="stable")
    n_chunks = (len(texts) + chunk_size - 1) // chunk_size
    mine = [k for k in range(n_chunks) if k % dist.world_size() == dist.rank()]
    todo = [k for k in mine if not (out / f"chunk_{k:05d}.npy").exists()]
    bar = tqdm(total=sum(len(order[k * chunk_size:(k + 1) * chunk_size]) for k in mine),
               initial=sum(len(order[k * chunk_size:(k + 1) * chunk_size]) for k in mine if k not in todo),
               desc="label" if dist.world_size() == 1 else f"label (rank 0 of {dist.world_size()})", unit="ex",
               disable=not progress or not dist.is_main(), mininterval=2, smoothing=0.05)
    start, labelled = time.time(), 0
    lap = start
    for k in todo:
        path = out / f"chunk_{k:05d}.npy"
        idx = order[k * chunk_size:(k + 1) * chunk_size]
        chunk_texts = [texts[i] for i in idx]
        chunk_pairs = [pairs[i] for i in idx] if pairs else None
        logits = []
        for i in range(0, len(chunk_texts), batch_size):
            logits.append(teacher_logits(model, tokenizer, chunk_texts[i:i + batch_size],
                                         chunk_pairs[i:i + batch_size] if pairs else None,
                                         batch_size=batch_size, max_length=max_length, precision=precision))
            bar.update(len(logits[-1]))
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, np.concatenate(logits).astype(np.float32))
        labelled += len(idx)
        if dist.is_main():  # rank 0's wall time: the time every rank's share took, as they run side by side
            add_seconds(out, time.time() - lap)
        lap = time.time()
    bar.close()
    labelled = int(dist.sum_across(labelled))  # also waits for every rank's chunks
    seconds = time.time() - start
    if dist.is_main():
        add_seconds(out, time.time() - lap)
        _merge(out, order, n_chunks, chunk_size, len(texts), model.config.num_labels)
        rec = read_json(out / "record.json")
        stats = {**plan, "num_labels": model.config.num_labels, "labelled_this_process": labelled,  # all ranks
                 "seconds_this_process": round(seconds, 1),  # wall time of this run, rank 0
                 "seconds": rec["seconds"], "runs": rec["runs"],  # over every run that labelled a chunk
                 "sentences_per_second": round(labelled / seconds, 1) if labelled and seconds else None,
                 "processes": dist.world_size(), "threads": torch.get_num_threads(), "batch_size": batch_size,
                 "device": str(model.device)}
        write_json(out / "label.json", stats)
        for k in range(n_chunks):
            (out / f"chunk_{k:05d}.npy").unlink()
        complete(out)
        print(f"label: {len(texts)} examples, {labelled} labelled now in {seconds:.0f} s → {out / 'logits.npy'}")
    dist.barrier()
    return read_json(out / "label.json")


def _check_plan(out: Path, plan: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if (out / "plan.json").exists():
        old = read_json(out / "plan.json")
        keys = ("transfer_sha256", "n", "chunk_size", "max_length", "precision")
        if any(old.get(k, "fp32" if k == "precision" else None) != plan[k] for k in keys):
            raise UserError(f"{out}: holds chunks of a different labelling run ({out / 'plan.json'}); "
                            "use another --out or delete that folder")
    else:
        write_json(out / "plan.json", plan)


def _merge(out: Path, order: np.ndarray, n_chunks: int, chunk_size: int, n: int, num_labels: int) -> None:
    """Chunks (in length order) back into transfer-set order, as one atomic logits.npy."""
    merged = np.zeros((n, num_labels), np.float32)
    for k in range(n_chunks):
        merged[order[k * chunk_size:(k + 1) * chunk_size]] = np.load(out / f"chunk_{k:05d}.npy", allow_pickle=False)
    with atomic_path(out / "logits.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, merged)


def load_logits(folder: str | Path) -> np.ndarray:
    path = Path(folder) / "logits.npy"
    if not path.is_file():
        raise UserError(f"{path}: logits not found (run `distill-bench label` first)")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        raise UserError(f"{path}: not a valid logits file ({e})") from None
