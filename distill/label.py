"""Stage 3: the teacher's raw logits for every transfer example.

    distill-bench label --teacher runs/x/teacher/model --transfer runs/x/transfer.tsv --out runs/x/logits

Examples are sorted by token length so each batch is padded only to its own longest example; the sorted
order is cut into chunks, each written atomically as `chunk_NNNNN.npy`, so an interrupted run resumes at the
first missing chunk. When all chunks exist they are merged, in transfer-set order, into `logits.npy`.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from distill.augment import read_transfer_set
from distill.errors import UserError
from distill.io import atomic_path, read_json, write_json


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_finetuned_teacher(folder: str | Path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise UserError(f"{folder}: not a fine-tuned teacher folder (no config.json)")
    if not any(folder.glob("*.safetensors")):
        raise UserError(f"{folder}: no *.safetensors weights (pickle checkpoints are refused)")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True,
                                                               use_safetensors=True)
    return tokenizer, model.eval()


@torch.inference_mode()
def teacher_logits(model, tokenizer, texts: list[str], pairs: list[str] | None = None, batch_size: int = 128,
                   max_length: int = 128) -> np.ndarray:
    """Logits for `texts` (and their second sentences) in the given order, each batch padded to its longest."""
    out = []
    for i in range(0, len(texts), batch_size):
        args = (texts[i:i + batch_size],) + ((pairs[i:i + batch_size],) if pairs else ())
        enc = tokenizer(*args, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        out.append(model(**enc).logits.float().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.num_labels), np.float32)


def label_transfer_set(teacher: str | Path, transfer: str | Path, out: str | Path, batch_size: int = 128,
                       chunk_size: int = 20000, max_length: int = 128, progress: bool = True) -> dict:
    out = Path(out)
    if (out / "logits.npy").exists() and (out / "label.json").exists():
        return read_json(out / "label.json")
    ts = read_transfer_set(transfer)
    texts, pairs = ts.texts, ts.texts_b
    tokenizer, model = load_finetuned_teacher(teacher)
    plan = {"transfer": str(transfer), "transfer_sha256": file_sha256(transfer), "n": len(texts),
            "chunk_size": chunk_size, "max_length": max_length, "teacher": str(teacher)}
    out.mkdir(parents=True, exist_ok=True)
    if (out / "plan.json").exists():
        old = read_json(out / "plan.json")
        keys = ("transfer_sha256", "n", "chunk_size", "max_length")
        if any(old.get(k) != plan[k] for k in keys):
            raise UserError(f"{out}: holds chunks of a different labelling run ({out / 'plan.json'}); "
                            "use another --out or delete that folder")
    else:
        write_json(out / "plan.json", plan)

    lengths = [len(ids) for ids in tokenizer(texts, pairs, truncation=True, max_length=max_length)["input_ids"]]
    order = np.argsort(np.asarray(lengths), kind="stable")
    n_chunks = (len(texts) + chunk_size - 1) // chunk_size
    done = [k for k in range(n_chunks) if (out / f"chunk_{k:05d}.npy").exists()]
    bar = tqdm(total=len(texts), initial=min(len(done) * chunk_size, len(texts)), desc="label", unit="ex",
               disable=not progress, mininterval=2, smoothing=0.05)
    start, labelled = time.time(), 0
    for k in range(n_chunks):
        path = out / f"chunk_{k:05d}.npy"
        if path.exists():
            continue
        idx = order[k * chunk_size:(k + 1) * chunk_size]
        chunk_texts = [texts[i] for i in idx]
        chunk_pairs = [pairs[i] for i in idx] if pairs else None
        logits = []
        for i in range(0, len(chunk_texts), batch_size):
            logits.append(teacher_logits(model, tokenizer, chunk_texts[i:i + batch_size],
                                         chunk_pairs[i:i + batch_size] if pairs else None,
                                         batch_size=batch_size, max_length=max_length))
            bar.update(len(logits[-1]))
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, np.concatenate(logits).astype(np.float32))
        labelled += len(idx)
    bar.close()
    seconds = time.time() - start

    merged = np.zeros((len(texts), model.config.num_labels), np.float32)
    for k in range(n_chunks):
        merged[order[k * chunk_size:(k + 1) * chunk_size]] = np.load(out / f"chunk_{k:05d}.npy",
                                                                     allow_pickle=False)
    with atomic_path(out / "logits.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, merged)
    stats = {**plan, "num_labels": model.config.num_labels, "labelled_this_process": labelled,
             "seconds_this_process": round(seconds, 1),
             "sentences_per_second": round(labelled / seconds, 1) if labelled and seconds else None,
             "threads": torch.get_num_threads(), "batch_size": batch_size}
    write_json(out / "label.json", stats)
    for k in range(n_chunks):
        (out / f"chunk_{k:05d}.npy").unlink()
    print(f"label: {len(texts)} examples, {labelled} labelled now in {seconds:.0f} s → {out / 'logits.npy'}")
    return stats


def load_logits(folder: str | Path) -> np.ndarray:
    path = Path(folder) / "logits.npy"
    if not path.is_file():
        raise UserError(f"{path}: logits not found (run `distill-bench label` first)")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        raise UserError(f"{path}: not a valid logits file ({e})") from None
