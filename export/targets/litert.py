"""LiteRT `.tflite` (the Android/TFLite runtime), fp32 and dynamic-range int8, at static shapes.

The converter (litert-torch) runs in its own env (export/litert_env.py) on a torch.export program per length
bucket, saved here with static batch 1 and static length; the .tflite files run here through ai-edge-litert's
interpreter, one row at a time, routed by length like the ExecuTorch buckets.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import torch

from export.buckets import bucket_file, bucketed, buckets_for
from export.litert_env import CONVERTER, ENV_VAR, litert_python
from export.registry import AT_LOAD, BuildResult, TargetUnavailable, register_fp32_and_int8
from export.source import example_inputs


def _convert(source, folder, ctx, int8: bool) -> BuildResult:
    python = litert_python(ctx.options.litert_python)
    if python is None:
        raise TargetUnavailable(f"no LiteRT converter env: run `bash install.sh --with-litert` (makes "
                                f".venv-litert) or set ${ENV_VAR} to its python")
    buckets = buckets_for(source.max_length, ctx.options.buckets)
    files, reports = [], []
    for seq in buckets:
        program = ctx.scratch / source.name / f"litert-s{seq}.pt2"
        program.parent.mkdir(parents=True, exist_ok=True)
        static = torch.export.export(source.fresh_module(), example_inputs(source, batch=1, seq=seq))
        torch.export.save(static, str(program))
        files.append(bucket_file(seq, ".tflite"))
        cmd = [str(python), str(CONVERTER), "--program", str(program), "--out", str(folder / files[-1]),
               "--seq-len", str(seq), "--batch", "1"] + (["--int8"] if int8 else [])
        done = subprocess.run(cmd, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        report = json.loads(lines[-1]) if lines else {"ok": False, "error": done.stderr[-2000:]}
        if not report.get("ok"):
            raise RuntimeError(f"litert conversion at length {seq} failed: {report.get('error')}")
        reports.append(report)
    first = reports[0]
    return BuildResult(files, {
        "format": "tflite", "litert_torch": first.get("litert_torch"), "ai_edge_litert": first.get("ai_edge_litert"),
        "input_dtype": first.get("input_dtype"), "static_shape": "batch 1 × bucket length", "seq_buckets": buckets,
        "quantization": "dynamic-range int8 weights (full_dynamic_recipe), fp32 activations" if int8 else None,
        "embedding_int8": True if int8 else None, "converter_warnings": first.get("warnings", [])},
        max_length=max(buckets))


def _load(folder, manifest, threads=None, device="cpu"):
    # ai_edge_litert: the .tflite interpreter, an optional runtime; importing it counts as loading the artifact
    from ai_edge_litert.interpreter import Interpreter

    runners = {}
    for seq, name in zip(manifest["info"]["seq_buckets"], manifest["files"]):
        signature = Interpreter(model_path=str(folder / name), num_threads=threads).get_signature_runner()
        details = signature.get_input_details()
        keys = sorted(details, key=lambda k: (len(k), k))  # args_0 = input_ids, args_1 = attention_mask

        def run(ids, mask, signature=signature, details=details, keys=keys):
            feeds = {k: np.ascontiguousarray(a.astype(details[k]["dtype"])) for k, a in zip(keys, (ids, mask))}
            out = signature(**feeds)
            return np.asarray(out[sorted(out)[0]], np.float32)

        runners[seq] = run
    return bucketed(runners, max_batch=1)


register_fp32_and_int8(
    "litert", _convert, load=_load, runtime="litert", mobile=True, threads=AT_LOAD, devices=("cpu",),
    kinds=("student",), reads=("buckets",),
    fp32_doc="LiteRT .tflite fp32 (litert-torch), static batch 1, one file per length bucket.",
    int8_doc="LiteRT .tflite dynamic-range int8 (weights incl. embedding), one file per length bucket.")
