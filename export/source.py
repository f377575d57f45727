"""What gets exported: a model behind one input contract, plus the text encoder shipped beside every artifact.

Every artifact, student or teacher, takes the same two int64 inputs — `input_ids` and `attention_mask`,
right-padded — and returns `logits` (batch, labels). The student turns the mask into lengths inside the graph,
so one runner, one validator and one `predict` serve every model and target.

Shapes: (batch, seq) for single sentences and for a pair teacher (both sentences in one input, as BERT reads
them); (batch, 2, seq) for a Siamese pair student, one row per sentence, each right-padded on its own.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from distill.errors import UserError

INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAMES = ("logits",)


class StudentForExport(nn.Module):
    """(input_ids, attention_mask) → logits for a BiLSTM student; lengths come from the mask."""

    def __init__(self, student: nn.Module):
        super().__init__()
        self.student = student

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.student(input_ids, attention_mask.sum(1))


class PairStudentForExport(StudentForExport):
    """(input_ids, attention_mask) of shape (batch, 2, seq) → logits for a Siamese student.

    Both sentences go through the shared encoder in one call over 2 × batch rows (a reshape, not a cat of
    token ids: the XNNPACK int8 quantizer observes every cat and cannot observe integers). One call also
    leaves one LSTM per direction in the graph: with two calls sharing weights, ONNX Runtime's dynamic int8
    quantizer gave logits ~30 % off (measured on a random pair student), while one call stays within 1 %.
    """

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        seq = input_ids.shape[-1]
        flat_ids = input_ids.transpose(0, 1).reshape(-1, seq)  # all first sentences, then all second ones
        lengths = attention_mask.sum(-1).transpose(0, 1).reshape(-1)
        h = self.student.encode(flat_ids, lengths).reshape(2, input_ids.shape[0], -1)
        return self.student.classify_pair(h[0], h[1])


class TeacherForExport(nn.Module):
    """(input_ids, attention_mask) → logits for a Hugging Face sequence classifier (no dict output).

    With `sep_token_id` (a pair teacher whose model has segment embeddings) the segment ids are rebuilt in
    the graph, as the tokenizer makes them: 0 up to and including the first [SEP], 1 after it (pads masked).
    """

    def __init__(self, model: nn.Module, sep_token_id: int | None = None):
        super().__init__()
        self.model, self.sep_token_id = model, sep_token_id

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.sep_token_id is None:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        sep = (input_ids == self.sep_token_id).to(input_ids.dtype)
        token_type_ids = ((sep.cumsum(1) - sep) > 0).to(input_ids.dtype) * attention_mask
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits


class TextEncoder:
    """Raw text → right-padded (input_ids, attention_mask) int64 arrays, from a `tokenizer/` folder.

    kind "student": the student's vocab.json (+ wordpiece/); kind "hf": a Hugging Face tokenizer folder.
    """

    def __init__(self, kind: str, folder: Path):
        self.kind, self.folder = kind, Path(folder)
        if kind == "student":
            from distill.vocab import Vocab

            self.vocab = Vocab.load(self.folder)
        elif kind == "hf":
            from transformers import AutoTokenizer

            try:
                self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder), local_files_only=True)
            except (OSError, ValueError) as e:
                raise UserError(f"{self.folder}: cannot load the tokenizer ({e})") from None
        else:
            raise UserError(f"{self.folder}: unknown tokenizer kind {kind!r} (expected 'student' or 'hf')")

    def __call__(self, texts: list[str], max_length: int,
                 texts_b: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Texts (and their second sentences) → (input_ids, attention_mask): (n, seq) for a single sentence
        or an HF pair; (n, 2, seq) for a student pair, each sentence cut at max_length on its own."""
        if self.kind == "hf":
            args = (list(texts),) + ((list(texts_b),) if texts_b is not None else ())
            enc = self.tokenizer(*args, truncation=True, max_length=max_length, padding=True, return_tensors="np")
            return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
        sides = [self.vocab.encode(list(t), max_length=max_length) for t in (texts, texts_b) if t is not None]
        width = max(len(s) for side in sides for s in side)
        ids = np.zeros((len(sides[0]), len(sides), width), np.int64)
        for k, side in enumerate(sides):
            for i, s in enumerate(side):
                ids[i, k, :len(s)] = s
        ids = ids[:, 0] if texts_b is None else ids
        return ids, (ids != 0).astype(np.int64)  # id 0 is [PAD] only: every real token, [UNK] too, is ≥ 1

    def token_counts(self, texts: list[str], texts_b: list[str] | None = None) -> list[int]:
        """Untruncated token count of each input as the model would read it (a pair: its longer side for a
        student, the joined row for an HF teacher), to tell the user what truncation would cut."""
        if self.kind == "hf":
            args = (list(texts),) + ((list(texts_b),) if texts_b is not None else ())
            return [len(x) for x in self.tokenizer(*args, truncation=False)["input_ids"]]
        sides = [[len(s) for s in self.vocab.split_many(list(t))] for t in (texts, texts_b) if t is not None]
        return [max(c) for c in zip(*sides)]

    def unknown_only(self, texts: list[str]) -> list[bool]:
        """True where no token of the text is in a student's vocabulary (it reads [UNK] only)."""
        if self.kind == "hf":
            return [False] * len(texts)
        return [all(t not in self.vocab.index for t in toks) for toks in self.vocab.split_many(list(texts))]

    def save(self, folder: Path) -> None:
        """Ship the tokenizer files only (never the weights that may sit in the same source folder)."""
        if self.kind == "hf":
            self.tokenizer.save_pretrained(str(folder))
            return
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.folder / "vocab.json", folder / "vocab.json")
        if (self.folder / "wordpiece").is_dir():
            shutil.copytree(self.folder / "wordpiece", folder / "wordpiece", dirs_exist_ok=True)


@dataclass
class Source:
    """A model ready to export: its eager module, encoder, identity and what validation needs."""

    name: str
    kind: str  # "student" | "teacher"
    module: nn.Module
    encoder: TextEncoder
    checkpoint: Path  # the weights file whose sha256 names the source
    label_names: list[str]
    max_length: int
    vocab_size: int
    first_token_id: int  # random parity inputs draw ids from [first_token_id, vocab_size)
    info: dict = field(default_factory=dict)
    pair: bool = False  # a sentence-pair model (student inputs (batch, 2, seq); teacher: one joined input)
    sep_token_id: int | None = None  # pair teacher: the [SEP] that splits the segments

    @property
    def siamese(self) -> bool:
        """A pair student: one row per sentence, inputs (batch, 2, seq)."""
        return self.pair and self.kind == "student"

    @property
    def input_shape(self) -> list:
        return ["batch", 2, "seq"] if self.siamese else ["batch", "seq"]

    @property
    def seq_axis(self) -> int:
        return len(self.input_shape) - 1

    def record_inputs(self) -> dict:
        """sha256 of what an artifact of this model is made from (its record's inputs): a student's weights
        and vocabulary; the teacher's whole model folder (weights, config, tokenizer)."""
        from distill.io import file_sha256
        from distill.record import folder_sha256

        if self.kind == "teacher":
            return {"checkpoint": folder_sha256(self.checkpoint.parent)}
        folder = self.checkpoint.parent
        inputs = {"checkpoint": file_sha256(self.checkpoint), "vocab": file_sha256(folder / "vocab.json")}
        if (folder / "wordpiece").is_dir():
            inputs["wordpiece"] = folder_sha256(folder / "wordpiece")
        return inputs

    def fresh_module(self) -> nn.Module:
        """A deep copy for an exporter to trace: torch.export rebinds nn.LSTM's flat weights while tracing,
        and a later dynamic-length export of the *same* module object then fails ("Constraints violated
        (seq)"), so every exporter gets its own copy."""
        return copy.deepcopy(self.module)

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.module(torch.from_numpy(input_ids), torch.from_numpy(attention_mask)).float().numpy()


def load_student_source(folder: str | Path, name: str | None = None) -> Source:
    from distill.train import load_student

    folder = Path(folder)
    model, vocab, config = load_student(folder)
    if not isinstance(config.get("max_length"), int) or config["max_length"] < 1:
        raise UserError(f"{folder / 'config.json'}: no max_length recorded (the length the student was trained "
                        f"at, a positive integer; got {config.get('max_length')!r})")
    wrapper = PairStudentForExport if model.cfg.pair else StudentForExport
    return Source(name=name or folder.name, kind="student", module=wrapper(model).eval(), pair=model.cfg.pair,
                  encoder=TextEncoder("student", folder), checkpoint=folder / "model.safetensors",
                  label_names=list(config.get("label_names") or range(model.cfg.num_labels)),
                  max_length=config["max_length"], vocab_size=len(vocab), first_token_id=3,
                  info={"params": model.num_params(False), "params_no_embedding": model.num_params(True),
                        "student": config["student"], "max_length": config["max_length"],
                        "max_length_from": "config.json max_length"})


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
        record = folder.parent / "record.json"
        if record.is_file():
            from distill.io import read_json

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
    from distill.label import load_finetuned_teacher

    folder = Path(folder)
    tokenizer, model = load_finetuned_teacher(folder)
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


def torch_device(device: str) -> torch.device:
    """The torch device for a runtime device name; TargetUnavailable when it is absent here."""
    from export.registry import TargetUnavailable

    if device == "cuda" and not torch.cuda.is_available():
        raise TargetUnavailable("no CUDA device here (torch.cuda.is_available() is False)")
    return torch.device(device)


def torch_runner(module, device: str = "cpu") -> callable:
    """numpy (input_ids, attention_mask) → numpy logits for any torch module (eager, TorchScript, .pt2).

    On CUDA the copy back to the host waits for the kernels, so a timed call covers the whole inference.
    Intra-op threads are torch's process-wide setting (torch.set_num_threads), set by the caller.
    """
    dev = torch_device(device)

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(ids).to(dev), torch.from_numpy(mask).to(dev)).float().cpu().numpy()

    return run


def example_inputs(source: Source, batch: int = 2, seq: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    """A traced/exported example: batch ≥ 2 and seq ≥ 2 with one padded row, so neither axis is fixed to 1.
    A pair student's example pads the first sentence of the last row and the second of the first row."""
    seq = max(2, min(seq, source.max_length))
    g = torch.Generator().manual_seed(0)
    shape = (batch, 2, seq) if source.siamese else (batch, seq)
    ids = torch.randint(source.first_token_id, source.vocab_size, shape, generator=g)
    mask = torch.ones_like(ids)
    padded = [(-1, 0), (0, 1)] if len(shape) == 3 else [(-1,)]
    for row in padded:
        ids[row][..., seq // 2:] = 0
        mask[row][..., seq // 2:] = 0
    return ids, mask
