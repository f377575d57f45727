"""Floating-point operations per sample of an eager model, for achieved GFLOP/s.

torch's FlopCounterMode counts matmuls, convolutions and attention, but not the fused LSTM kernel, so each
recurrent layer adds 2 × (its weight count) × (tokens it reads): one multiply-add per weight per token,
both directions and all layers included. Elementwise gate math is left out, as FLOP counts usually do.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence
from torch.utils.flop_counter import FlopCounterMode


def flops_per_sample(module: nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> float:
    recurrent = [0]

    def count(weights: int):
        def hook(_module, inputs, _output):
            x = inputs[0]
            tokens = x.data.shape[0] if isinstance(x, PackedSequence) else x.numel() // x.shape[-1]
            recurrent[0] += 2 * weights * tokens

        return hook

    hooks = [m.register_forward_hook(count(sum(p.numel() for n, p in m.named_parameters()
                                               if n.startswith("weight_"))))
             for m in module.modules() if isinstance(m, nn.RNNBase)]
    try:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            module(ids, mask)
    finally:
        for h in hooks:
            h.remove()
    return (counter.get_total_flops() + recurrent[0]) / ids.shape[0]
