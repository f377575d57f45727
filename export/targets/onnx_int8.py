"""ONNX Runtime dynamic int8: LSTM, MatMul/Gemm and the embedding Gather get int8 weights."""

from __future__ import annotations

from pathlib import Path

from export.registry import AT_LOAD, BuildResult, register
from export.targets.onnx_fp32 import export_onnx, onnx_info, ort_runner

QUANTIZED_OPS = ["LSTM", "MatMul", "Gemm", "Gather"]


def quantize_onnx(fp32: Path, out: Path, per_channel: bool) -> None:
    # onnxruntime's quantizer pulls in onnx and more: loaded only when an int8 ONNX is made
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # Without ONNX shape inference first, a dynamo-exported LSTM stays fp32 (the quantizer needs its shapes);
    # symbolic shape inference is skipped: it gives up on BERT graphs ("Incomplete symbolic shape inference").
    pre = out.with_name(out.stem + ".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    quantize_dynamic(str(pre), str(out), weight_type=QuantType.QInt8, per_channel=per_channel,
                     op_types_to_quantize=QUANTIZED_OPS)
    pre.unlink()


def int8_onnx(source, ctx) -> Path:
    fp32 = ctx.intermediate(source.name, "model.onnx", lambda p: export_onnx(source, p))
    name = "model.int8-pc.onnx" if ctx.options.per_channel else "model.int8.onnx"
    return ctx.intermediate(source.name, name, lambda p: quantize_onnx(fp32, p, ctx.options.per_channel))


def quantization_info(path: Path, per_channel: bool) -> dict:
    info = onnx_info(path)
    ops = info["op_counts"]
    info.update({"weights": "int8 dynamic (activations quantized at run time)", "per_channel": per_channel,
                 "lstm_int8": ops.get("DynamicQuantizeLSTM", 0) > 0,
                 "matmul_int8": ops.get("MatMulInteger", 0) + ops.get("DynamicQuantizeMatMul", 0) > 0,
                 "embedding_int8": _embedding_int8(path)})
    return info


def _embedding_int8(path: Path) -> bool:
    """True when a Gather reads an int8 initializer (the embedding table stored as int8)."""
    import onnx  # optional and slow to import: only the ONNX targets need it

    model = onnx.load(str(path))
    int8 = {i.name for i in model.graph.initializer if i.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)}
    dq = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    return any(n.op_type == "Gather" and (n.input[0] in int8 or dq.get(n.input[0]) in int8)
               for n in model.graph.node)


def _load(folder, manifest, threads=None, device="cpu"):
    return ort_runner(folder / manifest["files"][0], threads, device)


@register("onnx-int8", load=_load, runtime="onnxruntime", precision="int8", fp32="onnx", mobile=False, threads=AT_LOAD,
          devices=("cpu",), reads=("per_channel",))
def build(source, folder, ctx) -> BuildResult:
    """ONNX Runtime dynamic int8 (quant_pre_process + quantize_dynamic)."""
    (folder / "model.onnx").write_bytes(int8_onnx(source, ctx).read_bytes())
    return BuildResult(["model.onnx"], quantization_info(folder / "model.onnx", ctx.options.per_channel))
