"""The whole pipeline on a tiny random BERT and a few hundred SST-2 sentences."""

import json

import numpy as np
import pytest
from pipeline_config import tiny_config

from distill.errors import UserError
from distill.pipeline import run_pipeline

STUDENTS = """
[student_defaults]
embedding = "random"
embed_dim = 16
hidden = 8
fc = 8
batch_size = 25
eval_every = 10

[students.bilstm-plain]
examples = "original"
alpha = 1.0
epochs = 1.0

[students.bilstm-kd-aug]
examples = "all"
epochs = 1.0
seeds = [0, 1]

[students.emb-wordpiece]
group = "embedding"
examples = "all"
embedding = "wordpiece"
epochs = 1.0
"""


def config(teacher, jobs: int = 1) -> str:
    return tiny_config("sst2", teacher, STUDENTS, jobs)


@pytest.fixture(scope="module")
def run(tiny_teacher, tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    cfg = root / "tiny.toml"
    cfg.write_text(config(tiny_teacher))
    ablation = run_pipeline(config_path=cfg, run_id="tiny", runs=root / "runs")
    return root, cfg, ablation


def test_pipeline_writes_every_stage(run):
    root, _, ablation = run
    d = root / "runs" / "tiny"
    for path in ("config.json", "env.json", "teacher/model/model.safetensors", "teacher/metrics.json",
                 "transfer.tsv", "transfer.json", "logits/logits.npy", "logits/label.json",
                 "students/bilstm-plain-s0/model.safetensors", "ablation.json", "ablation.md"):
        assert (d / path).exists(), path
    logits = np.load(d / "logits" / "logits.npy")
    rows = (d / "transfer.tsv").read_text().count("\n") - 1
    assert logits.shape == (rows, 2) and np.isfinite(logits).all()
    assert not list((d / "logits").glob("chunk_*"))  # merged and cleaned up
    names = [r["name"] for r in ablation["rows"]]
    assert names == ["teacher", "bilstm-plain", "bilstm-kd-aug", "bilstm-kd-aug", "emb-wordpiece"]
    for r in ablation["rows"]:
        assert 0.0 <= r["ci95"][0] <= r["accuracy"] <= r["ci95"][1] <= 1.0 and r["n"] == 872
    env = json.loads((d / "env.json").read_text())
    assert env["libraries"]["torch"] and "cpu" in env
    stages = json.loads((d / "stages.json").read_text())
    assert set(stages["stages"]) == {"teacher", "augment", "label", "students"} and stages["runs"] == 1
    assert all(v > 0 for v in stages["stages"].values())
    assert stages["total_s"] == pytest.approx(sum(stages["stages"].values()), abs=0.2)


def test_rerun_skips_finished_stages(run, capsys):
    root, cfg, _ = run
    before = (root / "runs" / "tiny" / "students" / "bilstm-plain-s0" / "model.safetensors").stat().st_mtime_ns
    times = json.loads((root / "runs" / "tiny" / "stages.json").read_text())
    run_pipeline(config_path=cfg, run_id="tiny", runs=root / "runs")
    again = json.loads((root / "runs" / "tiny" / "stages.json").read_text())
    assert again["runs"] == times["runs"] + 1 and again["total_s"] >= times["total_s"]  # cumulative
    after = (root / "runs" / "tiny" / "students" / "bilstm-plain-s0" / "model.safetensors").stat().st_mtime_ns
    assert before == after
    assert "exists, skipped" in capsys.readouterr().out


def test_changed_settings_for_existing_output_are_refused(run, tiny_teacher):
    root, cfg, _ = run
    changed = root / "changed.toml"
    changed.write_text(config(tiny_teacher).replace("train_limit = 160\nbatch_size",
                                                                          "train_limit = 150\nbatch_size"))
    before = {p: p.read_bytes() for p in (root / "runs" / "tiny").rglob("*") if p.is_file()}
    with pytest.raises(UserError, match="(?s)made with other settings.*train_limit: 160 → 150"):
        run_pipeline(config_path=changed, run_id="tiny", runs=root / "runs")
    after = {p: p.read_bytes() for p in (root / "runs" / "tiny").rglob("*") if p.is_file()}
    assert after == before  # the refused run left the folder as it was, config.json included


def test_a_second_writer_of_the_same_run_folder_is_refused(run):
    from distill.io import exclusive

    root, cfg, _ = run
    with exclusive(root / "runs" / "tiny"):  # as if another pipeline were writing this folder now
        with pytest.raises(UserError, match="in use by distill-bench pid"):
            run_pipeline(config_path=cfg, run_id="tiny", runs=root / "runs")
    run_pipeline(config_path=cfg, run_id="tiny", runs=root / "runs")  # free again once the other one ends


def test_label_resumes_after_interruption_with_identical_logits(run, tmp_path, monkeypatch):
    import distill.label as label

    root, _, _ = run
    d = root / "runs" / "tiny"
    calls = {"n": 0}
    real = label.teacher_logits

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:  # 1 batch timed for the estimate, 4 for chunk 0, then midway through chunk 1
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C in the middle of a chunk
        return real(*args, **kwargs)

    monkeypatch.setattr(label, "teacher_logits", failing)
    with pytest.raises(KeyboardInterrupt):
        label.label_transfer_set(d / "teacher" / "model", d / "transfer.tsv", tmp_path / "logits",
                                 batch_size=32, chunk_size=100, progress=False)
    assert list((tmp_path / "logits").glob("chunk_*.npy")) and not (tmp_path / "logits" / "logits.npy").exists()
    monkeypatch.setattr(label, "teacher_logits", real)
    stats = label.label_transfer_set(d / "teacher" / "model", d / "transfer.tsv", tmp_path / "logits",
                                     batch_size=32, chunk_size=100, progress=False)
    assert stats["labelled_this_process"] < stats["n"]  # resumed, did not start over
    np.testing.assert_array_equal(np.load(tmp_path / "logits" / "logits.npy"), np.load(d / "logits" / "logits.npy"))


def test_shared_student_config_is_trained_once(tiny_teacher, tmp_path):
    import tomllib

    from distill.data import get_task
    from distill.run_config import student_jobs

    raw = tomllib.loads(config(tiny_teacher) + """
[students.emb-random]
group = "embedding"
examples = "all"
epochs = 1.0
""")
    folders = {(j["name"], j["seed"]): j["folder"] for j in student_jobs(raw, get_task("sst2"))}
    assert folders[("emb-random", 0)] == folders[("bilstm-kd-aug", 0)] == "bilstm-kd-aug-s0"


def test_only_takes_rows_or_single_seeds_in_the_order_given(tiny_teacher):
    import tomllib

    from distill.data import get_task
    from distill.pipeline import _select
    from distill.run_config import student_jobs

    specs = student_jobs(tomllib.loads(config(tiny_teacher)), get_task("sst2"))
    picked = _select(specs, ["bilstm-kd-aug-s1", "bilstm-plain"])
    assert [(j["name"], j["seed"]) for j in picked] == [("bilstm-kd-aug", 1), ("bilstm-plain", 0)]
    assert [j["seed"] for j in _select(specs, ["bilstm-kd-aug"])] == [0, 1]
    with pytest.raises(UserError, match=r"no student row or seed \['bilstm-kd-aug-s7'\].*a seed: ROW-sN"):
        _select(specs, ["bilstm-kd-aug-s7"])


def test_a_smoke_run_ends_by_saying_what_it_showed(run):
    """The quick preset ([run] smoke = true) is judged by whether every stage ran: its table ends with that, not
    with the full recipe's accuracy targets marked "not met"."""
    from distill.ablation_text import render_markdown

    _, _, ablation = run
    assert "## Targets" in render_markdown(ablation)  # a full run checks its targets
    md = render_markdown({**ablation, "smoke": True})
    assert "## Targets" not in md and "not met" not in md
    last = md.rstrip().split("## ")[-1]
    assert last.startswith("What this run showed") and "smoke run of the whole pipeline" in last
    assert f"{len([s for s in ablation['summary'] if s['name'] != 'teacher'])} student row(s)" in last
    assert f"all {ablation['n']:,} dev examples" in last


def test_students_retrain_from_a_results_folders_committed_logits(run, tiny_teacher, tmp_path, monkeypatch):
    """A published folder keeps logits that took long to make; a run with `[label] from_results` remakes the
    transfer set, checks it is the one they label, and trains students without the teacher's weights."""
    import distill.ablation as ablation

    root, _, _ = run
    d = root / "runs" / "tiny"
    monkeypatch.setattr(ablation, "COMMIT_LOGITS_AFTER_S", 0.0)  # the tiny run took seconds, not 30 min
    ablation.publish(d, tmp_path / "published")
    weights = json.loads((tmp_path / "published" / "weights.json").read_text())
    assert weights["logits"]["committed"] and (tmp_path / "published" / "logits" / "logits.npy").is_file()
    kd_aug = STUDENTS.split("[students.emb-wordpiece]")[0]  # random embeddings: no teacher folder read
    adopt = f'\n[label]\nfrom_results = "{tmp_path / "published"}"\n'
    cfg = tmp_path / "adopt.toml"
    cfg.write_text(tiny_config("sst2", "no-such-teacher-folder", kd_aug).replace("\n[label]\n", adopt, 1))
    ablation_new = run_pipeline(config_path=cfg, run_id="fresh", runs=tmp_path / "runs")
    fresh = tmp_path / "runs" / "fresh"
    assert not (fresh / "teacher" / "model").exists()
    np.testing.assert_array_equal(np.load(fresh / "logits" / "logits.npy"), np.load(d / "logits" / "logits.npy"))
    old, new = (json.loads((p / "students" / "bilstm-kd-aug-s0" / "record.json").read_text()) for p in (d, fresh))
    assert all(new["inputs"][k] == old["inputs"][k] for k in ("logits", "transfer"))
    teacher = json.loads((d / "teacher" / "metrics.json").read_text())
    assert ablation_new["rows"][0]["accuracy"] == teacher["dev_accuracy"]
    # copied byte for byte (the records name the source): publishing this run back into the folder it came from
    # leaves the folder's files as they were, so the next run from it is not refused as made from other inputs
    for name in ("teacher/metrics.json", "logits/label.json", "logits/logits.npy"):
        assert (fresh / name).read_bytes() == (tmp_path / "published" / name).read_bytes(), name
    # a fraction of them: the rows a labelling at that fraction would have labelled, the others NaN; said so in
    # the table, and not committed again when published (remade from the source in seconds)
    from distill.transfer_set import label_subset, read_transfer_set
    cfg.write_text(cfg.read_text().replace(adopt, adopt + "fraction = 0.5\nsubset_seed = 3\n", 1))
    half = run_pipeline(config_path=cfg, run_id="half", runs=tmp_path / "runs")
    sub = tmp_path / "runs" / "half"
    keep = label_subset(read_transfer_set(sub / "transfer.tsv"), 0.5, 3)
    got, full = np.load(sub / "logits" / "logits.npy"), np.load(d / "logits" / "logits.npy")
    assert 0 < keep.sum() < len(keep) and np.isnan(got[~keep]).all()
    np.testing.assert_array_equal(got[keep], full[keep])
    label = json.loads((sub / "logits" / "label.json").read_text())
    assert (label["fraction"], label["subset_seed"], label["labelled_rows"]) == (0.5, 3, int(keep.sum()))
    kd = next(r for r in half["rows"] if r["name"] == "bilstm-kd-aug")
    assert kd["train_rows"] == int(keep.sum())
    assert f"taken from the logits {tmp_path / 'published'} publishes" in (sub / "ablation.md").read_text()
    ablation.publish(sub, tmp_path / "published-half")
    assert not json.loads((tmp_path / "published-half" / "weights.json").read_text())["logits"]["committed"]
    cfg.write_text(cfg.read_text().replace("fraction = 0.5\nsubset_seed = 3\n", "", 1))
    # another transfer set (another augment seed) is not the one the logits label
    cfg.write_text(cfg.read_text().replace("[augment]\n", "[augment]\nseed = 7\n", 1))
    with pytest.raises(UserError, match="its logits label a transfer set with sha256"):
        run_pipeline(config_path=cfg, run_id="other-seed", runs=tmp_path / "runs")
    # a student that reads the teacher's own vectors has nothing to read here
    cfg.write_text(tiny_config("sst2", "no-such-teacher-folder", STUDENTS).replace("\n[label]\n", adopt, 1))
    with pytest.raises(UserError, match="set vectors_from"):
        run_pipeline(config_path=cfg, run_id="fresh", runs=tmp_path / "runs")


def test_publishing_more_seeds_into_a_published_folder_keeps_what_is_there(run, tmp_path):
    """A later run (e.g. on a fresh machine) adds its students to a published folder: weights.json keeps every
    entry, the earlier run-level records it replaces move to earlier/1/, the tables cover every student; a run
    with another transfer set, other teacher logits or fewer rows is refused and leaves the folder as it was."""
    import shutil

    from distill.ablation import publish
    from distill.io import read_json, write_json

    root, _, _ = run
    first, later, pub = tmp_path / "first", tmp_path / "later", tmp_path / "pub"
    shutil.copytree(root / "runs" / "tiny", first)
    shutil.copytree(root / "runs" / "tiny", later)
    trained = sorted(p.name for p in (first / "students").iterdir() if (p / "model.safetensors").exists())
    gone = trained[-1]
    publish(first, pub)
    shutil.rmtree(later / "students" / gone)  # the later run trained the others again, not this one
    env = read_json(later / "env.json")
    write_json(later / "env.json", {**env, "hostname": "another-machine"})
    publish(later, pub)
    weights = read_json(pub / "weights.json")["students"]
    assert set(weights) == set(trained) and (pub / "students" / gone / "metrics.json").is_file()
    assert read_json(pub / "earlier" / "1" / "env.json") == env and read_json(pub / "env.json")["hostname"] == \
        "another-machine"
    assert not (pub / "earlier" / "1" / "config.json").exists()  # unchanged records stay where they are
    rows = {(r["name"], r["seed"]) for r in read_json(pub / "ablation.json")["rows"]}
    assert len(rows) == len(trained) + 1  # every student and the teacher
    before = {p: p.read_bytes() for p in pub.rglob("*") if p.is_file()}
    label = read_json(later / "logits" / "label.json")
    write_json(later / "logits" / "label.json", {**label, "transfer_sha256": "0" * 64})
    with pytest.raises(UserError, match="another transfer set"):
        publish(later, pub)
    write_json(later / "logits" / "label.json", label)
    logits = np.load(later / "logits" / "logits.npy")  # a teacher trained again: same transfer set, other logits
    np.save(later / "logits" / "logits.npy", logits + np.float32(1e-3))
    with pytest.raises(UserError, match="another teacher's logits"):
        publish(later, pub)
    np.save(later / "logits" / "logits.npy", logits)
    config = read_json(later / "config.json")
    write_json(later / "config.json", {**config, "students": dict(list(config["students"].items())[:1])})
    with pytest.raises(UserError, match="lacks the student rows"):
        publish(later, pub)
    assert {p: p.read_bytes() for p in pub.rglob("*") if p.is_file()} == before
    write_json(later / "config.json", {**config, "command": "distill-bench pipeline --only a-later-call"})
    publish(later, pub)  # the same run folder again: its newer config replaces its own, no earlier/2
    assert read_json(pub / "config.json")["command"].endswith("a-later-call")
    assert sorted(p.name for p in (pub / "earlier").iterdir()) == ["1"]


def test_transfer_diagnostics_say_how_the_teacher_labelled_the_transfer_set(run, tmp_path):
    """Read back from the tiny run's own transfer set and logits, kept with their sha256, and published."""
    import shutil

    from distill.ablation import publish
    from distill.layout import RunLayout
    from distill.transfer_diagnostics import transfer_diagnostics
    from distill.transfer_set import read_transfer_set

    root, _, ablation = run
    d = RunLayout(root / "runs" / "tiny")
    ts = read_transfer_set(d.transfer)
    logits = np.load(d.logits / "logits.npy")
    labels, origins = np.asarray(ts.labels), np.asarray(ts.origins)
    gold = {o: g for o, g in zip(origins[labels >= 0], labels[labels >= 0])}
    aug = labels < 0
    diag = ablation["transfer_diagnostics"]
    assert diag["originals"] == (labels >= 0).sum() and diag["augmented"] == aug.sum() > 0
    assert diag["teacher_accuracy_on_originals"] == pytest.approx((logits[~aug].argmax(1) == labels[~aug]).mean())
    assert diag["augmented_label_kept"] == pytest.approx(
        (logits[aug].argmax(1) == np.array([gold[o] for o in origins[aug]])).mean())
    assert 0.5 <= diag["confidence_augmented"] <= 1.0
    shares = diag["class_shares"]
    assert shares["originals_gold"] == pytest.approx(np.bincount(labels[~aug], minlength=2) / (~aug).sum())
    assert shares["augmented_teacher"] == pytest.approx(np.bincount(logits[aug].argmax(1), minlength=2) / aug.sum())
    md = (d.root / "ablation.md").read_text()
    assert f"on the augmented rows {100 * shares['augmented_teacher'][0]:.1f}% / " in md
    # kept while the inputs are unchanged; a published folder (no transfer set) states the same figures
    kept = json.loads(d.transfer_diagnostics.read_text())
    assert transfer_diagnostics(d) == kept and kept["transfer_sha256"] and kept["logits_sha256"]
    publish(d.root, tmp_path / "pub")
    assert transfer_diagnostics(RunLayout(tmp_path / "pub")) == kept
    assert "## What the teacher taught on the transfer set" in (d.root / "ablation.md").read_text()
    shutil.rmtree(tmp_path / "pub")


def test_stage_time_is_written_while_the_stage_runs_so_a_killed_process_keeps_it(tmp_path, monkeypatch):
    # A SIGKILL runs no handler: only what was already written survives. Stage times are flushed every
    # STAGE_FLUSH_S seconds, and the process is counted once however many flushes its teacher stage makes.
    import time

    from distill import pipeline
    from distill.layout import RunLayout

    monkeypatch.setattr(pipeline, "STAGE_FLUSH_S", 0.05)
    run = RunLayout(tmp_path / "r")
    run.root.mkdir()
    with pipeline._stage_clock(run, "teacher"):
        time.sleep(0.4)
        during = json.loads(run.stages.read_text())  # what a kill at this point would leave
    assert during["stages"]["teacher"] >= 0.2 and during["runs"] == 1
    after = json.loads(run.stages.read_text())
    assert after["runs"] == 1 and after["stages"]["teacher"] >= 0.4
    with pytest.raises(UserError), pipeline._stage_clock(run, "label"):
        raise UserError("refused before any flush")
    assert "label" not in json.loads(run.stages.read_text())["stages"]


@pytest.mark.parametrize("run_s, committed", [(1900.0, True), (1700.0, False)])
def test_logits_are_committed_when_the_run_made_with_them_took_half_an_hour(tmp_path, run_s, committed):
    """A run that long may be continued (or get more seeds) on a fresh machine, which needs the very logits:
    stages.json's total decides (1,900 s crosses 1,800 s; 1,700 s does not)."""
    from distill.ablation import _publish_logits
    from distill.io import write_json
    from distill.layout import RunLayout

    run, published = RunLayout(tmp_path / "run"), RunLayout(tmp_path / "published")
    run.logits.mkdir(parents=True)
    published.logits.mkdir(parents=True)
    np.save(run.logits / "logits.npy", np.zeros((10, 2), dtype=np.float32))
    write_json(run.label_stats, {"seconds": 100.0, "transfer_sha256": "ab"})
    write_json(run.stages, {"stages": {"teacher": 100.0, "label": 100.0, "students": run_s - 200.0},
                            "runs": 1, "total_s": run_s})
    entry = _publish_logits(run, published)
    assert entry["committed"] is committed and entry["run_seconds"] == run_s
    assert (published.logits / "logits.npy").is_file() is committed
