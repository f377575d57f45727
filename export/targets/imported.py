"""Artifacts made elsewhere and brought in by `distill-bench import` (export/importer.py): ONNX, ONNX Runtime
`.ort`, LiteRT `.tflite` and ExecuTorch `.pte` files with their own input names (a .pte's are its positions,
input_0, input_1, …). Nothing builds them; their runner maps the
input contract (right-padded ids and a 1/0 mask) onto the file's inputs as the import recorded them in the
manifest's `import` section: each input's meaning (ids, mask, token_types, lengths), dtype and fixed length.
"""

from __future__ import annotations

import numpy as np

from export.buckets import fit
from export.registry import AT_LOAD, TargetUnavailable, register_fp32_and_int8
from export.targets.onnx_fp32 import ort_session

MEANINGS = ("ids", "mask", "token_types", "lengths")


def _never_built(source, folder, ctx, int8: bool):
    raise TargetUnavailable("an imported format: brought in by `distill-bench import`, never built by export")


def feeds(spec: dict, ids: np.ndarray, mask: np.ndarray) -> dict:
    """The file's inputs from the contract's two arrays, by the meanings the import recorded."""
    if spec.get("fixed_seq"):
        ids, mask = fit(ids, mask, spec["fixed_seq"])
    out = {}
    for inp in spec["inputs"]:
        if inp["meaning"] == "ids":
            value = ids
        elif inp["meaning"] == "mask":
            value = mask
        elif inp["meaning"] == "lengths":
            value = mask.sum(-1)
        else:  # token types: 0 up to and including the first separator, 1 after it (pads 0), as tokenizers do
            sep = spec.get("sep_token_id")
            if sep is None or not spec.get("pair"):
                value = np.zeros_like(ids)
            else:
                is_sep = (ids == sep).astype(np.int64)
                value = ((np.cumsum(is_sep, -1) - is_sep) > 0).astype(np.int64) * mask
        out[inp["name"]] = value.astype(inp["dtype"])
    return out


def in_slices(run, batch: int | None):
    """A file with a fixed batch (a .tflite's 1) takes bigger batches in slices, joined in order."""
    if not batch:
        return run

    def sliced(ids, mask):
        return np.concatenate([run(ids[i:i + batch], mask[i:i + batch]) for i in range(0, len(ids), batch)])
    return sliced


def _load_ort(folder, manifest, threads=None, device="cpu"):
    spec = manifest["import"]
    session = ort_session(folder / manifest["files"][0], threads, device)
    return in_slices(lambda ids, mask: session.run([spec["output"]], feeds(spec, ids, mask))[0],
                     spec.get("fixed_batch"))


def _load_tflite(folder, manifest, threads=None, device="cpu"):
    from ai_edge_litert.interpreter import Interpreter  # the runtime, loaded with the artifact

    spec = manifest["import"]
    runner = Interpreter(model_path=str(folder / manifest["files"][0]), num_threads=threads).get_signature_runner()
    return in_slices(lambda ids, mask: runner(**feeds(spec, ids, mask))[spec["output"]], spec.get("fixed_batch"))


def _load_pte(folder, manifest, threads=None, device="cpu"):
    import torch  # ExecuTorch's runtime takes torch tensors
    from executorch.runtime import Runtime  # the runtime, loaded with the artifact

    if threads:  # XNNPACK's threadpool is process-wide
        from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool

        _unsafe_reset_threadpool(threads)
    spec = manifest["import"]
    method = Runtime.get().load_program(str(folder / manifest["files"][0])).load_method("forward")

    def run(ids, mask):
        fed = feeds(spec, ids, mask)
        return method.execute([torch.from_numpy(fed[i["name"]]) for i in spec["inputs"]])[0].numpy()
    return in_slices(run, spec.get("fixed_batch"))


# format → (loader, runtime, phone format, what the file is); each gets an fp32 and an -int8 name
IMPORTED = {"pte": (_load_pte, "executorch", True, "an ExecuTorch .pte file"),
            "onnx": (_load_ort, "onnxruntime", False, "an ONNX file"),
            "ort": (_load_ort, "onnxruntime", True, "an ONNX Runtime .ort file"),
            "tflite": (_load_tflite, "litert", True, "a LiteRT .tflite file")}
for fmt, (load, runtime, mobile, what) in IMPORTED.items():
    register_fp32_and_int8(f"imported-{fmt}", _never_built, load=load, runtime=runtime, mobile=mobile,
                           threads=AT_LOAD, devices=("cpu",), kinds=("imported",), reads=(),
                           fp32_doc=f"{what} made elsewhere (distill-bench import), fp32",
                           int8_doc=f"{what} made elsewhere (distill-bench import), with int8 weights")
