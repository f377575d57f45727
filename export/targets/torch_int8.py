"""PyTorch dynamic int8 of LSTM + Linear, saved as TorchScript.

torch.ao.quantization.quantize_dynamic is deprecated in torch 2.13 (its warning lands in the manifest), but
torchao's replacement (quantize_ with Int8DynamicActivationInt8WeightConfig) only rewrites nn.Linear and
leaves nn.LSTM — most of the student's compute — in fp32, so it does not cover this model yet.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig

from export.registry import PROCESS, BuildResult, register
from export.source import example_inputs
from export.targets.torchscript import _load


@register("torch-int8", load=_load, runtime="torch", precision="int8", fp32="torchscript", mobile=False,
          threads=PROCESS, devices=("cpu",), reads=("per_channel",))
def build(source, folder, ctx) -> BuildResult:
    """torch.ao dynamic int8 (LSTM + Linear), TorchScript file."""
    linear = per_channel_dynamic_qconfig if ctx.options.per_channel else default_dynamic_qconfig
    kinds = {nn.LSTM: default_dynamic_qconfig, nn.Linear: linear}  # LSTM weights: per-tensor only
    quantized = torch.ao.quantization.quantize_dynamic(copy.deepcopy(source.module), kinds, dtype=torch.qint8)
    traced = torch.jit.trace(quantized, example_inputs(source), strict=False, check_trace=False)
    traced.save(str(folder / "model.pt"))
    return BuildResult(["model.pt"], {
        "format": "torchscript", "api": "torch.ao.quantization.quantize_dynamic", "modules": sorted(
            k.__name__ for k in kinds), "per_channel_linear": ctx.options.per_channel, "embedding_int8": False,
        "torchao": "not used: torchao quantize_ leaves nn.LSTM in fp32"})
