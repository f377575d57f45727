"""The MPNet teacher's resolution (distill/mpnet.py): a missing or corrupt part refused in one line; unsafe
archive members refused; and an MPNet-style teacher (its own special tokens, no segment ids) labelling a
transfer set."""

from __future__ import annotations

import zipfile
from importlib import metadata

import numpy as np
import pytest

import distill.mpnet as mpnet
from distill.errors import UserError


def test_a_missing_part_is_refused_in_one_line(monkeypatch):
    monkeypatch.setattr(mpnet, "PARTS", (("no-such-wheel-distill-bench", "x.zip.001", "0" * 64),))
    with pytest.raises(UserError, match=r"wheel no-such-wheel-distill-bench is not installed \(bash install.sh "
                                        r"--with-mpnet\)"):
        mpnet.chunk_paths()


def test_a_corrupt_part_is_refused_in_one_line(monkeypatch):
    dist = metadata.distribution("tabulate")  # any installed wheel: one of its files stands in for a chunk
    name = next(f for f in dist.files if f.name.endswith(".py")).name
    monkeypatch.setattr(mpnet, "PARTS", (("tabulate", name, "0" * 64),))
    with pytest.raises(UserError, match=r"has sha256 [0-9a-f]{16}…, expected 0000000000000000… \(corrupt; bash "
                                        r"install.sh --with-mpnet again\)"):
        mpnet.chunk_paths()


def test_unsafe_archive_members_are_refused(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("model/../../escape.txt", "x")
    with pytest.raises(UserError, match="would write outside its folder"):
        mpnet._unpack(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def tiny_mpnet(folder):
    """A 2-layer random MPNet classifier with its own tokenizer (<s> </s> <pad> <unk> <mask>)."""
    import torch
    from transformers import MPNetConfig, MPNetForSequenceClassification, MPNetTokenizerFast

    from distill.data import get_task, load_split

    folder.mkdir(parents=True)
    words = sorted({w for t in load_split(get_task("sst2"), "train", 300)["text"] for w in t.split()})
    (folder / "vocab.txt").write_text("\n".join(["<s>", "<pad>", "</s>", "<unk>", *words, "<mask>"]) + "\n")
    tokenizer = MPNetTokenizerFast.from_pretrained(str(folder), unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                                   eos_token="</s>", sep_token="</s>", cls_token="<s>",
                                                   mask_token="<mask>")
    config = MPNetConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=130, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    MPNetForSequenceClassification(config).save_pretrained(folder)
    tokenizer.model_max_length = 64
    tokenizer.save_pretrained(folder)
    return folder


def test_an_mpnet_style_teacher_labels_and_teaches_a_student(tmp_path):
    from distill.augment import AugmentConfig, build_transfer_set
    from distill.data import get_task
    from distill.label import label_transfer_set
    from distill.train import StudentRunConfig, train_student

    teacher = tiny_mpnet(tmp_path / "mpnet")
    transfer = tmp_path / "transfer.tsv"
    build_transfer_set(get_task("sst2"), transfer, AugmentConfig(n_iter=1, train_limit=40), progress=False)
    stats = label_transfer_set(teacher, transfer, tmp_path / "logits", progress=False)
    logits = np.load(tmp_path / "logits" / "logits.npy")
    assert stats["max_length"] == 64 and logits.shape[1] == 2 and np.isfinite(logits).all()
    m = train_student(get_task("sst2"), transfer, tmp_path / "logits", tmp_path / "s",
                      StudentRunConfig(embedding="random", embed_dim=8, hidden=6, fc=6, batch_size=20, epochs=1.0,
                                       eval_every=5, threads=1), progress=False)
    assert m["n"] == 872 and m["train_rows"] == stats["n"]
