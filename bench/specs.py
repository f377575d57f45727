"""What the benchmark times: every exported artifact of a run, each model's eager fp32 module ("torch"), and
BERT-base/BERT-large reference shapes with random weights (timing only; their accuracy means nothing).

Each is described by a plain dict (`spec`), so a subprocess (bench/probe.py) can load exactly what the
in-process tests load (bench/artifacts.py turns a spec into a runner). The run folder is read through
distill.layout, which this module alone of the loading path imports: the footprint probe never pays for it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bench.formats import EAGER, format_facts, format_names
from bench.limit import limit_specs
from distill.errors import UserError
from distill.io import read_json
from distill.layout import RunLayout
from export.manifest import MANIFEST
from export.registry import all_targets

REFERENCES = {  # the paper's teachers, as shapes: (layers, hidden, heads, intermediate)
    "bert-base": (12, 768, 12, 3072),
    "bert-large": (24, 1024, 16, 4096),
}
ROLE_ORDER = {"student": 0, "limit": 1, "teacher": 2, "imported": 3, "reference": 4}
TIMING_ONLY = ("reference", "limit")  # random weights: timed, never scored, served or footprinted


def _bytes_mb(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 3)


def _source_dir(run: RunLayout, manifest: dict) -> Path | None:
    """Where the run keeps the model an artifact was made from (its eager fp32 weights); None for an imported
    file, which has no eager model here."""
    src = manifest["source"]
    if src["kind"] == "imported":
        return None
    if src["kind"] == "teacher":  # the run's teacher, or an HF classifier brought in by import (teacher-like)
        return run.teacher_model if src["name"] == "teacher" else run.imported_model(src["name"])
    return run.student(src["name"])


def _eager_spec(manifest: dict, run: RunLayout) -> dict:
    src, role = manifest["source"], manifest["source"]["kind"]
    source = _source_dir(run, manifest)
    checkpoint = source / Path(src["checkpoint"]).name
    if not checkpoint.is_file():
        raise UserError(f"{source}: no {checkpoint.name}, the weights {src['name']}'s artifacts were made from")
    return {"id": f"{src['name']}/{EAGER}", "model": src["name"], "role": role, "format": EAGER,
            "folder": None, "source": str(source), **format_facts(EAGER), "size_mb": _bytes_mb(checkpoint),
            "size_note": "safetensors checkpoint",
            "params": src.get("params"), "params_no_embedding": src.get("params_no_embedding"),
            "architecture": src.get("architecture"), "student_arch": src.get("student"),
            "max_length": manifest["max_length"],
            "pair": bool(manifest.get("pair")),  # a pair teacher's eager module rebuilds its segment ids
            "tokenizer": {"kind": "student" if role == "student" else "hf", "folder": str(source)}}


def _reference_manifest(run: RunLayout, name: str, pair: bool) -> dict:
    """What _eager_spec reads of a manifest, for the run model an import named as its reference (a model that
    may have no artifact of its own here)."""
    from distill.hf import load_classifier
    from export.teacher_source import teacher_max_length  # reads the teacher's recorded length, as export does

    if name == "teacher":
        tokenizer, model = load_classifier(run.teacher_model)
        checkpoint = sorted(run.teacher_model.glob("*.safetensors"))[0]
        length, _ = teacher_max_length(tokenizer, model.config, run.teacher_model)
        return {"source": {"name": "teacher", "kind": "teacher", "checkpoint": str(checkpoint)},
                "max_length": length, "pair": pair}
    config = read_json(run.student(name) / "config.json")
    return {"source": {"name": name, "kind": "student", "checkpoint": str(run.student(name) / "model.safetensors"),
                       "student": config.get("student")}, "max_length": config["max_length"], "pair": pair}


def _artifact_spec(manifest: dict, folder: Path, run: RunLayout) -> dict:
    src = manifest["source"]
    source = _source_dir(run, manifest)
    return {"id": f"{src['name']}/{manifest['target']}", "model": src["name"], "role": src["kind"],
            "format": manifest["target"], "folder": str(folder), "source": str(source) if source else None,
            # the eager model its logits are compared with: its own, or the one an import named as reference
            "reference_model": src.get("reference") if src["kind"] == "imported" else src["name"],
            **format_facts(manifest["target"]),
            "size_mb": manifest["size_mb"], "size_note": "artifact files", "params": src.get("params"),
            "params_no_embedding": src.get("params_no_embedding"), "architecture": src.get("architecture"),
            # the artifact computes the folded student (gate tables, no input projection): FLOPs differ
            "folded": bool((manifest.get("info") or {}).get("folded")),
            "max_length": manifest["max_length"], "tokenizer": {"kind": manifest["tokenizer"]["kind"],
                          "folder": str(folder / manifest["tokenizer"]["folder"])}}


def reference_spec(name: str, num_labels: int, tokenizer: dict | None) -> dict:
    # transformers takes seconds to import; only the BERT reference shapes need it here
    from transformers import BertConfig, BertForSequenceClassification

    layers, hidden, heads, inter = REFERENCES[name]
    config = BertConfig(num_hidden_layers=layers, hidden_size=hidden, num_attention_heads=heads,
                        intermediate_size=inter, num_labels=num_labels)
    with torch.device("meta"):  # count parameters without allocating 1.3 GB
        model = BertForSequenceClassification(config)
    params = model.num_parameters()
    return {"id": f"{name}/{EAGER}", "model": name, "role": "reference", "format": EAGER, "folder": None,
            "source": None, **format_facts(EAGER),
            "size_mb": round(params * 4 / 2**20, 3), "size_note": "fp32 weights in memory (random init, no file)",
            "params": params, "params_no_embedding": model.num_parameters(exclude_embeddings=True),
            "max_length": 512, "tokenizer": tokenizer, "reference": {"layers": layers, "hidden": hidden,
                                                                       "heads": heads, "intermediate": inter,
                                                                       "num_labels": num_labels}}


def discover(run_dir: Path, formats: list[str] | None, references: list[str], num_labels: int) -> list[dict]:
    """Every artifact under RUN/export plus each model's eager module and the reference shapes, filtered by
    `formats` (None: all), students first, then the teacher, then references."""
    run = RunLayout(run_dir)
    manifests = sorted(run.export.glob(f"*/*/{MANIFEST}"))  # export/<model>/<target>/
    if not manifests:
        raise UserError(f"{run.export}: no exported artifacts; run `distill-bench export {run_dir}` first")
    targets = all_targets()
    known = format_names()
    unknown = [f for f in formats or [] if f not in known]
    if unknown:
        raise UserError(f"--targets: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    specs, eager, teacher_tokenizer = [], {}, None
    for path in manifests:
        manifest = read_json(path)
        if manifest.get("target") not in targets:
            raise UserError(f"{path}: target {manifest.get('target')!r} is not one this version knows")
        spec = _artifact_spec(manifest, path.parent, run)
        if spec["role"] == "imported":  # no eager model of its own: compared with its reference's, if named
            specs.append(spec)
            ref = spec["reference_model"]
            if ref and ref not in eager:
                eager[ref] = _eager_spec(_reference_manifest(run, ref, manifest["pair"]), run)
            continue
        if spec["model"] not in eager:
            eager[spec["model"]] = _eager_spec(manifest, run)
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
    specs += [limit for s in eager.values() if s["role"] == "student"
              for limit in limit_specs(s, [x["format"] for x in specs if x["model"] == s["model"]])]
    order = format_names()
    return sorted(specs, key=lambda s: (ROLE_ORDER[s["role"]], s["model"], order.index(s["format"])))
