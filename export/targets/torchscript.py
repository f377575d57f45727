"""TorchScript: deprecated in torch 2.13 (the warning lands in the manifest) but still what many apps load."""

from __future__ import annotations

import torch

from export.registry import PROCESS, BuildResult, register
from export.source import example_inputs
from export.torch_runner import torch_device, torch_runner


def _load(folder, manifest, threads=None, device="cpu"):
    return torch_runner(torch.jit.load(str(folder / manifest["files"][0]), map_location=torch_device(device)),
                        device)


@register("torchscript", load=_load, runtime="torch", precision="fp32", fp32=None, mobile=False, threads=PROCESS,
          devices=("cpu", "cuda"), reads=(), tolerance=1e-4)
def build(source, folder, ctx) -> BuildResult:
    """torch.jit.trace of the fp32 model (dynamic batch and length)."""
    traced = torch.jit.trace(source.fresh_module(), example_inputs(source), strict=False, check_trace=False)
    traced.save(str(folder / "model.pt"))
    return BuildResult(["model.pt"], {"format": "torchscript", "method": "torch.jit.trace",
                                      "dynamic_axes": {"input_ids": ["batch", "seq"]}})
