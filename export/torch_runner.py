"""Any torch module (eager, TorchScript, .pt2) as a runner: numpy (input_ids, attention_mask) → numpy logits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from export.registry import TargetUnavailable


def torch_device(device: str) -> torch.device:
    """The torch device for a runtime device name; TargetUnavailable when it is absent here."""
    if device == "cuda" and not torch.cuda.is_available():
        raise TargetUnavailable("no CUDA device here (torch.cuda.is_available() is False)")
    return torch.device(device)


def torch_runner(module, device: str = "cpu") -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """numpy (input_ids, attention_mask) → numpy logits for any torch module (eager, TorchScript, .pt2).

    On CUDA the copy back to the host waits for the kernels, so a timed call covers the whole inference.
    Intra-op threads are torch's process-wide setting (torch.set_num_threads), set by the caller.
    """
    dev = torch_device(device)

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(ids).to(dev), torch.from_numpy(mask).to(dev)).float().cpu().numpy()

    return run
