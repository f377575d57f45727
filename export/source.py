"""What gets exported: a model behind the input contract (export/contract.py), with its text encoder,
identity and what validation needs. export/student_source.py and export/teacher_source.py make one."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from distill.io import file_sha256
from distill.record import folder_sha256
from export.encoder import TextEncoder


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
