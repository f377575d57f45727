"""Tiny random models and run folders, made in seconds: the test fixtures (conftest.py) and the bad-input
table (tests/bad_inputs.py) share them. No real model is ever needed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from distill.data import get_task, load_split

# Int8 gates for exports of tiny random models. Their logits sit near a tie, so int8 flips a few of the 40–48 dev
# predictions a test validates on, and which ones depends on the CPU's int8 kernels: CI's machine flipped one pair
# (agreement 0.9792 < 0.98) that the development machine kept, and the development machine moved a family test's
# accuracy 0.5115 → 0.5046 where CI's kept it. Tests of the export plumbing use these; the gates themselves are
# tested at their defaults and at unreachable thresholds (test_export_units, test_export_targets).
TINY_GATES = {"min_agreement": 0.9, "accuracy_budget": 0.8}
TINY_GATE_ARGS = [a for option, value in TINY_GATES.items() for a in (f"--{option.replace('_', '-')}", str(value))]


def make_tiny_teacher(folder: Path) -> Path:
    """A 2-layer, 32-wide random BERT with a WordPiece vocabulary of the first SST-2 sentences' words."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    words = sorted({w for t in load_split(get_task("sst2"), "train", 400)["text"] for w in t.split()})
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (folder / "vocab.txt").write_text("\n".join(specials + words) + "\n")
    # from the folder: transformers 5 ignores BertTokenizerFast(vocab_file=…) and would give an empty vocabulary
    tokenizer = BertTokenizerFast.from_pretrained(str(folder), do_lower_case=True)
    assert len(tokenizer) == len(specials) + len(words)
    config = BertConfig(vocab_size=len(specials) + len(words), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)  # base + fresh head, as a real teacher
    tokenizer.save_pretrained(folder)
    return folder


def make_tiny_run(run: Path, teacher: Path) -> Path:
    """A run folder as `distill-bench pipeline` leaves it: a random word-level student (max length 8) and the
    tiny BERT as teacher — what `distill-bench export` reads."""
    from distill.student_files import save_student
    from distill.students import BiLSTMClassifier, StudentConfig
    from distill.vocab import Vocab

    task = get_task("sst2")
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps({"run_id": "tiny", "command": "test", "run": {"task": "sst2"}}))
    shutil.copytree(teacher, run / "teacher" / "model")
    vocab = Vocab.build(list(load_split(task, "train", 400)["text"]), "word")
    torch.manual_seed(0)
    student = BiLSTMClassifier(StudentConfig(vocab_size=len(vocab), embed_dim=16, hidden=8, fc=12)).eval()
    folder = run / "students" / "tiny-s0"
    save_student(folder, student, vocab, {"task": "sst2", "label_names": list(task.label_names), "max_length": 8})
    (folder / "metrics.json").write_text(json.dumps({"accuracy": 0.5}))
    return run


def make_tiny_pair_run(run: Path, teacher: Path) -> Path:
    """A QQP run folder (dev-split protocol) with a random Siamese word-level student (max length 8) and the
    tiny BERT as the pair teacher."""
    from distill.layout import RunLayout
    from distill.student_files import save_student
    from distill.students import StudentConfig, build_student
    from distill.vocab import Vocab

    run.mkdir(parents=True, exist_ok=True)
    raw = {"run_id": "tiny-pair", "command": "test", "run": {"task": "qqp"}}
    (run / "config.json").write_text(json.dumps(raw))
    task = RunLayout(run).task(raw)  # writes the split into run/data, as the pipeline does
    shutil.copytree(teacher, run / "teacher" / "model")
    train = load_split(task, "train", 400)
    vocab = Vocab.build(list(train["text"]) + list(train["text_b"]), "word")
    torch.manual_seed(0)
    student = build_student(StudentConfig(vocab_size=len(vocab), embed_dim=16, hidden=8, fc=12, pair=True)).eval()
    folder = run / "students" / "tiny-pair-s0"
    save_student(folder, student, vocab, {"task": "qqp", "label_names": list(task.label_names), "max_length": 8})
    (folder / "metrics.json").write_text(json.dumps({"accuracy": 0.5}))
    return run
