"""A teacher fine-tuned elsewhere (distill/teacher_stage.py): checked, its labels put in the task's order,
evaluated and recorded like a trained teacher, then labelled from like one; bad folders refused in one line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from distill.data import get_task, load_split
from distill.errors import UserError
from distill.hf import load_classifier, teacher_logits
from distill.teacher import TeacherConfig
from distill.teacher_stage import run_teacher

SST2 = get_task("sst2")


def _named(tiny_teacher, tmp_path, names: list[str]):
    """A copy of the tiny teacher whose config names its labels `names`."""
    folder = tmp_path / "named"
    shutil.copytree(tiny_teacher, folder)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = dict(enumerate(names))
    config["label2id"] = {n: i for i, n in enumerate(names)}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _dev_logits(folder, n=32):
    tokenizer, model = load_classifier(folder)
    return teacher_logits(model, tokenizer, list(load_split(SST2, "dev", n)["text"]), max_length=64)


def test_adopted_teacher_is_evaluated_recorded_and_not_trained(tiny_teacher, tmp_path):
    m = run_teacher(SST2, tmp_path / "t", TeacherConfig(finetuned=str(tiny_teacher), max_length=64))
    assert m["finetuned"] and m["n_dev"] == 872 and m["train_seconds"] == 0.0 and "LABEL_0" in m["labels"]
    np.testing.assert_array_equal(_dev_logits(tmp_path / "t" / "model"), _dev_logits(tiny_teacher))
    record = json.loads((tmp_path / "t" / "record.json").read_text())
    assert record["complete"] and record["inputs"]["finetuned_model"] and "train" not in record["inputs"]
    tokenizer, _ = load_classifier(tmp_path / "t" / "model")
    assert tokenizer.model_max_length == 64  # the length label and export read it at
    again = run_teacher(SST2, tmp_path / "t", TeacherConfig(finetuned=str(tiny_teacher), max_length=64))
    assert again == m  # the same folder: skipped


def test_label_names_must_match_or_be_mapped_and_the_head_follows_the_map(tiny_teacher, tmp_path):
    folder = _named(tiny_teacher, tmp_path, ["POSITIVE", "NEGATIVE"])
    with pytest.raises(UserError, match=r"label names \(POSITIVE, NEGATIVE\) differ from task sst2's \(negative, "
                                        r"positive\); map them with label_map"):
        run_teacher(SST2, tmp_path / "a", TeacherConfig(finetuned=str(folder)))
    with pytest.raises(UserError, match="must map each of the folder's labels"):
        run_teacher(SST2, tmp_path / "b", TeacherConfig(finetuned=str(folder), label_map="POSITIVE=positive"))
    m = run_teacher(SST2, tmp_path / "c", TeacherConfig(finetuned=str(folder), max_length=64,
                                                        label_map="POSITIVE=positive,NEGATIVE=negative"))
    assert m["labels"] == "label_map POSITIVE=positive,NEGATIVE=negative"
    # task label 0 is the folder's row 1 (NEGATIVE) and label 1 its row 0 (POSITIVE): the columns swap
    np.testing.assert_allclose(_dev_logits(tmp_path / "c" / "model"), _dev_logits(folder)[:, ::-1], atol=1e-6)


def test_a_head_with_another_label_count_is_refused(tiny_teacher, tmp_path):
    folder = _named(tiny_teacher, tmp_path, ["a", "b", "c"])
    config = json.loads((folder / "config.json").read_text())
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(**{k: v for k, v in config.items() if k not in ("architectures",)},
                                             num_labels=3)).save_pretrained(folder)
    with pytest.raises(UserError, match=r"head has 3 labels \(a, b, c\); task 'sst2' has 2 \(negative, positive\)"):
        run_teacher(SST2, tmp_path / "t", TeacherConfig(finetuned=str(folder)))


def test_missing_tokenizer_and_pickle_only_folders_are_refused(tiny_teacher, tmp_path):
    no_tok = tmp_path / "no-tok"
    shutil.copytree(tiny_teacher, no_tok)
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (no_tok / f).unlink(missing_ok=True)
    with pytest.raises(UserError, match="tokenizer"):
        run_teacher(SST2, tmp_path / "a", TeacherConfig(finetuned=str(no_tok)))
    pickled = tmp_path / "bin-only"
    shutil.copytree(tiny_teacher, pickled)
    for f in pickled.glob("*.safetensors"):
        f.rename(f.with_suffix(".bin"))
    with pytest.raises(UserError, match=r"no \*\.safetensors weights; pickle checkpoints \(\*\.bin\) are not loaded"):
        run_teacher(SST2, tmp_path / "b", TeacherConfig(finetuned=str(pickled)))
    with pytest.raises(UserError, match="label_map maps a finetuned folder's labels"):
        TeacherConfig(label_map="a=0")


def test_a_pair_teacher_is_adopted_and_evaluated_on_its_dev_split(tiny_teacher, tmp_path):
    from distill.protocol import dev_split
    qqp = dev_split(get_task("qqp"), tmp_path / "data")
    m = run_teacher(qqp, tmp_path / "t", TeacherConfig(finetuned=str(tiny_teacher), max_length=64))
    assert m["n_dev"] == 8086 and "f1" in m


def test_a_base_encoders_fresh_head_is_drawn_from_the_teachers_seed(tiny_teacher, tmp_path):
    """The head a base encoder gets for the task is drawn before the Trainer seeds anything: it must follow the
    teacher's seed, not whatever the process drew before, or one config trains different teachers run to run."""
    from transformers import AutoTokenizer, BertForSequenceClassification

    base = tmp_path / "base"
    BertForSequenceClassification.from_pretrained(tiny_teacher).bert.save_pretrained(base)  # no classifier.*
    AutoTokenizer.from_pretrained(tiny_teacher).save_pretrained(base)

    def head(seed: int, noise: int) -> torch.Tensor:
        torch.manual_seed(noise)  # another process state before loading
        torch.rand(7)
        return load_classifier(base, SST2, seed)[1].classifier.weight.detach().clone()

    torch.testing.assert_close(head(0, noise=1), head(0, noise=2), rtol=0, atol=0)
    assert not torch.equal(head(0, noise=1), head(1, noise=1))
