"""manifest.json beside every artifact: what it is, what it expects, how it was validated, what it cost.

Enough to run the artifact with no access to the training run: input names and dtypes, dynamic axes, label
names, the tokenizer folder shipped next to it, and the max length; plus provenance (sha256 of the source
checkpoint and of each artifact file, library versions, warnings raised during export).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from distill.errors import UserError
from distill.io import file_sha256, read_json, write_json
from distill.runinfo import library_versions
from export.contract import INPUT_NAMES, OUTPUT_NAMES

MANIFEST = "manifest.json"  # beside every artifact
TOKENIZER_DIR = "tokenizer"  # the artifact's text encoder files (export/encoder.py)
OUTCOMES = "export.json"  # beside the model folders: every outcome of an export (export/run.py, export/table.py)
LIBRARIES = ("torch", "onnx", "onnxruntime", "onnxscript", "executorch", "torchao", "ai-edge-litert",
             "transformers", "numpy")
REQUIRED = ("target", "files", "inputs", "outputs", "label_names", "tokenizer", "max_length")


def versions() -> dict:
    return library_versions(LIBRARIES)


def summarize_warnings(caught: list[warnings.WarningMessage]) -> list[dict]:
    """Distinct warnings (category + first line), with how often each was raised."""
    seen: dict[tuple[str, str], int] = {}
    for w in caught:
        key = (w.category.__name__, str(w.message).strip().splitlines()[0][:300] if str(w.message).strip() else "")
        seen[key] = seen.get(key, 0) + 1
    return [{"category": c, "message": m, "count": n} for (c, m), n in seen.items()]


def build_manifest(target, source, folder: Path, result, max_length: int) -> dict:
    files = {name: {"bytes": (folder / name).stat().st_size, "sha256": file_sha256(folder / name)}
             for name in result.files}
    return {
        "target": target.name, "description": target.description, "lossy": target.lossy,
        "files": list(result.files), "file_info": files,
        "size_mb": round(sum(f["bytes"] for f in files.values()) / 2**20, 3),
        "inputs": [{"name": n, "dtype": "int64", "shape": source.input_shape} for n in INPUT_NAMES],
        "pair": source.pair,
        "outputs": [{"name": n, "dtype": "float32", "shape": ["batch", "num_labels"]} for n in OUTPUT_NAMES],
        "input_contract": "right-padded token ids and a 1/0 attention mask; the student reads lengths from it" + (
            "; a pair student takes (batch, 2, seq), one row per sentence" if source.siamese else
            "; a pair teacher takes both sentences in one row, as its tokenizer joins them" if source.pair else ""),
        "label_names": list(source.label_names), "max_length": int(max_length),
        "tokenizer": {"kind": source.encoder.kind, "folder": TOKENIZER_DIR},
        "source": {"name": source.name, "kind": source.kind, "checkpoint": str(source.checkpoint),
                   "checkpoint_sha256": file_sha256(source.checkpoint), **source.info},
        "info": result.info, "versions": versions(),
    }


def write_manifest(folder: Path, manifest: dict) -> None:
    write_json(folder / MANIFEST, manifest)


def read_manifest(path: str | Path) -> tuple[Path, dict]:
    """The artifact folder and its manifest, given the folder, the manifest or any artifact file in it."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if not (folder / MANIFEST).is_file():
        raise UserError(f"{folder}: no {MANIFEST} here; give an artifact folder made by `distill-bench export`")
    manifest = read_json(folder / MANIFEST)
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise UserError(f"{folder / MANIFEST}: missing field(s) {', '.join(missing)}")
    return folder, manifest


def verify_files(folder: Path, manifest: dict) -> None:
    """Every artifact file is present with the sha256 the manifest recorded: a truncated copy or a file swapped
    after export is refused before any runtime parses it."""
    for name in manifest["files"]:
        path = folder / name
        if not path.is_file():
            raise UserError(f"{path}: listed in {folder / MANIFEST} but missing")
        want = manifest.get("file_info", {}).get(name, {}).get("sha256")
        if want and file_sha256(path) != want:
            raise UserError(f"{path}: sha256 differs from {folder / MANIFEST} (file changed or truncated after "
                            "export); export it again")
