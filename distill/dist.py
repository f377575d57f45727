"""Data-parallel runs under PyTorch's own launcher:

    torchrun --nproc_per_node=N [--nnodes M --rdzv-backend c10d --rdzv-endpoint HOST:PORT] -m distill_bench label …

torchrun starts N processes per machine and tells each its RANK, LOCAL_RANK and WORLD_SIZE; `init` joins them
into one process group — NCCL when the rank has a GPU, gloo on CPU — and does nothing in a plain process, so
every stage runs unchanged with one process. Rank 0 alone writes shared files, prints and shows progress;
the other ranks wait for it where they read what it wrote (`main_first`). A run folder shared by several
machines must sit on a filesystem they all see.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch
import torch.distributed as dist


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def device() -> torch.device:
    """This rank's GPU if it has one, else the CPU."""
    return torch.device("cuda", local_rank()) if torch.cuda.is_available() else torch.device("cpu")


def backend() -> str:
    return "nccl" if torch.cuda.is_available() else "gloo"


def init() -> None:
    """Join the process group torchrun describes; a no-op for a plain (single) process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank())
    dist.init_process_group(backend())


def shutdown(together: bool = True) -> None:
    """Leave the process group. `together` (a clean finish): every rank reaches a barrier before any tears its
    connections down. Once (CI, 2026-12-01) a rank aborted in gloo's teardown ("terminate called without an
    active exception") after its peer had left; 20 bare init/all_reduce/destroy runs here did not repeat it.
    After an error, no barrier: the other ranks may be inside another collective and it would hang them."""
    if dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (writing a shared output); the others run it after, finding it made.

    Every stage skips an output that already exists, so on ranks > 0 the block only reads.
    """
    if not is_main():
        barrier()
    yield
    if is_main():
        barrier()


def sum_across(value: float) -> float:
    """The sum of `value` over all ranks (the value itself in a plain process)."""
    if not dist.is_initialized():
        return value
    t = torch.tensor([float(value)], dtype=torch.float64, device=device() if backend() == "nccl" else "cpu")
    dist.all_reduce(t)
    return float(t.item())


def gather_tensors(t: torch.Tensor) -> torch.Tensor:
    """Rank-ordered stack of an equal-shaped tensor from every rank (e.g. RNG states for a resumable state)."""
    if not dist.is_initialized():
        return t.unsqueeze(0)
    moved = t.to(device()) if backend() == "nccl" else t
    out = [torch.empty_like(moved) for _ in range(world_size())]
    dist.all_gather(out, moved)
    return torch.stack([o.cpu() for o in out])


def echo(*args, **kwargs) -> None:
    """print on rank 0 only: N ranks would otherwise print every line N times."""
    if is_main():
        print(*args, **kwargs)
