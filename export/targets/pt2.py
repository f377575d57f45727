"""torch.export program (.pt2): the forward-looking PyTorch artifact, with dynamic batch and length."""

from __future__ import annotations

import contextlib
import os

import torch
from torch.export._patches import register_lstm_while_loop_decomposition

from export.contract import INPUT_NAMES
from export.registry import PROCESS, BuildResult, register
from export.source import example_inputs
from export.torch_runner import torch_device, torch_runner


def dynamic_shapes(source, seq: bool = True) -> dict:
    batch = torch.export.Dim("batch", min=1, max=4096)
    axes = {0: batch}
    if seq:  # the last axis: (batch, seq), or (batch, 2, seq) for a pair student
        axes[source.seq_axis] = torch.export.Dim("seq", min=1, max=source.max_length)
    return {name: dict(axes) for name in INPUT_NAMES}


@contextlib.contextmanager
def lstm_while_loop():
    """torch.export's while-loop LSTM decomposition, with the operator's dispatch cache cleared on the way in
    and out: the private patch swaps aten.lstm's Python kernel without clearing that cache, so after any
    earlier export in the process (e.g. a fixed-length ExecuTorch one) the old kernel is still used and the
    length gets specialised ("Constraints violated (seq)"). Checked on torch 2.13.0."""
    lstm = torch.ops.aten.lstm.input
    lstm._dispatch_cache.clear()
    try:
        with register_lstm_while_loop_decomposition():
            lstm._dispatch_cache.clear()
            yield
    finally:
        lstm._dispatch_cache.clear()


def export_program(source, seq_dynamic: bool = True) -> torch.export.ExportedProgram:
    """torch.export of the fp32 model. The student's LSTM would specialise the length to the example's
    unless decomposed into a while loop (torch.export._patches, the route torch.onnx takes itself)."""
    example = example_inputs(source)
    if source.kind == "student" and seq_dynamic:
        with lstm_while_loop():
            return torch.export.export(source.fresh_module(), example, dynamic_shapes=dynamic_shapes(source))
    return torch.export.export(source.fresh_module(), example,
                               dynamic_shapes=dynamic_shapes(source, seq_dynamic))


def _load(folder, manifest, threads=None, device="cpu"):
    # torch.export.load retries with weights_only=False (full pickle) when its safe load fails; an artifact may
    # come from anyone, so that retry is forced safe too: a pickle payload is refused, never run
    previous = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        module = torch.export.load(str(folder / manifest["files"][0])).module()
    finally:
        if previous is None:
            os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
        else:
            os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = previous
    return torch_runner(module.to(torch_device(device)), device)


@register("pt2", load=_load, runtime="torch", precision="fp32", fp32=None, mobile=False, threads=PROCESS,
          devices=("cpu", "cuda"), reads=(), tolerance=1e-4)
def build(source, folder, ctx) -> BuildResult:
    """torch.export ExportedProgram saved with torch.export.save (dynamic batch and length)."""
    torch.export.save(export_program(source), str(folder / "model.pt2"))
    return BuildResult(["model.pt2"], {"format": "torch.export", "dynamic_axes": {
        name: ["batch", "seq"] for name in INPUT_NAMES},
        "lstm": "while-loop decomposition" if source.kind == "student" else None})
