import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from distill.augment import AugmentConfig, build_transfer_set
from distill.data import get_task
from distill.errors import UserError
from distill.student_files import load_student
from distill.train import StudentRunConfig, train_student


@pytest.fixture(scope="module")
def transfer(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "transfer.tsv"
    build_transfer_set(get_task("sst2"), path, AugmentConfig(n_iter=1, train_limit=300), progress=False)
    return path


def tiny(**kw):
    return StudentRunConfig(**{"examples": "original", "alpha": 1.0, "embedding": "random", "embed_dim": 8,
                               "hidden": 6, "fc": 6, "batch_size": 20, "epochs": 2.0, "eval_every": 5,
                               "threads": 1, **kw})


def test_plain_student_trains_without_logits_and_reloads(transfer, tmp_path):
    m = train_student(get_task("sst2"), transfer, None, tmp_path / "s", tiny(), progress=False)
    assert m["train_rows"] == 300 and m["steps"] == 30 and m["n"] == 872
    model, vocab, config = load_student(tmp_path / "s")
    assert config["student"]["hidden"] == 6 and len(vocab) == model.cfg.vocab_size
    assert not (tmp_path / "s" / "state.pt").exists()


def test_distillation_without_logits_is_refused(transfer, tmp_path):
    with pytest.raises(UserError, match="needs teacher logits"):
        train_student(get_task("sst2"), transfer, None, tmp_path / "s", tiny(alpha=0.0), progress=False)


def test_interrupted_training_resumes_to_identical_weights(transfer, tmp_path, monkeypatch):
    task = get_task("sst2")
    train_student(task, transfer, None, tmp_path / "full", tiny(dropout=0.3), progress=False)

    import distill.train as train

    real_step = torch.optim.Adadelta.step
    calls = {"n": 0}

    def step_then_die(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 13:  # between two evaluations (every 5 steps): state.pt holds step 10
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adadelta, "step", step_then_die)
    with pytest.raises(KeyboardInterrupt):
        train.train_student(task, transfer, None, tmp_path / "cut", tiny(dropout=0.3), progress=False)
    assert (tmp_path / "cut" / "state.pt").exists() and not (tmp_path / "cut" / "metrics.json").exists()
    monkeypatch.setattr(torch.optim.Adadelta, "step", real_step)
    train.train_student(task, transfer, None, tmp_path / "cut", tiny(dropout=0.3), progress=False)
    a, b = load_file(tmp_path / "full" / "model.safetensors"), load_file(tmp_path / "cut" / "model.safetensors")
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())


def test_bad_student_options_are_refused():
    with pytest.raises(UserError, match="examples"):
        StudentRunConfig(examples="some")
    with pytest.raises(UserError, match="alpha"):
        StudentRunConfig(alpha=2.0)
    with pytest.raises(UserError, match="embedding"):
        StudentRunConfig(embedding="word2vec")
