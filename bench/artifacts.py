"""What the benchmark times: every exported artifact of a run, each model's eager fp32 module ("torch"), and
BERT-base/BERT-large reference shapes with random weights (timing only; their accuracy means nothing).

An artifact is described by a plain dict (`spec`), so a subprocess (bench/probe.py) can load exactly what the
in-process tests load; `load_runner(spec, threads, device)` is the one way to turn a spec into a runner.
"""

from __future__ import annotations

from pathlib import Path

import torch

from distill.errors import UserError
from distill.io import read_json
from export.registry import TargetUnavailable, all_targets

EAGER = "torch"
MOBILE_FORMATS = ("ort-mobile", "ort-mobile-int8", "executorch", "executorch-int8", "litert", "litert-int8")
REFERENCES = {  # the paper's teachers, as shapes: (layers, hidden, heads, intermediate)
    "bert-base": (12, 768, 12, 3072),
    "bert-large": (24, 1024, 16, 4096),
}
ROLE_ORDER = {"student": 0, "teacher": 1, "reference": 2}


def _bytes_mb(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 3)


def _source_dir(run_dir: Path, manifest: dict) -> Path:
    """Where the run keeps the model an artifact was made from (its eager fp32 weights)."""
    src = manifest["source"]
    return run_dir / "teacher" / "model" if src["kind"] == "teacher" else run_dir / "students" / src["name"]


def _eager_spec(manifest: dict, run_dir: Path) -> dict:
    src, role = manifest["source"], manifest["source"]["kind"]
    source = _source_dir(run_dir, manifest)
    checkpoint = source / Path(src["checkpoint"]).name
    if not checkpoint.is_file():
        raise UserError(f"{source}: no {checkpoint.name}, the weights {src['name']}'s artifacts were made from")
    return {"id": f"{src['name']}/{EAGER}", "model": src["name"], "role": role, "format": EAGER,
            "folder": None, "source": str(source), "devices": ["cpu", "cuda"], "mobile": False,
            "lossy": False, "size_mb": _bytes_mb(checkpoint), "size_note": "safetensors checkpoint",
            "params": src.get("params"), "params_no_embedding": src.get("params_no_embedding"),
            "architecture": src.get("architecture"), "max_length": manifest["max_length"],
            "pair": bool(manifest.get("pair")),  # a pair teacher's eager module rebuilds its segment ids
            "tokenizer": {"kind": "student" if role == "student" else "hf", "folder": str(source)}}


def _artifact_spec(manifest: dict, folder: Path, target, run_dir: Path) -> dict:
    src = manifest["source"]
    return {"id": f"{src['name']}/{manifest['target']}", "model": src["name"], "role": src["kind"],
            "format": manifest["target"], "folder": str(folder), "source": str(_source_dir(run_dir, manifest)),
            "devices": list(target.devices),
            "mobile": manifest["target"] in MOBILE_FORMATS, "lossy": bool(manifest.get("lossy")),
            "size_mb": manifest["size_mb"], "size_note": "artifact files", "params": src.get("params"),
            "params_no_embedding": src.get("params_no_embedding"), "architecture": src.get("architecture"),
            "max_length": manifest["max_length"], "tokenizer": {"kind": manifest["tokenizer"]["kind"],
                          "folder": str(folder / manifest["tokenizer"]["folder"])}}


def reference_spec(name: str, num_labels: int, tokenizer: dict | None) -> dict:
    from transformers import BertConfig, BertForSequenceClassification

    layers, hidden, heads, inter = REFERENCES[name]
    config = BertConfig(num_hidden_layers=layers, hidden_size=hidden, num_attention_heads=heads,
                        intermediate_size=inter, num_labels=num_labels)
    with torch.device("meta"):  # count parameters without allocating 1.3 GB
        model = BertForSequenceClassification(config)
    params = model.num_parameters()
    return {"id": f"{name}/{EAGER}", "model": name, "role": "reference", "format": EAGER, "folder": None,
            "source": None, "devices": ["cpu", "cuda"], "mobile": False, "lossy": False,
            "size_mb": round(params * 4 / 2**20, 3), "size_note": "fp32 weights in memory (random init, no file)",
            "params": params, "params_no_embedding": model.num_parameters(exclude_embeddings=True),
            "max_length": 512, "tokenizer": tokenizer, "reference": {"layers": layers, "hidden": hidden,
                                                                       "heads": heads, "intermediate": inter,
                                                                       "num_labels": num_labels}}


def discover(run_dir: Path, formats: list[str] | None, references: list[str], num_labels: int) -> list[dict]:
    """Every artifact under RUN/export plus each model's eager module and the reference shapes, filtered by
    `formats` (None: all), students first, then the teacher, then references."""
    export_root = run_dir / "export"
    manifests = sorted(export_root.glob("*/*/manifest.json"))
    if not manifests:
        raise UserError(f"{export_root}: no exported artifacts; run `distill-bench export {run_dir}` first")
    targets = all_targets()
    known = [EAGER, *targets]
    unknown = [f for f in formats or [] if f not in known]
    if unknown:
        raise UserError(f"--targets: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    specs, eager, teacher_tokenizer = [], {}, None
    for path in manifests:
        manifest = read_json(path)
        if manifest.get("target") not in targets:
            raise UserError(f"{path}: target {manifest.get('target')!r} is not one this version knows")
        spec = _artifact_spec(manifest, path.parent, targets[manifest["target"]], run_dir)
        if spec["model"] not in eager:
            eager[spec["model"]] = _eager_spec(manifest, run_dir)
        # the eager model reads the model's full length, not a fixed-shape artifact's largest bucket
        eager[spec["model"]]["max_length"] = max(eager[spec["model"]]["max_length"], manifest["max_length"])
        if spec["role"] == "teacher":
            teacher_tokenizer = eager[spec["model"]]["tokenizer"]
        specs.append(spec)
    specs += eager.values()
    for name in references:
        if name not in REFERENCES:
            raise UserError(f"--references: unknown {name!r}; known: {', '.join(REFERENCES)} (or 'none')")
        specs.append(reference_spec(name, num_labels, teacher_tokenizer))
    if formats is not None:
        specs = [s for s in specs if s["format"] in formats]
    order = [EAGER, *targets]
    return sorted(specs, key=lambda s: (ROLE_ORDER[s["role"]], s["model"], order.index(s["format"])))


def encoder_for(spec: dict):
    from export.source import TextEncoder

    if spec["tokenizer"] is None:
        raise TargetUnavailable(f"{spec['id']}: reference shapes borrow the teacher's tokenizer, and this run "
                                "exported no teacher")
    return TextEncoder(spec["tokenizer"]["kind"], Path(spec["tokenizer"]["folder"]))


def eager_module(spec: dict) -> torch.nn.Module:
    """The fp32 eager module of the spec's model ((input_ids, attention_mask) → logits)."""
    from export.source import TeacherForExport, load_student_source, load_teacher_source

    if spec["role"] == "reference":
        from transformers import BertConfig, BertForSequenceClassification

        ref = spec["reference"]
        torch.manual_seed(0)
        config = BertConfig(num_hidden_layers=ref["layers"], hidden_size=ref["hidden"],
                            num_attention_heads=ref["heads"], intermediate_size=ref["intermediate"],
                            num_labels=ref["num_labels"], attn_implementation="sdpa")
        return TeacherForExport(BertForSequenceClassification(config)).eval()
    if spec["role"] == "student":
        return load_student_source(spec["source"]).module
    return load_teacher_source(spec["source"], pair=spec.get("pair", False)).module


def load_runner(spec: dict, threads: int | None, device: str = "cpu"):
    """The spec's runner at `threads` intra-op threads on `device`; TargetUnavailable if it cannot run here."""
    from export.manifest import read_manifest, verify_files
    from export.source import torch_device, torch_runner

    if device not in spec["devices"]:
        raise TargetUnavailable(f"{spec['format']} has no {device} runtime here (runs on: "
                                f"{', '.join(spec['devices'])})")
    if threads:
        torch.set_num_threads(threads)  # torch's intra-op pool is process-wide: eager, TorchScript, .pt2, int8
    if spec["format"] == EAGER:
        return torch_runner(eager_module(spec).to(torch_device(device)), device)
    folder, manifest = read_manifest(spec["folder"])
    if folder not in _VERIFIED:  # once per artifact: a benchmark of a changed file would be of something else
        verify_files(folder, manifest)
        _VERIFIED.add(folder)
    return all_targets()[spec["format"]].load(folder, manifest, threads=threads, device=device)


_VERIFIED: set[Path] = set()
