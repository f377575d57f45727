"""The recurrence limit: how fast a runtime runs a student's recurrence with no input work at all.

For each student and each runtime that runs its artifacts (eager torch, ONNX Runtime), the bench times two
single-layer LSTMs with the student's hidden size over a 1-wide input, on the student's own padded inputs
(the same batch and sequence length, pairs as 2 × batch rows). The input projection of a 1-wide input is
negligible, so this is the runtime's own fused recurrence and nothing else: a student artifact cannot do its
embedding lookup and recurrence faster. Every student row is reported as a fraction of it (limit p50 / row p50).

Weights are random (timing only); nothing here reads a checkpoint.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from torch import nn

from bench.formats import EAGER, LIMIT_FORMATS, LIMIT_SUFFIX, format_facts
from distill.families import get_family
from distill.students import DEFAULT_FAMILY
from export.registry import all_targets


class RecurrenceLimit(nn.Module):
    """(input_ids, attention_mask) → (rows, 2·hidden): a forward and a backward LSTM over the mask as a 1-wide
    input; the ids are not read."""

    def __init__(self, hidden: int):
        super().__init__()
        torch.manual_seed(0)
        self.fwd, self.bwd = nn.LSTM(1, hidden, batch_first=True), nn.LSTM(1, hidden, batch_first=True)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = attention_mask.reshape(-1, attention_mask.shape[-1], 1).to(torch.float32)
        h_fwd, _ = self.fwd(x)
        h_bwd, _ = self.bwd(x)
        return torch.cat([h_fwd[:, -1], h_bwd[:, -1]], -1)


def limit_specs(student: dict, formats: list[str]) -> list[dict]:
    """The limit specs of a student (its eager spec), one per runtime that runs any of `formats` (the student's
    timed formats) and has a limit form (LIMIT_FORMATS)."""
    arch = student.get("student_arch") or {}
    hidden = arch.get("hidden")
    if hidden is None or not get_family(arch.get("family", DEFAULT_FAMILY)).recurrent:
        return []  # no recurrence, no recurrence limit
    targets = all_targets()
    runtimes = {"torch" if f == EAGER else targets[f].runtime for f in formats}
    return [{**student, "id": f"{student['model']}{LIMIT_SUFFIX}/{fmt}", "model": f"{student['model']}{LIMIT_SUFFIX}",
             "role": "limit", "format": fmt, "folder": None, "limit": {"hidden": hidden, "runtime": runtime,
                                                                      "of": student["model"]},
             "size_mb": None, "size_note": "random weights (timing only)", **format_facts(fmt),
             "params": 8 * hidden * (hidden + 2), "params_no_embedding": 8 * hidden * (hidden + 2)}
            for runtime, fmt in LIMIT_FORMATS.items() if runtime in runtimes]


def limit_runner(spec: dict, threads: int | None, device: str):
    """A runner for a limit spec, in its runtime."""
    from export.torch_runner import torch_device, torch_runner

    module = RecurrenceLimit(spec["limit"]["hidden"]).eval()
    if spec["format"] == EAGER:
        return torch_runner(module.to(torch_device(device)), device)
    from export.source import Source
    from export.targets.onnx_fp32 import export_onnx, ort_runner

    # the students' own ONNX exporter, so the limit is the same LSTM op in the same graph form
    source = Source(name="limit", kind="student", module=module, encoder=None, checkpoint=None, label_names=[],
                    max_length=spec["max_length"], vocab_size=16, first_token_id=1, pair=bool(spec.get("pair")))
    path = Path(tempfile.mkdtemp(prefix="distill-bench-limit-")) / "limit.onnx"
    export_onnx(source, path)
    return ort_runner(path, threads, device)
