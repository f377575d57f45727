"""What lets a student's training resume and run data-parallel: its state.pt, read safely, and each rank's
share of a batch and its RNG."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from distill import dist
from distill.errors import UserError, first_line


def load_state(path: Path, device: torch.device) -> dict:
    """A resumable state.pt, read with weights_only=True: tensors and plain data only, so a file that is really a
    pickle payload (anything naming a class or a function) is refused before any of it runs."""
    try:
        state = torch.load(path, weights_only=True, map_location=device)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as e:
        raise UserError(f"{path}: not a training state written by distill-bench, not loaded ({first_line(e)}); delete "
                        "it to train this student from the start") from None
    if not isinstance(state, dict) or not {"model", "optim", "step"} <= state.keys():
        raise UserError(f"{path}: not a training state written by distill-bench (keys missing); delete it to "
                        "train this student from the start")
    return state


def rank_seed(seed: int, rank: int) -> int:
    """A per-rank seed for dropout; rank r of any run with this seed draws the same masks."""
    return seed + 1_000_003 * (rank + 1)


def rank_slice(batch: np.ndarray, rank: int, world: int) -> tuple[np.ndarray, float]:
    """This rank's rows of a global batch and the weight that makes DDP's mean gradient the whole batch's.

    Rank r's loss is a mean over n_r rows; DDP averages over W ranks, so weighting it by n_r·W/n gives
    Σ n_r·mean_r / n, the batch mean. A rank left with no rows (a last batch smaller than W) runs one row
    at weight 0, since every rank must take part in each DDP step.
    """
    if world == 1:
        return batch, 1.0
    local = np.array_split(batch, world)[rank]
    if len(local) == 0:
        return batch[:1], 0.0
    return local, len(local) * world / len(batch)


def restore_rng(state: dict, seed: int, step: int) -> None:
    """Put back this rank's RNG from a state.pt; a state from a run with another process count cannot be
    continued draw for draw, so each rank reseeds from (seed, rank, step) instead, and says so."""
    ranks = state.get("rng_ranks")
    world, rank = dist.world_size(), dist.rank()
    if ranks is not None and ranks.shape[0] == world:
        torch.set_rng_state(ranks[rank].cpu())
    elif world == 1:
        torch.set_rng_state(state["rng"].cpu())
    else:
        dist.echo(f"state.pt was written by {1 if ranks is None else ranks.shape[0]} process(es), this run has "
                  f"{world}: dropout masks are reseeded from (seed, rank, step); the weights carry on exactly")
        torch.manual_seed(rank_seed(seed, rank) + step)
