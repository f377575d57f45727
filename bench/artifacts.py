"""A spec (bench/specs.py) → a runner: the one loader of the benchmark, shared by the in-process tests and
the footprint probe (bench/probe.py). It imports nothing that reads a run folder, so what the probe measures
is the artifact's runtime, not the suite's.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bench.formats import EAGER
from bench.limit import RecurrenceLimit, limit_runner
from export.contract import TeacherForExport
from export.encoder import TextEncoder
from export.manifest import read_manifest, verify_files
from export.registry import TargetUnavailable, all_targets
from export.student_source import load_student_source
from export.teacher_source import load_teacher_source
from export.torch_runner import torch_device, torch_runner


def encoder_for(spec: dict) -> TextEncoder:
    if spec["tokenizer"] is None:
        raise TargetUnavailable(f"{spec['id']}: reference shapes borrow the teacher's tokenizer, and this run "
                                "exported no teacher")
    return TextEncoder(spec["tokenizer"]["kind"], Path(spec["tokenizer"]["folder"]))


def eager_module(spec: dict, form: str = "inference") -> torch.nn.Module:
    """The fp32 eager module of the spec's model ((input_ids, attention_mask) → logits). For a student, `form`
    says which computation: "inference" (MeasuredForm, what the bench times as eager), "trained", "folded",
    or "measured-small" / "measured-large" (the form MeasuredForm picked for small / large batches)."""
    if spec["role"] == "reference":
        # transformers takes seconds to import; only the BERT reference shapes need it here
        from transformers import BertConfig, BertForSequenceClassification

        ref = spec["reference"]
        torch.manual_seed(0)
        config = BertConfig(num_hidden_layers=ref["layers"], hidden_size=ref["hidden"],
                            num_attention_heads=ref["heads"], intermediate_size=ref["intermediate"],
                            num_labels=ref["num_labels"], attn_implementation="sdpa")
        return TeacherForExport(BertForSequenceClassification(config)).eval()
    if spec["role"] == "limit":
        return RecurrenceLimit(spec["limit"]["hidden"]).eval()
    if spec["role"] == "student":
        source = load_student_source(spec["source"], folded=form != "trained")
        if form in ("inference", "trained"):
            return source.module
        student = source.module.student  # a MeasuredForm, or the trained model of a family with no fold
        picked = {"folded": "folded", "measured-small": "small", "measured-large": "large"}[form]
        return type(source.module)(getattr(student, picked, student)).eval()
    return load_teacher_source(spec["source"], pair=spec.get("pair", False)).module


def load_runner(spec: dict, threads: int | None, device: str = "cpu"):
    """The spec's runner at `threads` intra-op threads on `device`; TargetUnavailable if it cannot run here."""
    if device not in spec["devices"]:
        raise TargetUnavailable(f"{spec['format']} has no {device} runtime here (runs on: "
                                f"{', '.join(spec['devices'])})")
    if threads:
        torch.set_num_threads(threads)  # torch's intra-op pool is process-wide: eager, TorchScript, .pt2, int8
    if spec["role"] == "limit":
        return limit_runner(spec, threads, device)
    if spec["format"] == EAGER:
        return torch_runner(eager_module(spec).to(torch_device(device)), device)
    folder, manifest = read_manifest(spec["folder"])
    if folder not in _VERIFIED:  # once per artifact: a benchmark of a changed file would be of something else
        verify_files(folder, manifest)
        _VERIFIED.add(folder)
    return all_targets()[spec["format"]].load(folder, manifest, threads=threads, device=device)


_VERIFIED: set[Path] = set()
