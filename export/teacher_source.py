"""A fine-tuned teacher folder as an export Source, at the length it was trained at (teacher_max_length)."""

from __future__ import annotations

from pathlib import Path

from distill.hf import load_classifier
from distill.io import read_json
from distill.record import RECORD
from export.contract import TeacherForExport
from export.encoder import TextEncoder
from export.source import Source

# transformers' "no limit" model_max_length (int(1e30)); anything this large was never a training length
UNSET_LENGTH = 1_000_000


def position_limit(config) -> int | None:
    """The longest input the model's position table takes (None: no such table). RoBERTa-style models offset
    positions past the padding index, so two of their max_position_embeddings rows are never a position."""
    limit = getattr(config, "max_position_embeddings", None)
    if not limit:
        return None
    return limit - 2 if "roberta" in (getattr(config, "model_type", "") or "") or \
        getattr(config, "model_type", "") == "camembert" else limit


def teacher_max_length(tokenizer, config, folder: Path) -> tuple[int, str]:
    """(length, where it came from): the teacher's training max_length as its tokenizer recorded it
    (`model_max_length`, saved by `distill-bench teacher`), else the teacher record's settings, else the
    model's position limit (512 when it has none); never beyond the position limit."""
    limit = position_limit(config)
    recorded, origin = tokenizer.model_max_length, "tokenizer_config.json model_max_length"
    if not recorded or recorded >= UNSET_LENGTH:
        recorded, origin = None, None
        record = folder.parent / RECORD  # the teacher stage's record, beside its model folder
        if record.is_file():
            settings = read_json(record).get("settings", {})
            recorded = settings.get("max_length") or (settings.get("teacher") or {}).get("max_length")
            origin = f"{record.parent.name}/record.json settings" if recorded else None
    if not recorded:
        return (limit or 512), ("max_position_embeddings (no training length recorded)" if limit else
                                "512 (no training length or position limit recorded)")
    if limit and recorded > limit:
        return limit, f"{origin} ({recorded}) capped at max_position_embeddings"
    return int(recorded), origin


def load_teacher_source(folder: str | Path, max_length: int | None = None, name: str = "teacher",
                        pair: bool = False) -> Source:
    """The fine-tuned teacher in `folder`, at its recorded training length (teacher_max_length) unless
    `max_length` is given."""
    folder = Path(folder)
    tokenizer, model = load_classifier(folder)
    encoder = TextEncoder("hf", folder)
    weights = sorted(folder.glob("*.safetensors"))[0]
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    segments = pair and "token_type_ids" in tokenizer.model_input_names and \
        getattr(model.config, "type_vocab_size", 1) > 1
    sep = tokenizer.sep_token_id if segments else None
    if max_length is None:
        max_length, origin = teacher_max_length(tokenizer, model.config, folder)
    else:
        limit = position_limit(model.config)
        max_length, origin = (min(max_length, limit) if limit else max_length), "given by the caller"
    return Source(name=name, kind="teacher", module=TeacherForExport(model.float(), sep).eval(), encoder=encoder,
                  pair=pair, sep_token_id=sep,
                  checkpoint=weights, label_names=labels, max_length=max_length,
                  vocab_size=model.config.vocab_size, first_token_id=len(tokenizer.all_special_ids) or 1,
                  info={"params": model.num_parameters(),
                        "params_no_embedding": model.num_parameters(exclude_embeddings=True),
                        "architecture": (model.config.architectures or [type(model).__name__])[0],
                        "max_length": max_length, "max_length_from": origin})
