"""ONNX Runtime's `.ort` format, the file ONNX Runtime Mobile loads, from the fp32 and the int8 ONNX."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from export.registry import AT_LOAD, BuildResult, register
from export.targets.onnx_fp32 import export_onnx, ort_runner
from export.targets.onnx_int8 import int8_onnx, quantization_info


def convert_to_ort(onnx_path: Path, folder: Path) -> str:
    """Run onnxruntime's converter (a CLI module) on a copy in `folder`; return the .ort file name."""
    work = folder / "model.onnx"
    work.write_bytes(onnx_path.read_bytes())
    cmd = [sys.executable, "-m", "onnxruntime.tools.convert_onnx_models_to_ort", str(work),
           "--optimization_style", "Fixed"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    work.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"convert_onnx_models_to_ort failed: {(done.stderr or done.stdout)[-2000:]}")
    for extra in folder.glob("*.config"):  # the operator list for a reduced runtime build; keep it
        extra.rename(folder / "required_operators.config")
    return "model.ort"


def _load(folder, manifest, threads=None, device="cpu"):
    return ort_runner(folder / manifest["files"][0], threads, device)


def _info(source, ctx, int8: bool) -> dict:
    import onnxruntime  # only its version is read; the runtime loads when the artifact does

    return {"format": "ort", "onnxruntime": onnxruntime.__version__, "optimization_style": "Fixed",
            "from": "onnx-int8" if int8 else "onnx", "per_channel": ctx.options.per_channel if int8 else None,
            "dynamic_axes": {"input_ids": ["batch", "seq"], "attention_mask": ["batch", "seq"]}}


@register("ort-mobile", load=_load, runtime="onnxruntime", precision="fp32", fp32=None, mobile=True,
          threads=AT_LOAD, devices=("cpu",), reads=(), tolerance=1e-4)
def build_fp32(source, folder, ctx) -> BuildResult:
    """ONNX Runtime Mobile .ort, fp32."""
    fp32 = ctx.intermediate(source.name, "model.onnx", lambda p: export_onnx(source, p))
    return BuildResult([convert_to_ort(fp32, folder)], _info(source, ctx, False))


@register("ort-mobile-int8", load=_load, runtime="onnxruntime", precision="int8", fp32="ort-mobile", mobile=True,
          threads=AT_LOAD, devices=("cpu",), reads=("per_channel",))
def build_int8(source, folder, ctx) -> BuildResult:
    """ONNX Runtime Mobile .ort, dynamic int8."""
    quantized = int8_onnx(source, ctx)
    info = _info(source, ctx, True)
    info.update({k: v for k, v in quantization_info(quantized, ctx.options.per_channel).items()
                 if k in ("lstm_int8", "matmul_int8", "embedding_int8")})  # what the .ort was made from
    return BuildResult([convert_to_ort(quantized, folder)], info)
