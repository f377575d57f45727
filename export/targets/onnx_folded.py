"""A folded student (distill/folded.py) as ONNX and as ONNX Runtime Mobile `.ort`, fp32 and int8.

The embedding lookup and LSTM input projection of each direction are one gate-table lookup; the graph unrolls
the recurrence once per length bucket and picks the bucket with an ONNX If. The int8 form stores the gate
tables as int8 with one scale per row (dequantised after the lookup); the recurrent weights and the head stay
fp32, so it is judged like every int8 target (agreement and dev accuracy). Students only: a teacher has no
embedding-then-LSTM to fold.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from distill.families import get_family
from distill.folded import fold
from export.registry import AT_LOAD, BuildResult, TargetUnavailable, register_fp32_and_int8
from export.targets.onnx_fp32 import export_onnx, onnx_info, ort_runner
from export.targets.ort_mobile import convert_to_ort

BUCKETS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)  # unrolled lengths, up to the model's maximum


def export_buckets(max_length: int) -> tuple[int, ...]:
    return tuple(sorted({b for b in BUCKETS if b < max_length} | {max_length}))


def folded_source(source, int8: bool):
    """The source with its student folded: the same wrapper (single sentence or pair) around the folded
    module, so the artifact keeps the input contract."""
    student = source.module.student
    family = get_family(student.cfg.family)
    if not family.foldable:
        raise TargetUnavailable(f"student family {family.name} has no embedding → recurrent input projection to "
                                "fold into gate tables (distill/folded.py folds the BiLSTM)")
    folded = fold(student, int8=int8, export_buckets=export_buckets(source.max_length))
    return dataclasses.replace(source, module=type(source.module)(folded).eval()), folded


def folded_onnx(source, ctx, int8: bool) -> tuple[Path, dict]:
    name = "model.folded-int8.onnx" if int8 else "model.folded.onnx"
    src, folded = folded_source(source, int8)
    path = ctx.intermediate(source.name, name, lambda p: export_onnx(src, p))
    student = source.module.student
    embedding_bytes = sum(e.weight.numel() * 4 for e in (student.embed, student.embed_static) if e is not None)
    info = {"folded": True, "buckets": list(folded.export_buckets),
            "gate_table": {"shape": list(folded.gates.shape), "dtype": str(folded.gates.dtype).replace("torch.", ""),
                           "per_row_scale": int8, "mb": round(folded.table_bytes() / 2**20, 2),
                           "replaces_embeddings_mb": round(embedding_bytes / 2**20, 2),
                           "columns": folded.gates.shape[-1] * 2,
                           "embedding_columns": student.embed.weight.shape[1] * (2 if student.embed_static is not None
                                                                                 else 1)}}
    return path, info


def _load(folder, manifest, threads=None, device="cpu"):
    return ort_runner(folder / manifest["files"][0], threads, device)


def _build_onnx(source, folder, ctx, int8: bool) -> BuildResult:
    path, info = folded_onnx(source, ctx, int8)
    (folder / "model.onnx").write_bytes(path.read_bytes())
    return BuildResult(["model.onnx"], {**onnx_info(folder / "model.onnx"), **info})


def _build_ort(source, folder, ctx, int8: bool) -> BuildResult:
    import onnxruntime  # only its version is read

    path, info = folded_onnx(source, ctx, int8)
    return BuildResult([convert_to_ort(path, folder)], {"format": "ort", "onnxruntime": onnxruntime.__version__,
                                                         "optimization_style": "Fixed", **info})


register_fp32_and_int8(
    "onnx-folded", _build_onnx, load=_load, runtime="onnxruntime", mobile=False, threads=AT_LOAD,
    devices=("cpu", "cuda"), reads=(),  # its buckets follow the source's max_length, not --buckets
    kinds=("student",), fp32_doc="fp32 ONNX of the folded student (gate tables, unrolled per length bucket)",
    int8_doc="ONNX of the folded student, int8 gate tables with per-row scales")
register_fp32_and_int8(
    "ort-mobile-folded", _build_ort, load=_load, runtime="onnxruntime", mobile=True, threads=AT_LOAD, devices=("cpu",),
    reads=(), kinds=("student",), fp32_doc="ONNX Runtime Mobile .ort of the folded student, fp32",
    int8_doc="ONNX Runtime Mobile .ort of the folded student, int8 gate tables with per-row scales")
