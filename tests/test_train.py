import os

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from distill.augment import AugmentConfig, build_transfer_set
from distill.curves import wall_excludes_stops
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


def test_curve_records_examples_time_loss_and_dev_scores(transfer, tmp_path):
    m = train_student(get_task("sst2"), transfer, None, tmp_path / "s", tiny(), progress=False)
    h = m["history"]
    assert [p["step"] for p in h] == [5, 10, 15, 20, 25, 30]
    assert [p["examples_seen"] for p in h] == [100, 200, 300, 400, 500, 600]  # 300 rows, batch 20, 2 epochs
    assert all(set(p) == {"step", "epoch", "examples_seen", "wall_seconds", "wall_clock", "train_loss",
                          "dev_accuracy"} for p in h)
    assert wall_excludes_stops(h)  # measured on the running clock, which leaves out stopped time
    assert all(a["wall_seconds"] <= b["wall_seconds"] for a, b in zip(h, h[1:]))
    assert all(p["train_loss"] > 0 for p in h)
    assert m["stopped"]["reason"] == "budget" and m["stopped"]["examples_seen"] == 600
    best = max(h, key=lambda p: p["dev_accuracy"])
    assert m["accuracy"] == pytest.approx(best["dev_accuracy"]) and m["stopped"]["best_step"] == best["step"]
    # where it trained, for rows whose seeds come from different machines
    assert m["device"] == "cpu" and m["machine"]["cores"] == os.cpu_count() and m["machine"]["gpu"] is None


def test_curve_of_a_pair_task_records_f1(tmp_path):
    from distill.protocol import dev_split
    task = dev_split(get_task("qqp"), tmp_path / "data", seed=0)
    path = tmp_path / "transfer.tsv"
    build_transfer_set(task, path, AugmentConfig(n_iter=1, train_limit=60), progress=False)
    m = train_student(task, path, None, tmp_path / "s", tiny(epochs=1.0, eval_every=2, train_limit=60),
                      progress=False)
    assert all(0.0 <= p["dev_f1"] <= 1.0 for p in m["history"])


def script_dev(monkeypatch, curve: list[float]) -> list:
    """Make training's dev evaluations follow `curve` (the first round(acc·872) dev rows right, the rest wrong);
    returns the list that collects the output bias of every saved checkpoint."""
    import distill.train as train
    points, real = iter(curve), train.predict_logits
    labels = np.asarray(train.load_split(get_task("sst2"), "dev")["label"])

    def scripted(model, encoded, *a, **k):
        if len(encoded[0]) != len(labels):
            return real(model, encoded, *a, **k)
        pred = np.where(np.arange(len(labels)) < round(next(points) * len(labels)), labels, 1 - labels)
        return np.stack([1.0 - pred, pred], 1).astype(np.float32)

    saved, real_save = [], train.save_student

    def save(out, model, *a):
        saved.append(model.state_dict()["out.bias"].clone())
        real_save(out, model, *a)
    monkeypatch.setattr(train, "predict_logits", scripted)
    monkeypatch.setattr(train, "save_student", save)
    return saved


TOY = [0.5, 0.6, 0.7, 0.65, 0.69, 0.9, 0.9, 0.9, 0.9]  # climbs for three evaluations, then falls


def test_early_stopping_on_a_toy_curve_stops_after_the_patience_and_keeps_the_best(transfer, tmp_path,
                                                                                   monkeypatch):
    """Patience 200 examples = two evaluations of 100: training stops at the fifth evaluation and keeps the
    third's weights."""
    import distill.train as train
    saved = script_dev(monkeypatch, TOY)
    m = train.train_student(get_task("sst2"), transfer, None, tmp_path / "s", tiny(epochs=3.0, patience=200),
                            progress=False)
    assert [round(p["dev_accuracy"], 2) for p in m["history"]] == [0.5, 0.6, 0.7, 0.65, 0.69]
    assert m["stopped"] == {"reason": "plateau", "step": 25, "examples_seen": 500, "budget_examples": 900,
                            "patience_examples": 200, "best_step": 15, "best_examples_seen": 300}
    assert len(saved) == 3  # written at the three improvements only: the file holds the third's weights
    torch.testing.assert_close(load_file(tmp_path / "s" / "model.safetensors")["out.bias"], saved[-1])


def test_a_run_killed_after_its_plateau_resumes_to_the_same_decision(transfer, tmp_path, monkeypatch):
    """state.pt written at the evaluation that found the plateau, the process gone before metrics.json: the
    rerun trains no further step and records the same stop."""
    import distill.train as train
    task, cfg = get_task("sst2"), tiny(epochs=3.0, patience=200)
    script_dev(monkeypatch, TOY)

    def die(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(train, "finish_student", die)
    with pytest.raises(KeyboardInterrupt):
        train.train_student(task, transfer, None, tmp_path / "s", cfg, progress=False)
    monkeypatch.undo()
    steps = {"n": 0}
    real_step = torch.optim.Adadelta.step

    def count(self, *a, **k):
        steps["n"] += 1
        return real_step(self, *a, **k)
    monkeypatch.setattr(torch.optim.Adadelta, "step", count)
    m = train.train_student(task, transfer, None, tmp_path / "s", cfg, progress=False)
    assert steps["n"] == 0
    assert m["stopped"]["reason"] == "plateau" and m["stopped"]["step"] == 25 and m["stopped"]["best_step"] == 15


def test_min_confidence_leaves_out_the_augmented_rows_the_teacher_is_unsure_of(transfer, tmp_path):
    from distill.transfer_set import read_transfer_set

    gold = np.asarray(read_transfer_set(transfer).labels)
    aug = np.flatnonzero(gold < 0)
    logits = np.tile(np.float32([[5.0, -5.0]]), (len(gold), 1))  # top-class probability ≈ 1.0
    logits[aug[::2]] = [0.1, 0.0]  # every other augmented row: ≈ 0.52
    (tmp_path / "logits").mkdir()
    np.save(tmp_path / "logits" / "logits.npy", logits)
    task = get_task("sst2")
    m = train_student(task, transfer, tmp_path / "logits", tmp_path / "s",
                      tiny(examples="all", alpha=0.0, min_confidence=0.9, epochs=0.5), progress=False)
    assert m["train_rows"] == len(gold) - len(aug[::2])  # originals all kept, unsure augmented rows out
    assert "min_confidence" not in tiny().identity()  # records made before the setting existed still match
    with pytest.raises(UserError, match="min_confidence must be in"):
        tiny(min_confidence=1.0)


def test_balance_augmented_gives_the_augmented_rows_the_originals_class_shares():
    from distill.row_selection import balance_augmented

    # 40 originals, a quarter positive; 200 augmented rows the teacher calls positive only 10 % of the time
    gold = np.r_[np.repeat([1, 0], [10, 30]), np.full(200, -1)]
    teacher = np.r_[gold[:40], np.repeat([1, 0], [20, 180])]
    rows = np.arange(len(gold))
    kept = balance_augmented(rows, gold, teacher, 2, seed=3)
    aug = kept[gold[kept] < 0]
    assert set(range(40)) <= set(kept) and np.all(np.diff(kept) > 0)  # originals all kept, order kept
    # every positive augmented row stays (the scarce class), negatives cut to 3 per positive: 20 + 60
    assert (teacher[aug] == 1).sum() == 20 and (teacher[aug] == 0).sum() == 60
    assert np.array_equal(kept, balance_augmented(rows, gold, teacher, 2, seed=3))  # seeded
    assert not np.array_equal(kept, balance_augmented(rows, gold, teacher, 2, seed=4))
    # its size control: as many augmented rows (80), drawn whatever their class, so about 10 % stay positive
    control = balance_augmented(rows, gold, teacher, 2, seed=3, size_only=True)
    assert set(range(40)) <= set(control) and np.all(np.diff(control) > 0)
    assert (gold[control] < 0).sum() == 80 and (teacher[control[gold[control] < 0]] == 1).sum() < 20


def test_balance_augmented_trains_on_the_balanced_rows_and_needs_the_augmented_set(transfer, tmp_path):
    from distill.row_selection import balance_augmented
    from distill.transfer_set import read_transfer_set

    gold = np.asarray(read_transfer_set(transfer).labels)
    logits = np.zeros((len(gold), 2), dtype=np.float32)
    logits[np.arange(len(gold)), np.where(gold >= 0, gold, 0)] = 3.0  # augmented rows all class 0
    logits[np.flatnonzero(gold < 0)[:3], 1] = 6.0  # but three
    (tmp_path / "logits").mkdir()
    np.save(tmp_path / "logits" / "logits.npy", logits)
    m = train_student(get_task("sst2"), transfer, tmp_path / "logits", tmp_path / "s",
                      tiny(examples="all", alpha=0.0, balance_augmented=True, epochs=0.5), progress=False)
    expected = balance_augmented(np.arange(len(gold)), gold, logits.argmax(1), 2, seed=0)
    assert m["train_rows"] == len(expected) < len(gold)
    control = train_student(get_task("sst2"), transfer, tmp_path / "logits", tmp_path / "c",
                            tiny(examples="all", alpha=0.0, balance_augmented=True, balance_size_only=True,
                                 epochs=0.5), progress=False)
    assert control["train_rows"] == len(expected)  # as many rows, other ones
    assert not {"balance_augmented", "balance_size_only"} & set(tiny().identity())  # older records still match
    with pytest.raises(UserError, match="needs examples = 'all'"):
        tiny(examples="original", balance_augmented=True)
    with pytest.raises(UserError, match="size control: set balance_augmented = true"):
        tiny(examples="all", balance_size_only=True)
