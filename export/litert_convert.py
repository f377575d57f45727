#!/usr/bin/env python3
"""Standalone PyTorch -> LiteRT (.tflite) converter and runner.

Runs INSIDE the separate LiteRT virtualenv (torch + litert-torch +
ai-edge-litert), never in the project's main venv: litert-torch pins
typing-extensions / pydantic versions that clash with the main environment.
It deliberately imports nothing from the project (no ``distill``); the model
arrives as a ``torch.export.save``d ExportedProgram, so this script never needs
to know the model class.

Convert::

    python export/litert_convert.py --program MODEL.pt2 --out MODEL.tflite \
        --seq-len 32 --batch 1 [--int8]

Run (parity checks from the main environment)::

    python export/litert_convert.py --run MODEL.tflite --inputs INPUTS.npz

Each mode prints exactly one JSON line on stdout; everything the converter
logs goes to stderr. On failure it prints {"ok": false, "error": ...} and exits 1.

The ExportedProgram must take (input_ids, attention_mask) int64 tensors. It is
re-exported at the requested static shape (batch, seq_len); a program exported
with static shapes only converts at the shape it was exported with. Without
``enable_x64`` LiteRT downcasts the int64 inputs to int32, so the .tflite takes
int32 inputs (``--run`` casts for you).

``--int8`` is dynamic-range int8: every supported op's weights (Linear, LSTM
gates, and the embedding table via EMBEDDING_LOOKUP) are stored as
channel-wise symmetric int8 and activations stay float32. It uses
litert_torch's ``full_dynamic_recipe``, which runs ai-edge-quantizer's
dynamic_wi8_afp32 recipe on the converted flatbuffer.

Beside it, as sibling modules (this script's folder is first on sys.path): litert_protocol.py (the one JSON
line on stdout, the rest on stderr) and litert_run.py (``--run`` mode and the signature feeding).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import traceback

import numpy as np

# siblings of this script, found on sys.path[0] when it runs (never imported as export.*)
from litert_protocol import collect_warnings, dedupe, stdout_to_stderr, version
from litert_run import first_output, pick_input, run


def _user_input_specs(ep):
    """(name, dtype) of the ExportedProgram's user inputs, in order."""
    names = list(ep.graph_signature.user_inputs)
    metas = {
        n.name: n.meta.get("val")
        for n in ep.graph.nodes
        if n.op == "placeholder"
    }
    return [(n, getattr(metas.get(n), "dtype", None), tuple(getattr(metas.get(n), "shape", ()) or ()))
            for n in names]


def _sample_inputs(torch, specs, batch: int, seq_len: int):
    if len(specs) != 2:
        raise ValueError(
            f"program takes {len(specs)} user inputs {[s[0] for s in specs]};"
            " expected 2 (input_ids, attention_mask)"
        )
    for name, dtype, _ in specs:
        if dtype is not None and dtype not in (torch.int64, torch.int32):
            raise ValueError(f"input {name!r} has dtype {dtype}; expected int64")
    dtype = specs[0][1] or torch.int64
    # The static program's own input shape: (batch, seq), or (batch, 2, seq) for a pair student.
    shape = tuple(int(d) for d in specs[0][2]) if len(specs[0][2]) == 3 else (batch, seq_len)
    if shape[-1] != seq_len or shape[0] != batch:
        raise ValueError(f"program input shape {shape} does not match --batch {batch} --seq-len {seq_len}")
    # Token id 1 everywhere, full mask: valid for any vocab >= 2 and any
    # padding convention; only shapes/dtypes matter for tracing.
    ids = torch.ones(shape, dtype=dtype)
    mask = torch.ones(shape, dtype=specs[1][1] or torch.int64)
    return ids, mask


def _mark_eval(module) -> None:
    # ExportedProgram.module() refuses .eval(); the graph already has eval
    # semantics baked in at export time, so only the flag is cleared (this
    # silences litert_torch's "converted in training mode" warning).
    for sub in module.modules():
        sub.training = False


def _atomic_export(edge_model, out_path: str) -> int:
    out_path = os.path.abspath(out_path)
    folder = os.path.dirname(out_path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix="." + os.path.basename(out_path) + ".", suffix=".tmp", dir=folder
    )
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600
        edge_model.export(tmp)
        if os.path.getsize(tmp) == 0:
            raise RuntimeError("converter wrote an empty .tflite")
        os.replace(tmp, out_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return os.path.getsize(out_path)


def convert(args, warn_sink: list[str]) -> dict:
    # heavy converter libraries, imported inside main's JSON-reporting try: a broken converter env still
    # answers with one JSON line naming the error
    import litert_torch
    import torch
    from ai_edge_litert.interpreter import Interpreter

    t0 = time.time()
    if args.batch < 1 or args.seq_len < 1:
        raise ValueError("--batch and --seq-len must be >= 1")
    with collect_warnings(warn_sink):
        return _convert(args, warn_sink, torch, litert_torch, Interpreter, t0)


def _convert(args, warn_sink, torch, litert_torch, Interpreter, t0) -> dict:
    ep = torch.export.load(args.program)
    specs = _user_input_specs(ep)
    module = ep.module()
    _mark_eval(module)
    ids, mask = _sample_inputs(torch, specs, args.batch, args.seq_len)
    with torch.no_grad():
        expected = module(ids, mask)
    if isinstance(expected, (tuple, list)):
        expected = expected[0]
    if hasattr(expected, "logits"):
        expected = expected.logits

    quant_config = None
    if args.int8:
        from litert_torch.generative.quantize import quant_recipes  # part of litert_torch (heavy, above)

        quant_config = quant_recipes.full_dynamic_recipe()

    # Positional sample args: the unlifted module's pytree spec rejects
    # keywords, so the .tflite signature inputs are named args_0 / args_1.
    edge_model = litert_torch.convert(module, (ids, mask), quant_config=quant_config)
    size = _atomic_export(edge_model, args.out)

    # Smoke test the written file with the LiteRT interpreter.
    interp = Interpreter(model_path=os.path.abspath(args.out))
    runner = interp.get_signature_runner()
    in_details = runner.get_input_details()
    feeds = {}
    for key, det in in_details.items():
        src = pick_input(key, list(in_details), {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
        feeds[key] = src.astype(det["dtype"])
    got = first_output(runner(**feeds))
    diff = float(np.max(np.abs(got.astype(np.float32) - expected.detach().numpy())))
    input_dtype = sorted({np.dtype(d["dtype"]).name for d in in_details.values()})
    return {
        "ok": True,
        "litert_torch": getattr(litert_torch, "__version__", None) or version("litert-torch"),
        "ai_edge_litert": version("ai-edge-litert"),
        "torch": torch.__version__,
        "input_dtype": input_dtype[0] if len(input_dtype) == 1 else ",".join(input_dtype),
        "input_names": list(in_details),
        "int8": bool(args.int8),
        "batch": args.batch,
        "seq_len": args.seq_len,
        "size_bytes": size,
        "sample_max_abs_diff": diff,
        "seconds": round(time.time() - t0, 2),
        "warnings": dedupe(warn_sink),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--program", help="torch.export.save'd ExportedProgram (.pt2)")
    p.add_argument("--out", help="destination .tflite")
    p.add_argument("--seq-len", type=int)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--int8", action="store_true", help="dynamic-range int8 weights")
    p.add_argument("--run", metavar="MODEL.tflite", help="run a .tflite instead of converting")
    p.add_argument("--inputs", metavar="INPUTS.npz", help="arrays input_ids, attention_mask for --run")
    args = p.parse_args(argv)

    warn_sink: list[str] = []
    with stdout_to_stderr() as real_stdout:
        try:
            if args.run:
                if not args.inputs:
                    raise ValueError("--run needs --inputs INPUTS.npz")
                result = run(args)
            else:
                if not (args.program and args.out and args.seq_len):
                    raise ValueError("convert mode needs --program, --out and --seq-len")
                result = convert(args, warn_sink)
        except BaseException as exc:  # noqa: BLE001 - report every failure as JSON
            if isinstance(exc, KeyboardInterrupt):
                raise
            traceback.print_exc(file=sys.stderr)
            text = f"{type(exc).__name__}: {exc}".strip()
            result = {"ok": False, "error": text[:4000]}
            if warn_sink:
                result["warnings"] = dedupe(warn_sink)
        real_stdout.write(json.dumps(result) + "\n")
        real_stdout.flush()
        real_stdout.close()
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
