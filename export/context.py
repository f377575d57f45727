"""Shared state of one export session: options, calibration text, and intermediates built once per source.

Several targets start from the same intermediate (ort-mobile converts the ONNX file, onnx-int8 quantizes it),
so `ctx.intermediate(name, make)` builds each one once per source in a scratch folder and hands out its path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from distill.errors import UserError

# The argmax-agreement floor of a lossy (int8) artifact with its eager fp32 model on dev, when
# ExportOptions.min_agreement is not given. Per kind, from the committed exports (results/*-export, full dev
# sets): every student int8 artifact agreed on ≥ 0.9878 (MNLI torch-int8; the others 0.9893–0.9994), every
# BERT teacher int8 artifact on 0.9134–0.9817 (dynamic int8 over 12 layers flips more low-margin predictions
# than over one BiLSTM layer). Each floor sits about one point under the lowest value measured for its kind.
DEFAULT_MIN_AGREEMENT = {"student": 0.98, "teacher": 0.90}
ET_INT8_ACTIVATIONS = ("auto", "static", "dynamic")


@dataclass
class ExportOptions:
    per_channel: bool = False  # per-channel int8 weights (ONNX Runtime, ExecuTorch)
    accuracy_budget: float = 0.99  # lossy targets must keep this fraction of the fp32 dev accuracy
    # lossy targets must agree with the fp32 argmax on at least this fraction of dev (None: per model kind,
    # DEFAULT_MIN_AGREEMENT)
    min_agreement: float | None = None
    buckets: tuple[int, ...] = (16, 32, 64, 128)  # sequence lengths of fixed-shape targets (ExecuTorch, LiteRT)
    # the largest batch one ExecuTorch call takes: its runtime allocates buffers for this bound when a file is
    # loaded (batch 4096 cost 11.2 GB for the three MNLI buckets 16/32/64); larger batches run in slices
    max_batch: int = 512
    # ExecuTorch int8 activations: "static" (scales calibrated on train sentences), "dynamic" (computed per batch
    # at run time), or "auto": build both, keep the one whose argmax agrees more often with the fp32 model on the
    # calibration sentences (train, never dev), static on a tie. Neither suits every family: on SST-2 dev the tiny
    # transformer's static int8 agreed 0.848 and its dynamic 1.0, while a BiLSTM built with dynamic activations
    # (one bucket, 16) agreed 0.883 and its static 1.0 (results/sst2-families-export, results/README.md).
    et_int8_activations: str = "auto"
    litert_python: str | None = None  # python of the LiteRT converter env (default: found by export.litert_env)
    dev_limit: int | None = None  # validate accuracy on the first N dev examples only (tests)

    def __post_init__(self):
        if self.et_int8_activations not in ET_INT8_ACTIVATIONS:
            raise UserError(f"ExecuTorch int8 activations: expected one of {', '.join(ET_INT8_ACTIVATIONS)}, got "
                            f"{self.et_int8_activations!r}")

    def agreement_floor(self, kind: str) -> float:
        return self.min_agreement if self.min_agreement is not None else DEFAULT_MIN_AGREEMENT[kind]


@dataclass
class ExportContext:
    scratch: Path
    options: ExportOptions
    calibration_texts: list[str] = field(default_factory=list)  # train sentences for static int8 calibration
    calibration_texts_b: list[str] | None = None  # their second sentences, for a pair task
    force: bool = False  # build every artifact again, even one whose record matches, and replace one that differs
    _made: dict = field(default_factory=dict)

    def calibration_batches(self, source, batch_size: int = 32) -> list[tuple[np.ndarray, np.ndarray]]:
        texts, pairs = self.calibration_texts, self.calibration_texts_b
        return [source.encoder(texts[i:i + batch_size], source.max_length,
                               pairs[i:i + batch_size] if pairs is not None else None)
                for i in range(0, len(texts), batch_size)]

    def intermediate(self, source_name: str, name: str, make: Callable[[Path], None]) -> Path:
        key = (source_name, name)
        if key not in self._made:
            path = self.scratch / source_name / name
            path.parent.mkdir(parents=True, exist_ok=True)
            make(path)
            self._made[key] = path
        return self._made[key]
