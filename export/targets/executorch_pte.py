"""ExecuTorch `.pte` with the XNNPACK delegate, fp32 and int8 (pt2e XNNPACK quantizer), run here through
ExecuTorch's Python runtime. A .pte has a fixed sequence length, so one file per length bucket ships and each
input goes to the smallest that fits (export/buckets.py); the batch axis stays dynamic.
"""

from __future__ import annotations

import torch

from export.buckets import bucket_file, bucketed, buckets_for, fit
from export.contract import INPUT_NAMES
from export.registry import AT_LOAD, BuildResult, register_fp32_and_int8
from export.source import example_inputs


def _program(source, seq: int, max_batch: int):
    ids, mask = example_inputs(source, batch=2, seq=seq)
    batch = torch.export.Dim("batch", min=1, max=max(2, max_batch))  # export wants max > the example's 2
    return (ids, mask), {name: {0: batch} for name in INPUT_NAMES}


def _quantized(source, seq: int, example, dynamic, ctx):
    # executorch and torchao are optional (install.sh adds them with --no-deps) and slow to import
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    program = torch.export.export(source.fresh_module(), example, dynamic_shapes=dynamic)
    graph = prepare_pt2e(program.module(), quantizer)
    with torch.no_grad():
        for ids, mask in ctx.calibration_batches(source):  # train sentences, not dev: no peeking at the test
            ids, mask = fit(ids, mask, seq)
            graph(torch.from_numpy(ids), torch.from_numpy(mask))
    return convert_pt2e(graph)


def _lower(module, example, dynamic, path) -> int:
    """Write the .pte; return the most rows it accepts (see _batch_bound)."""
    # executorch: optional, and slow to import
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    program = torch.export.export(module, example, dynamic_shapes=dynamic)
    lowered = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()]).to_executorch()
    path.write_bytes(lowered.buffer)
    return _batch_bound(lowered.exported_program())


def _batch_bound(program) -> int:
    """The batch bound memory planning gave the first input: the runtime refuses more rows (set_inputs error
    0x10). Lowering can narrow the bound export was given: under XNNPACK, embedding → transpose → Conv1d (the
    cnn family) adds the guard batch < 16, whatever the bound asked for, so it is read here, not assumed."""
    first = program.graph_signature.user_inputs[0]
    node = next(n for n in program.graph.nodes if n.op == "placeholder" and n.name == first)
    return int(node.meta["spec"].shape[0])


def _build(source, folder, ctx, int8: bool) -> BuildResult:
    buckets = buckets_for(source.max_length, ctx.options.buckets)
    files, quantize_nodes, bounds = [], [], []
    for seq in buckets:
        example, dynamic = _program(source, seq, ctx.options.max_batch)
        module = _quantized(source, seq, example, dynamic, ctx) if int8 else source.fresh_module()
        if int8:  # measured, not assumed: how many quantize ops the quantizer actually inserted
            quantize_nodes.append(sum("quantize_per" in str(n.target) for n in module.graph.nodes))
        files.append(bucket_file(seq, ".pte"))
        bounds.append(_lower(module, example, dynamic, folder / files[-1]))
    info = {"format": "executorch", "delegate": "XnnpackPartitioner", "seq_buckets": buckets,
            "dynamic_axes": {"input_ids": ["batch"]}, "max_batch": min(bounds)}
    if min(bounds) < ctx.options.max_batch:  # the runner slices larger batches (export/buckets.bucketed)
        info["max_batch_note"] = (f"--max-batch {ctx.options.max_batch} was asked; lowering bounded the batch at "
                                  f"{min(bounds)} rows (per bucket: {bounds}), so larger batches run in slices")
    if int8:
        info.update({"quantizer": "XNNPACKQuantizer symmetric per-channel (pt2e)",
                     "quantize_nodes_per_bucket": quantize_nodes, "embedding_int8": False,
                     "embedding_note": "the embedding table stays fp32 (quantizing it fails in the pip runtime) "
                                       "and every bucket file carries its own copy"})
    return BuildResult(files, info, max_length=max(buckets))


def _load(folder, manifest, threads=None, device="cpu"):
    # executorch's runtime: optional; importing it counts as loading the artifact (bench/probe.py)
    from executorch.runtime import Runtime

    if threads:  # XNNPACK's threadpool is process-wide; resetting it is only unsafe while a method runs
        from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool

        _unsafe_reset_threadpool(threads)
    runtime = Runtime.get()
    runners = {}
    for seq, name in zip(manifest["info"]["seq_buckets"], manifest["files"]):
        method = runtime.load_program(str(folder / name)).load_method("forward")
        runners[seq] = (lambda m: lambda ids, mask: m.execute([torch.from_numpy(ids),
                                                                torch.from_numpy(mask)])[0].numpy())(method)
    return bucketed(runners, max_batch=manifest["info"].get("max_batch"))  # absent: built before the bound


register_fp32_and_int8(
    "executorch", _build, load=_load, runtime="executorch", mobile=True, threads=AT_LOAD, devices=("cpu",),
    kinds=("student",), reads=("buckets", "max_batch"),  # int8 is always per-channel (XNNPACK quantizer)
    fp32_doc="ExecuTorch .pte (XNNPACK), fp32, one file per length bucket.",
    int8_doc="ExecuTorch .pte (XNNPACK), int8 via the pt2e XNNPACK quantizer, one file per length bucket.")
