"""fp32 ONNX (dynamo exporter) with dynamic batch and sequence axes; also the intermediate of the int8 and
ORT-format targets."""

from __future__ import annotations

from pathlib import Path

import torch

from export.contract import INPUT_NAMES, OUTPUT_NAMES
from export.registry import AT_LOAD, BuildResult, TargetUnavailable, register
from export.source import example_inputs
from export.targets.pt2 import lstm_while_loop


def export_onnx(source, path: Path) -> None:
    # batch 2 × seq 7 example: an example of 1 on either axis would silently fix that axis in the graph.
    # torch.onnx applies the LSTM while-loop decomposition itself; lstm_while_loop() makes it take effect
    # even after an earlier export in this process (see its docstring).
    with lstm_while_loop():
        _onnx_export(source, path)


def _onnx_export(source, path: Path) -> None:
    torch.onnx.export(source.fresh_module(), example_inputs(source), str(path), dynamo=True, external_data=False,
                      input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                      dynamic_shapes={name: {0: "batch", source.seq_axis: "seq"} for name in INPUT_NAMES},
                      verbose=False)


def onnx_info(path: Path) -> dict:
    import onnx  # optional and slow to import: only the ONNX targets need it

    model = onnx.load(str(path), load_external_data=False)
    ops = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return {"format": "onnx", "ir_version": model.ir_version,
            "opset": {o.domain or "ai.onnx": o.version for o in model.opset_import},
            "dynamic_axes": {name: ["batch", "seq"] for name in INPUT_NAMES}, "op_counts": ops}


def ort_runner(path: Path, threads: int | None = None, device: str = "cpu"):
    """An ONNX Runtime session (.onnx or .ort) as a runner; `threads` intra-op threads (None: ORT's default)."""
    session = ort_session(path, threads, device)
    return lambda ids, mask: session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def ort_session(path: Path, threads: int | None = None, device: str = "cpu"):
    """An ONNX Runtime InferenceSession on `device` with `threads` intra-op threads (None: ORT's default)."""
    import onnxruntime as ort  # the runtime: importing it counts as loading the artifact (bench/probe.py)

    providers = ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise TargetUnavailable(f"onnxruntime {ort.__version__} here has no CUDAExecutionProvider "
                                    "(install onnxruntime-gpu)")
        providers.insert(0, "CUDAExecutionProvider")
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=providers)


def _load(folder, manifest, threads=None, device="cpu"):
    return ort_runner(folder / manifest["files"][0], threads, device)


@register("onnx", load=_load, runtime="onnxruntime", precision="fp32", fp32=None, mobile=False, threads=AT_LOAD,
          devices=("cpu", "cuda"), reads=(), tolerance=1e-4)
def build(source, folder, ctx) -> BuildResult:
    """fp32 ONNX, torch.onnx.export(dynamo=True), dynamic batch and sequence axes."""
    src = ctx.intermediate(source.name, "model.onnx", lambda p: export_onnx(source, p))
    (folder / "model.onnx").write_bytes(src.read_bytes())
    return BuildResult(["model.onnx"], onnx_info(folder / "model.onnx"))
