"""Student families: one file each, registered here; the rest of the harness asks this registry only.

A family file defines its options dataclass (the sizes only it has), its module (single-sentence and pair
form) and registers a `Family`. Every module offers the same small interface (distill/families/base.py):
`encode(input_ids, lengths)` → features (batch, width); `classify(features)` → logits; `forward(ids,
lengths)` (a pair form: `forward(ids, lengths, ids_b, lengths_b)` and `classify_pair(h1, h2)`);
`init_embeddings(vectors)`; `num_params(non_embedding)`. Training, losses, export wrappers, validation, bench
and ablation go through it, so adding a family is its file plus one import line below;
tests/test_families.py fails for a registered family its export and bench tests do not cover.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from distill.errors import UserError

COMMON_FIELDS = ("embed_dim", "multichannel", "hidden", "fc", "dropout")  # distill/students.py StudentArch


@dataclass(frozen=True)
class Family:
    name: str
    summary: str
    options: type  # the family's own config dataclass (its fields: TOML `options = {...}`)
    build: Callable  # (StudentConfig, options instance) → module
    reads: tuple[str, ...]  # the common StudentArch fields it uses; the others must stay at their defaults
    foldable: bool = False  # its embedding → first projection folds into tables (distill/folded.py)
    recurrent: bool = False  # an LSTM of `hidden` units: the bench times its recurrence limit (bench/limit.py)
    # (options dict, teacher folder or None) → options with what it reads from the teacher filled in
    prepare: Callable | None = None
    # (model, run config, options instance) → optimizer; None: Adadelta at the run's lr and rho (the paper's)
    optimizer: Callable | None = None


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    if family.name in FAMILIES:
        raise ValueError(f"student family {family.name!r} registered twice")
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise UserError(f"unknown student family {name!r}; registered: {', '.join(FAMILIES)}")
    return FAMILIES[name]


# the registered families (each file calls register() when imported)
from distill.families import bilstm, cnn, static, tiny_transformer  # noqa: E402,F401
