"""Student families (distill/families/): pinned shapes and parameter counts, padding invariance, training,
export parity on the fast targets and a bench pass — each parametrised over the registry, so a newly
registered family is exercised by all of them, and fails the completeness test until its counts are pinned."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from distill.data import get_task, load_split
from distill.errors import UserError
from distill.families import FAMILIES
from distill.student_files import load_student, save_student
from distill.students import StudentConfig, build_student
from distill.vocab import Vocab
from tests.tiny import TINY_GATE_ARGS

ROOT = Path(__file__).resolve().parent.parent

# family → (options, non-embedding params single, pair) at vocab 50, embed 8, fc 7, 2 labels:
OPTIONS = {"bilstm": {}, "cnn": {"filters": 4, "widths": [2, 3]}, "static": {},
           "tiny-transformer": {"layers": 2, "heads": 2, "intermediate": 16, "max_positions": 32}}
PINNED = {
    # 2 LSTMs × (4·6·(8+6) + 2·4·6) = 768; FC (2·6 → 7) 91 | (8·6 → 7) 343; out 16
    "bilstm": (875, 1127),
    # convs 4·8·2+4 + 4·8·3+4 = 168; FC (8 → 7) 63 | (32 → 7) 231; out 16
    "cnn": (247, 415),
    # no encoder weights; FC (8 → 7) 63 | (32 → 7) 231; out 16
    "static": (79, 247),
    # 2 BERT layers of width 8 (q,k,v 216, attention out + LN 88, FF 144 + 152) = 1200; positions 32·8 and
    # LayerNorm 16 = 272; FC (8 → 7) 63 | (32 → 7) 231; out 16
    "tiny-transformer": (1551, 1719),
}


def _config(family: str, pair: bool = False, vocab_size: int = 50) -> StudentConfig:
    sizes = {"hidden": 6} if family == "bilstm" else {}
    return StudentConfig(family=family, options=OPTIONS[family], vocab_size=vocab_size, embed_dim=8, fc=7,
                         pair=pair, **sizes)


def test_every_registered_family_has_pinned_counts():
    assert set(FAMILIES) == set(PINNED) == set(OPTIONS), "pin the new family's parameter counts and options here"


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("pair", [False, True])
def test_shapes_and_pinned_parameter_counts(family, pair):
    model = build_student(_config(family, pair))
    assert model.num_params(non_embedding=True) == PINNED[family][pair]
    assert model.num_params(non_embedding=False) == PINNED[family][pair] + 50 * 8
    ids, lengths = torch.randint(1, 50, (3, 9)), torch.tensor([9, 4, 1])
    logits = model(ids, lengths, ids, lengths) if pair else model(ids, lengths)
    assert logits.shape == (3, 2) and torch.isfinite(logits).all()


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("pair", [False, True])
def test_a_sentence_gets_the_same_logits_alone_and_in_a_padded_batch(family, pair):
    torch.manual_seed(0)
    model = build_student(_config(family, pair)).eval()
    short, other = torch.randint(3, 50, (1, 4)), torch.randint(3, 50, (1, 11))
    batch = torch.zeros(2, 11, dtype=torch.long)
    batch[0, :4], batch[1] = short[0], other[0]
    lengths, alone_len = torch.tensor([4, 11]), torch.tensor([4])
    with torch.no_grad():
        if pair:
            alone = model(short, alone_len, short, alone_len)
            padded = model(batch, lengths, batch, lengths)[:1]
        else:
            alone, padded = model(short, alone_len), model(batch, lengths)[:1]
    torch.testing.assert_close(alone, padded, atol=1e-5, rtol=1e-5)


def test_family_options_are_checked_and_unused_common_sizes_refused():
    with pytest.raises(UserError, match="family cnn does not use hidden"):
        StudentConfig(family="cnn", vocab_size=5, hidden=300).family_options()
    with pytest.raises(UserError, match="family cnn options: unknown key 'kernel'"):
        StudentConfig(family="cnn", vocab_size=5, options={"kernel": 3}).family_options()
    with pytest.raises(UserError, match="filters and every width must be positive"):
        StudentConfig(family="cnn", vocab_size=5, options={"filters": 0}).family_options()
    with pytest.raises(UserError, match="unknown student family 'gru'; registered: bilstm, cnn, static, tiny-"):
        build_student(StudentConfig(family="gru", vocab_size=5))
    with pytest.raises(UserError, match="weighting must be one of none, frequency"):
        StudentConfig(family="static", vocab_size=5, options={"weighting": "idf"}).family_options()


def test_bilstm_records_are_unchanged_by_the_family_fields():
    """A BiLSTM's record settings have no family keys, so students trained before families existed match."""
    from distill.train import StudentRunConfig

    assert "family" not in StudentRunConfig().identity() and "options" not in StudentRunConfig().identity()
    assert StudentRunConfig(family="cnn", hidden=150).identity()["family"] == "cnn"


def test_static_frequency_weights_follow_token_counts():
    model = build_student(StudentConfig(family="static", options={"weighting": "frequency"}, vocab_size=4,
                                        embed_dim=2))
    model.fit_statistics(torch.tensor([0, 1, 99, 900]))
    w = model.token_weight
    assert w[1] > w[2] > w[3] and w[0] == pytest.approx(1.0)  # rarer tokens weigh more (SIF)
    plain = build_student(StudentConfig(family="static", vocab_size=4, embed_dim=2))
    plain.fit_statistics(torch.tensor([0, 1, 99, 900]))
    assert torch.equal(plain.token_weight, torch.ones(4))


@pytest.fixture(scope="module")
def transfer(tmp_path_factory):
    from distill.augment import AugmentConfig, build_transfer_set

    path = tmp_path_factory.mktemp("fam") / "transfer.tsv"
    build_transfer_set(get_task("sst2"), path, AugmentConfig(n_iter=1, train_limit=200), progress=False)
    return path


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_trains_and_reloads(family, transfer, tmp_path, tiny_teacher):
    from distill.train import StudentRunConfig, train_student

    sizes = {"hidden": 6} if family == "bilstm" else {}
    # the tiny transformer starts from the teacher's layers, so it reads the teacher's WordPiece vectors
    embedding = {"embedding": "wordpiece"} if family == "tiny-transformer" else {"embedding": "random",
                                                                                "embed_dim": 8}
    options = {"layers": 1} if family == "tiny-transformer" else OPTIONS[family]
    cfg = StudentRunConfig(family=family, options=options, examples="original", alpha=1.0, fc=6, batch_size=20,
                           epochs=1.0, eval_every=5, threads=1, **embedding, **sizes)
    metrics = train_student(get_task("sst2"), transfer, None, tmp_path / "s", cfg, teacher=tiny_teacher,
                            progress=False)
    assert metrics["steps"] == 10 and 0.0 <= metrics["accuracy"] <= 1.0
    model, _, config = load_student(tmp_path / "s")
    assert config["student"]["family"] == family and type(model).__name__.lower().startswith(family[:3])
    if family == "tiny-transformer":  # sizes read from the teacher are saved, so it rebuilds without it
        assert config["student"]["options"] == {"layers": 1, "heads": 2, "intermediate": 64, "max_positions": 128}


def test_tiny_transformer_starts_from_the_teachers_first_layers(tiny_teacher):
    from transformers import AutoModel

    from distill.families.tiny_transformer import prepare

    options = prepare({"layers": 1}, tiny_teacher)
    student = build_student(StudentConfig(family="tiny-transformer", options=options, vocab_size=10, embed_dim=32))
    info = student.init_from_teacher(tiny_teacher)
    teacher = AutoModel.from_pretrained(str(tiny_teacher))
    assert info == {"from_teacher_layers": 1, "teacher_layers": 2}
    theirs = teacher.encoder.layer[0].state_dict()
    for k, mine in student.layers[0].state_dict().items():
        assert torch.equal(mine, theirs[k]), k
    narrow = build_student(StudentConfig(family="tiny-transformer", options=options, vocab_size=10, embed_dim=8))
    with pytest.raises(UserError, match="train it with embedding = 'wordpiece'"):
        narrow.init_from_teacher(tiny_teacher)


def test_teacher_pca_vectors_come_from_the_teachers_outputs(tiny_teacher):
    from distill.embeddings import initial_vectors
    from distill.vocab import load_wordpiece

    texts = list(load_split(get_task("sst2"), "train", 50)["text"])
    vocab = Vocab.build(texts, "wordpiece", load_wordpiece(tiny_teacher))
    vectors, report = initial_vectors(vocab, "teacher-pca", 0, 16, tiny_teacher)
    assert vectors.shape == (len(vocab), 16) and report["pca_components"] == 16 and report["teacher_width"] == 32
    assert torch.all(vectors[0] == 0) and 0 < report["pca_explained_variance"] <= 1
    # principal components: uncorrelated columns of decreasing variance
    var = vectors[1:].var(0)
    assert torch.all(var[:-1] >= var[1:] - 1e-6)


@pytest.fixture(scope="module")
def family_run(tiny_teacher, tmp_path_factory):
    """A tiny SST-2 run with one random word-level student per registered family, exported to the fast
    targets (and the folded ones, which only a foldable family can take)."""
    from distill_bench import main

    run = tmp_path_factory.mktemp("family-run") / "fam"
    task = get_task("sst2")
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"run_id": "fam", "command": "test", "run": {"task": "sst2"}}))
    import shutil

    shutil.copytree(tiny_teacher, run / "teacher" / "model")
    vocab = Vocab.build(list(load_split(task, "train", 400)["text"]), "word")
    for family in FAMILIES:
        torch.manual_seed(0)
        student = build_student(_config(family, vocab_size=len(vocab))).eval()
        folder = run / "students" / f"{family}-s0"
        save_student(folder, student, vocab, {"task": "sst2", "label_names": list(task.label_names),
                                              "max_length": 8})
        (folder / "metrics.json").write_text(json.dumps({"accuracy": 0.5}))
    assert main(["export", str(run), "--models", ",".join(f"{f}-s0" for f in FAMILIES), "--targets",
                 "torchscript,onnx,onnx-int8,onnx-folded", *TINY_GATE_ARGS]) == 0
    return run


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_exports_with_parity_on_the_fast_targets(family, family_run):
    outcomes = {(o["model"], o["target"]): o for o in
                json.loads((family_run / "export" / "export.json").read_text())["outcomes"]}
    for target in ("torchscript", "onnx", "onnx-int8"):
        o = outcomes[(f"{family}-s0", target)]
        assert o["status"] == "ok", o
        manifest = json.loads(Path(o["manifest"]).read_text())
        if target != "onnx-int8":
            assert max(manifest["parity_max_abs"].values()) < 1e-4
    folded = outcomes[(f"{family}-s0", "onnx-folded")]
    if FAMILIES[family].foldable:
        assert folded["status"] == "ok"
    else:  # a target that cannot hold the family says why
        assert folded["status"] == "unavailable" and f"student family {family} has no embedding" in folded["error"]


def test_each_family_is_benchmarked(family_run, tmp_path):
    args = [sys.executable, "-m", "pytest", "bench", "-p", "no:cacheprovider", "--run-dir", str(family_run),
            "--results-root", str(tmp_path), "--run-id", "fam", "--benchmark-disable", "--threads", "1",
            "--batch-sizes", "1,4", "--references", "none", "--seq-len", "6", "--scenarios", "single-stream",
            "--loadgen-min-seconds", "0.2", "--loadgen-min-queries", "10", "--interleave-blocks", "0",
            "--targets", "torch,onnx", "--dev-limit", "20", "-k", "latency or loadgen or e2e or accuracy"]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((tmp_path / "fam" / "summary.json").read_text())
    for family in FAMILIES:
        for fmt in ("torch", "onnx"):
            art = f"{family}-s0/{fmt}"
            scenarios = {r["scenario"] for r in summary["records"] if r["artifact"] == art}
            assert {"single-stream", "offline", "loadgen-single-stream", "end-to-end"} <= scenarios, (art, scenarios)
            assert summary["artifacts"][art]["accuracy"] is not None
    # a recurrence limit only for the families that have a recurrence
    limits = {a.split(":")[0] for a in summary["artifacts"] if ":recurrence" in a}
    assert limits == {f"{f}-s0" for f, fam in FAMILIES.items() if fam.recurrent}


def test_vectors_from_names_the_folder_a_wordpiece_student_reads(tmp_path):
    from distill.hf import default_teacher_path
    from distill.train import StudentRunConfig, vectors_source

    assert vectors_source(StudentRunConfig(), "teacher/model") == "teacher/model"
    assert vectors_source(StudentRunConfig(vectors_from="minilm"), "mpnet/model") == default_teacher_path()
    assert vectors_source(StudentRunConfig(vectors_from=str(tmp_path)), None) == str(tmp_path)
    assert "vectors_from" not in StudentRunConfig().identity()  # records from before the setting still match
    with pytest.raises(UserError, match="vectors_from: /no/such is not a folder"):
        StudentRunConfig(vectors_from="/no/such")


def test_family_options_on_the_command_line_are_json():
    import argparse

    from distill.settings import add_flags, given_flags
    from distill.train import StudentRunConfig

    parser = argparse.ArgumentParser()
    add_flags(parser, StudentRunConfig)
    got = given_flags(parser.parse_args(["--family", "cnn", "--options", '{"filters": 4}']), StudentRunConfig)
    assert got == {"family": "cnn", "options": {"filters": 4}}
    with pytest.raises(UserError, match="--options: expected a JSON object"):
        given_flags(parser.parse_args(["--options", "filters=4"]), StudentRunConfig)


@pytest.mark.parametrize(("model", "activations"), [("static-s0", "auto"), ("cnn-s0", "dynamic")])
def test_executorch_artifacts_answer_with_the_batch_they_were_given(family_run, tmp_path, model, activations):
    # Regressions. The static family's int8 .pte returned (max_batch, 2) for one sentence, so the shape gate
    # rejected it; its pooling is now one matmul (distill/families/static.py). The cnn's lowering bounds the
    # batch at 15 rows whatever --max-batch asks, and the runtime refused a larger batch; the manifest now
    # records the bound the file really has and the runner slices (export/targets/executorch_pte.py).
    # Validation checks batch 1 and a padded batch; 20 rows check the batch bound as well. The int8 activation
    # scheme: "auto" builds both and keeps the one agreeing more on the calibration sentences, a name builds it.
    pytest.importorskip("executorch")
    from distill_bench import main
    from export.manifest import read_manifest
    from export.registry import all_targets

    out = tmp_path / "et"
    assert main(["export", str(family_run), "--models", model, "--targets", "executorch,executorch-int8",
                 "--buckets", "8", "--max-batch", "32", "--executorch-int8-activations", activations,
                 "--out", str(out), *TINY_GATE_ARGS]) == 0
    for outcome in json.loads((out / "export.json").read_text())["outcomes"]:
        assert outcome["status"] == "ok", outcome
        folder, manifest = read_manifest(outcome["manifest"])
        assert 2 <= manifest["info"]["max_batch"] <= 32
        run = all_targets()[outcome["target"]].load(folder, manifest)
        ones = np.ones((20, 8), dtype=np.int64)  # 20 full-length sentences: ids and mask alike
        assert run(ones, ones).shape == (20, 2)
        if outcome["target"] == "executorch-int8":
            info = manifest["info"]
            assert manifest["options"]["et_int8_activations"] == activations
            assert not list(folder.glob("activations-*"))  # the scheme not kept is gone
            if activations == "auto":
                agree = info["calibration_agreement"]
                assert set(agree) == {"static", "dynamic"} and all(0 <= v <= 1 for v in agree.values())
                assert info["activations"] == ("dynamic" if agree["dynamic"] > agree["static"] else "static")
                assert f"static {agree['static']:.4f}, dynamic {agree['dynamic']:.4f}" in info["activations_chosen_by"]
            else:
                assert info["activations"] == activations and "calibration_agreement" not in info
        else:
            assert "et_int8_activations" not in manifest["options"]  # fp32 does not read it
