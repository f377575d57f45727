"""The student configs and the one way to build a student: the family registry (distill/families/).

`family` names a registered family (bilstm — Tang et al. 2019, the default — cnn, static, …); `options` holds
the sizes only that family has, checked against its options dataclass. The common sizes below are read by
the families that list them in `reads`; a family refuses a common size it does not read unless it is left at
its default, so a setting is never silently ignored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any

from distill.errors import UserError
from distill.families import COMMON_FIELDS, FAMILIES, get_family
from distill.families.base import EmbeddingStudent
from distill.families.bilstm import BiLSTMClassifier
from distill.settings import build

DEFAULT_FAMILY = "bilstm"
# settings added after students were first recorded, at the values that mean "as before"
LATER_DEFAULTS = {"family": DEFAULT_FAMILY, "options": {}, "vectors_from": "", "min_confidence": 0.0,
                  "balance_augmented": False, "balance_size_only": False}


@dataclass(kw_only=True)
class StudentArch:
    """The sizes a user chooses; the run config (distill/train.py StudentRunConfig) takes these fields as is."""

    family: str = field(default=DEFAULT_FAMILY, metadata={"help": "student family: " + ", ".join(
        f"{f.name} ({f.summary})" for f in FAMILIES.values())})
    options: dict[str, Any] = field(default_factory=dict, metadata={
        "help": "the family's own sizes: a TOML table (options = {filters = 100}) or on the command line JSON "
                "('{\"filters\": 100}')"})
    embed_dim: int = field(default=300, metadata={"help": "embedding width (random embeddings; the others "
                                                           "take their table's width)"})
    multichannel: bool = field(default=False, metadata={"help": "a frozen + a trainable copy of the "
                                                                "embeddings, concatenated"})
    hidden: int = field(default=150, metadata={"help": "LSTM hidden size per direction (bilstm)"})
    fc: int = field(default=200, metadata={"help": "width of the FC + ReLU layer"})
    dropout: float = field(default=0.1, metadata={"help": "dropout before the classifier"})

    def family_options(self):
        """The family's options instance, checked (unknown keys and wrong types named)."""
        fam = get_family(self.family)
        unread = [n for n in COMMON_FIELDS if n not in fam.reads and getattr(self, n) != _ARCH_DEFAULTS[n]]
        if unread:
            raise UserError(f"family {self.family} does not use {', '.join(unread)}; leave "
                            f"{'it' if len(unread) == 1 else 'them'} unset (its own sizes go in options: "
                            f"{', '.join(f.name for f in dataclasses.fields(fam.options)) or 'none'})")
        return build(fam.options, dict(self.options), f"family {self.family} options")

    def identity(self) -> dict:
        """The fields as a record compares them: settings added after records existed appear only when they
        are not their defaults, so records made before still match (distill/record.py)."""
        return {k: v for k, v in asdict(self).items() if not (k in LATER_DEFAULTS and v == LATER_DEFAULTS[k])}


_ARCH_DEFAULTS = {f.name: f.default for f in dataclasses.fields(StudentArch) if f.name in COMMON_FIELDS}


@dataclass(kw_only=True)
class StudentConfig(StudentArch):
    vocab_size: int
    num_labels: int = 2
    pad_id: int = 0
    pair: bool = False  # the family's pair form (Siamese)

    def to_dict(self) -> dict:
        return asdict(self)


def build_student(cfg: StudentConfig) -> EmbeddingStudent:
    return get_family(cfg.family).build(cfg, cfg.family_options())


__all__ = ["BiLSTMClassifier", "StudentArch", "StudentConfig", "build_student", "DEFAULT_FAMILY"]
