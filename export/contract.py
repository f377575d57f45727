"""The one input contract of every artifact: the eager modules that export traces, student and teacher alike.

Every artifact takes the same two int64 inputs — `input_ids` and `attention_mask`, right-padded — and returns
`logits` (batch, labels). The student turns the mask into lengths inside the graph, so one runner, one
validator and one `predict` serve every model and target.

Shapes: (batch, seq) for single sentences and for a pair teacher (both sentences in one input, as BERT reads
them); (batch, 2, seq) for a Siamese pair student, one row per sentence, each right-padded on its own.
"""

from __future__ import annotations

import torch
from torch import nn

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
