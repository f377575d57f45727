"""ExecuTorch `.pte` with the XNNPACK delegate, fp32 and int8 (pt2e XNNPACK quantizer), run here through
ExecuTorch's Python runtime. A .pte has a fixed sequence length, so one file per length bucket ships and each
input goes to the smallest that fits (export/buckets.py); the batch axis stays dynamic.
"""

from __future__ import annotations

import shutil

import numpy as np
import torch

from export.buckets import bucket_file, bucketed, buckets_for, fit
from export.contract import INPUT_NAMES
from export.registry import AT_LOAD, BuildResult, register_fp32_and_int8
from export.source import example_inputs


def _program(source, seq: int, max_batch: int):
    ids, mask = example_inputs(source, batch=2, seq=seq)
    batch = torch.export.Dim("batch", min=1, max=max(2, max_batch))  # export wants max > the example's 2
    return (ids, mask), {name: {0: batch} for name in INPUT_NAMES}


def _quantized(source, seq: int, example, dynamic, ctx, activations: str):
    # executorch and torchao are optional (install.sh adds them with --no-deps) and slow to import
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=activations == "dynamic")
    program = torch.export.export(source.fresh_module(), example, dynamic_shapes=dynamic)
    graph = prepare_pt2e(program.module(), XNNPACKQuantizer().set_global(config))
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


def _build_files(source, folder, ctx, activations: str | None) -> tuple[list[str], dict]:
    """One .pte per length bucket in `folder` (int8 when `activations` is given); the files and what they hold."""
    buckets = buckets_for(source.max_length, ctx.options.buckets)
    files, quantize_nodes, bounds = [], [], []
    for seq in buckets:
        example, dynamic = _program(source, seq, ctx.options.max_batch)
        module = _quantized(source, seq, example, dynamic, ctx, activations) if activations else source.fresh_module()
        if activations:  # measured, not assumed: how many quantize ops the quantizer actually inserted
            quantize_nodes.append(sum("quantize_per" in str(n.target) for n in module.graph.nodes))
        files.append(bucket_file(seq, ".pte"))
        bounds.append(_lower(module, example, dynamic, folder / files[-1]))
    info = {"format": "executorch", "delegate": "XnnpackPartitioner", "seq_buckets": buckets,
            "dynamic_axes": {"input_ids": ["batch"]}, "max_batch": min(bounds)}
    if min(bounds) < ctx.options.max_batch:  # the runner slices larger batches (export/buckets.bucketed)
        info["max_batch_note"] = (f"--max-batch {ctx.options.max_batch} was asked; lowering bounded the batch at "
                                  f"{min(bounds)} rows (per bucket: {bounds}), so larger batches run in slices")
    if activations:
        info["quantize_nodes_per_bucket"] = quantize_nodes
    return files, info


def _agreement(folder, files, info, batches, reference) -> float:
    """Argmax agreement of the .pte files in `folder` with the fp32 argmax `reference` over `batches`."""
    run = _load(folder, {"files": files, "info": info})
    return float((np.concatenate([run(ids, mask).argmax(-1) for ids, mask in batches]) == reference).mean())


def _build_int8(source, folder, ctx) -> tuple[list[str], dict]:
    """The int8 files with the activation scheme asked for, or under "auto" each scheme built in its own folder
    and the one that agrees more with fp32 on the calibration sentences moved into place (static on a tie: no
    activation scales to compute per call)."""
    asked = ctx.options.et_int8_activations
    if asked != "auto":
        files, info = _build_files(source, folder, ctx, asked)
        return files, {**info, "activations": asked, "activations_chosen_by": "--executorch-int8-activations"}
    batches = ctx.calibration_batches(source)
    reference = np.concatenate([source.logits(ids, mask).argmax(-1) for ids, mask in batches])
    built, agreement = {}, {}
    for scheme in ("static", "dynamic"):
        candidate = folder / f"activations-{scheme}"
        candidate.mkdir(exist_ok=True)
        built[scheme] = _build_files(source, candidate, ctx, scheme)
        agreement[scheme] = _agreement(candidate, *built[scheme], batches, reference)
    chosen = "dynamic" if agreement["dynamic"] > agreement["static"] else "static"
    files, info = built[chosen]
    for name in files:
        (folder / f"activations-{chosen}" / name).replace(folder / name)
    for scheme in built:
        shutil.rmtree(folder / f"activations-{scheme}")
    return files, {**info, "activations": chosen, "activations_chosen_by": (
        f"auto: argmax agreement with fp32 on the {len(reference)} calibration (train) sentences, static "
        f"{agreement['static']:.4f}, dynamic {agreement['dynamic']:.4f}; static on a tie"),
        "calibration_agreement": agreement}


def _build(source, folder, ctx, int8: bool) -> BuildResult:
    files, info = _build_int8(source, folder, ctx) if int8 else _build_files(source, folder, ctx, None)
    if int8:
        info.update({"quantizer": f"XNNPACKQuantizer symmetric per-channel (pt2e), {info['activations']} activations",
                     "embedding_int8": False,
                     "embedding_note": "the embedding table stays fp32 (quantizing it fails in the pip runtime) "
                                       "and every bucket file carries its own copy"})
    return BuildResult(files, info, max_length=max(info["seq_buckets"]))


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
    kinds=("student",), reads=("buckets", "max_batch"), int8_reads=("et_int8_activations",),  # always per-channel
    fp32_doc="ExecuTorch .pte (XNNPACK), fp32, one file per length bucket.",
    int8_doc="ExecuTorch .pte (XNNPACK), int8 via the pt2e XNNPACK quantizer (static or dynamic activations, "
             "--executorch-int8-activations), one file per length bucket.")
