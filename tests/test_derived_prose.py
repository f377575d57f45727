"""Prose in result folders is made from what was recorded: the ablation's deviations and times (env.json,
teacher/metrics.json, the students' files), the dev-split caption (split.json), the scale-out caption
(scale_out.json, env.json) and the bench deviations (summary.json). Each test writes recorded files that differ
from the machine these tests run on and checks the text follows the files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from bench_fixture import summary

from bench import report, scale_out
from distill.ablation import publish, write_ablation
from distill.data import get_task
from distill.errors import UserError
from distill.protocol import describe_split

BIG = {"cpu": "Big Iron 9000", "cores": 64, "ram_gb": 512.0, "gpu": "NVIDIA H200"}
ARCH = {"vocab_size": 100, "embed_dim": 384, "multichannel": True, "hidden": 150, "fc": 200, "num_labels": 2,
        "dropout": 0.1, "pad_id": 0}


def _write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _published(root: Path, env: dict | None, teacher_seconds: dict) -> Path:
    """A results folder as `publish` leaves it: one kd student, one GloVe student, no run folder."""
    _write(root / "config.json", {
        "run_id": "fake", "command": "distill-bench pipeline --config fake.toml", "run": {"task": "sst2"},
        "teacher": {"epochs": 1.0},
        "students": {"bilstm-kd": {"embedding": "wordpiece", "multichannel": True, "seeds": [0]},
                     "emb-glove50": {"embedding": "glove50", "embed_dim": 50, "group": "embedding", "seeds": [0]}}})
    if env is not None:
        _write(root / "env.json", env)
    _write(root / "teacher" / "metrics.json", {
        "task": "sst2", "model": "/somewhere/some_teacher_pkg/model", "dev_accuracy": 0.9, "ci95": [0.88, 0.92],
        "n_dev": 872, "params": 34_000_000, "params_no_embedding": 20_000_000, "config": {"seed": 42, "epochs": 1.0},
        **teacher_seconds})
    for folder, embedding, dim, acc, no_emb in (("bilstm-kd-s0", "wordpiece-multichannel", 384, 0.85, 1_164_602),
                                                ("emb-glove50-s0", "glove50", 50, 0.84, 303_002)):
        _write(root / "students" / folder / "metrics.json", {
            "accuracy": acc, "ci95": [acc - 0.02, acc + 0.02], "n": 872, "params": 2_000_000,
            "params_no_embedding": no_emb, "embedding": embedding, "train_seconds": 120.0,
            "config": {"epochs": 1.0}, "train_rows": 1000})
        _write(root / "students" / folder / "config.json",
               {"student": {**ARCH, "embed_dim": dim, "multichannel": embedding.endswith("multichannel")}})
    _write(root / "weights.json", {"max_committed_mb": 8.0, "students": {}})
    return root


def test_ablation_hardware_teacher_and_times_come_from_the_recorded_files(tmp_path):
    env = {**BIG, "cpu_capability": "AVX512"}
    folder = _published(tmp_path / "pub", env, {"train_seconds": 600.0, "train_seconds_this_process": 60.0})
    ab = write_ablation(folder)
    md = (folder / "ablation.md").read_text()
    hardware = next(d for d in ab["deviations"] if d.startswith("Hardware"))
    assert "Big Iron 9000 (64 cores, 512.0 GB RAM, torch CPU kernels AVX512), GPU NVIDIA H200" in hardware
    teacher = next(d for d in ab["deviations"] if d.startswith("Teacher"))
    assert "some_teacher_pkg (34.0M params, 1 epoch)" in teacher and "BERT-large (340M)" in teacher
    assert "10× fewer parameters" in teacher
    embeddings = next(d for d in ab["deviations"] if d.startswith("Embeddings"))
    # the paper's 600-d student at these sizes, counted by the product's own model class
    assert "GloVe 6B 50-d" in embeddings and "384-d" in embeddings and "(963,002)" in embeddings
    for d in ab["deviations"]:
        assert f"- {d}" in md
    for claim in ("2 cores", "reachable", "CPU only", "idle", "MiniLM"):
        assert claim not in md, claim
    cells = [c.strip() for c in next(line for line in md.splitlines() if line.startswith("| teacher")).split("|")]
    assert cells[9] == "10" and "not recorded" not in md  # 600 s, cumulative (tabulate prints 10.0 as 10)
    assert "cumulative over resumed processes" in md
    assert "0.8500" in md and "0.8400" in md  # the figures are the students' own


def test_old_teacher_metrics_show_time_not_recorded_and_no_gpu(tmp_path):
    env = {**BIG, "cores": 8, "gpu": None}
    folder = _published(tmp_path / "pub", env, {"train_seconds_this_process": 60.0})
    ab = write_ablation(folder)
    md = (folder / "ablation.md").read_text()
    assert "(8 cores, 512.0 GB RAM), no GPU recorded" in next(d for d in ab["deviations"] if d.startswith("Hardware"))
    teacher_row = next(line for line in md.splitlines() if line.startswith("| teacher"))
    assert "not recorded" in teacher_row
    assert "its last process trained for 1.0 min, which is not cumulative" in md
    assert ab["rows"][0]["train_seconds"] is None and ab["rows"][0]["train_seconds_last_process"] == 60.0


@pytest.mark.parametrize(("label", "says", "never"), [
    ({"n": 1000, "labelled_rows": 260, "fraction": 0.25, "subset_seed": 3, "labeller": "torch",
      "precision": "bf16", "device": "cuda", "threads": 16, "batch_size": 512, "seconds": 1300.0, "runs": 2},
     ["260 of the transfer set's 1,000 rows (fraction 0.25, subset seed 3", "torch labeller (bf16; cuda; 16 threads;"
      " batch 512) in 21.7 min over 2 process(es), 0.2 rows/s"], ["all 1,000 rows", "int8 labeller was used"]),
    ({"n": 1000, "labelled_rows": 1000, "fraction": 1.0, "labeller": "onnx-int8-pc", "precision": "fp32",
      "seconds": 60.0, "runs": 1, "labeller_gate": {"threshold": 0.98, "value": 0.991, "passed": True}},
     ["all 1,000 rows of the transfer set", "onnx-int8-pc labeller in 1.0 min",
      "agreement with fp32, 0.9910, cleared 0.98"], ["(fp32", "fraction"]),
    ({"n": 1000, "seconds_this_process": 120.0},  # an old record: only what it has
     ["all 1,000 rows of the transfer set, made by the teacher (the last process's time only: 2.0 min)"], ["rows/s"]),
])
def test_the_labelling_sentence_follows_label_json_and_the_teacher_steps_its_metrics(tmp_path, label, says, never):
    folder = _published(tmp_path / "pub", BIG, {"train_seconds": 60.0, "global_steps": 4321, "n_train": 9876})
    _write(folder / "logits" / "label.json", label)
    md = (folder / "ablation.md").read_text() if write_ablation(folder) else ""
    section = md.split("## Teacher and labelling", 1)[1].split("##", 1)[0]
    assert "The teacher trained for 4,321 steps (1 epoch of 9,876 training examples)." in section
    for text in says:
        assert text in section, (text, section)
    for text in never:
        assert text not in section, (text, section)


def test_missing_env_json_is_said(tmp_path):
    ab = write_ablation(_published(tmp_path / "pub", None, {"train_seconds": 60.0}))
    assert "Hardware: not recorded (no env.json in the run folder)." in ab["deviations"]


def test_publish_refuses_a_published_folder(tmp_path):
    folder = _published(tmp_path / "pub", BIG, {"train_seconds": 60.0})
    with pytest.raises(UserError, match="published results folder"):
        publish(folder, tmp_path / "elsewhere")


def _split_info(source: str) -> dict:
    return {"protocol": "dev-split", "source": source, "seed": 3, "train_fraction": 0.8,
            "splits": {"train": {"file": "train.tsv", "rows": 80, "sha256": "a" * 64},
                       "dev": {"file": "dev.tsv", "rows": 20, "sha256": "b" * 64}}}


def test_dev_split_caption_says_what_was_read():
    caption = describe_split(get_task("qqp"), _split_info("/x/QQP/dev.tsv"))
    assert "no train file is registered or configured for qqp" in caption
    assert "seed 3" in caption and "100 rows" in caption and "aaaaaaaaaaaaaaaa…" in caption
    assert "reachable" not in caption
    chosen = describe_split(get_task("sst2"), _split_info("/x/SST-2/dev.tsv"))  # a train file exists
    assert "run.protocol chose it over the task's train file" in chosen


def _scale_out(folder: Path, env: dict, load: bool) -> str:
    arm = {"label_sentences_per_s": 100.0, "label_speedup": 1.0, "student_examples_per_s": 50.0,
           "student_speedup": 1.0, "teacher_examples_per_s": 10.0, "teacher_speedup": 1.0}
    arms = [{"name": "1 process × 1 thread", "nproc": 1, "threads": 1, **arm},
            {"name": "4 processes × 16 thread(s)", "nproc": 4, "threads": 16, **arm}]
    if load:
        arms = [{**a, "load_avg_before": [0.25 + i, 0.5, 0.75], "teacher_model": "/w/some_teacher_pkg/model"}
                for i, a in enumerate(arms)]
    _write(folder / "scale_out.json", {"conditions": {"run": "runs/x", "rows": 4000, "student_steps": 120,
                                                      "teacher_steps": 30, "cores": 64, "backend": "nccl",
                                                      "command": "python -m bench.scale_out"}, "arms": arms})
    _write(folder / "env.json", {**env, "libraries": {"torch": "9.9"}, "git": {"sha": "abc"}})
    scale_out.render(folder)
    return (folder / "scale_out.md").read_text()


def test_scale_out_caption_from_recorded_load_and_gpu(tmp_path):
    md = _scale_out(tmp_path / "a", BIG, load=True)
    assert "1 process × 1 thread: 0.25/0.50/0.75; 4 processes × 16 thread(s): 1.25/0.50/0.75" in md
    assert "GPU recorded in env.json: NVIDIA H200 (backend nccl)" in md
    assert "64 cores (Big Iron 9000)" in md and "some_teacher_pkg" in md
    for claim in ("idle", "lent", "No GPU", "MiniLM", "2 cores"):
        assert claim not in md, claim
    old = _scale_out(tmp_path / "b", {**BIG, "gpu": None}, load=False)
    assert "Load average before the arms: not recorded." in old
    assert "env.json records no GPU" in old and "not in scale_out.json" in old


def test_bench_deviations_from_summary_env():
    s = summary()
    s["env"] = {**s.get("env", {}), **BIG}
    text = report.deviations(s)
    assert "Big Iron 9000 with 64 cores and GPU NVIDIA H200" in text
    assert "bert-large rows are random-weight shapes" in text and "BERT-base" not in text
    md = report.render_markdown(s)
    assert "x86" not in md and "phone formats on this machine's CPU (Big Iron 9000)" in md


def test_learning_curves_and_budget_tables_come_from_a_hand_made_metrics_file(tmp_path):
    """Two arms with hand-written curves: the equal budget is the shorter arm's examples, each arm's figure there
    is its best evaluation up to it, the ordering sentence and the PNG are made from them."""
    from distill.ablation_curves import ordering_sentence
    folder = _published(tmp_path / "pub", None, {"train_seconds": 60.0})
    ab = write_ablation(folder)
    assert ab["equal_budget"] is None and not (folder / "learning_curves.png").exists()
    m_path = folder / "students" / "bilstm-kd-s0" / "metrics.json"
    m = json.loads(m_path.read_text())
    m["config"]["batch_size"] = 10
    m["history"] = [{"step": s, "examples_seen": 10 * s, "wall_seconds": 6.0 * s, "train_loss": 1.0 / s,
                     "dev_accuracy": a} for s, a in ((10, 0.6), (20, 0.8), (30, 0.7), (40, 0.75))]
    m["stopped"] = {"reason": "plateau", "examples_seen": 400, "patience_examples": 200}
    m_path.write_text(json.dumps(m))
    ab = write_ablation(folder)
    row = next(r for r in ab["rows"] if r["name"] != "teacher")
    assert ab["equal_budget"] == 400 and row["equal_budget"]["accuracy"] == 0.8 and row["best_examples_seen"] == 200
    assert row["stop_reason"] == "plateau" and (folder / "learning_curves.png").stat().st_size > 10_000
    md = (folder / "ablation.md").read_text()
    assert "Every arm at an equal budget: 400 examples seen" in md and "plateau @ 400" in md
    # the level after the best: the evaluations in the last patience window (examples 300 and 400), best excluded
    assert row["level"]["n_evals"] == 2 and abs(row["level"]["accuracy"] - 0.725) < 1e-12 and "0.7250 (2)" in md
    assert ordering_sentence(ab) is None  # the three arms of the paper are not all there
    # entries without `wall_clock` were timed before stopped time was left out: the table marks their minutes
    assert "2.0 †" in md and "may include pauses: bilstm-kd-s0" in md
    for h in m["history"]:
        h["wall_clock"] = "running"
    m_path.write_text(json.dumps(m))
    md = (write_ablation(folder) and (folder / "ablation.md").read_text())
    assert "†" not in md and "may include pauses" not in md
    assert json.loads((folder / "ablation.json").read_text())["curve_groups"] == ["ablation"]
    assert "the row labelled `embedding`" not in md  # no curve recorded for that group: no row drawn, none named
    # a second table group with a curve gets its own row of panels, named under its table
    e_path = folder / "students" / "emb-glove50-s0" / "metrics.json"
    e = json.loads(e_path.read_text())
    e["config"]["batch_size"], e["history"] = 10, m["history"][:2]
    e_path.write_text(json.dumps(e))
    small = (folder / "learning_curves.png").stat().st_size
    ab = write_ablation(folder)
    md = (folder / "ablation.md").read_text()
    assert ab["curve_groups"] == ["ablation", "embedding"] and "the row labelled `embedding`" in md
    assert (folder / "learning_curves.png").stat().st_size > small


def test_the_papers_arms_keep_their_colour_in_every_runs_plot():
    """plain, kd and kd-aug are tab10's first three colours whichever of them a run has and in whatever order its
    config lists them (results/sst2-mpnet had only plain and kd-aug, which drew kd-aug in kd's colour)."""
    from distill.ablation_curves import colour_index

    assert [colour_index(a, ["bilstm-plain", "bilstm-kd-aug"]) for a in ("bilstm-plain", "bilstm-kd-aug")] == [0, 2]
    arms = ["bilstm-kd-aug", "bilstm-kd-aug-conf70", "bilstm-kd", "bilstm-plain", "other"]
    assert [colour_index(a, arms) for a in arms] == [2, 3, 1, 0, 4]


def test_where_the_curves_cross_is_read_from_best_so_far_means():
    """kd-aug (2 seeds) starts below kd and overtakes it once its best-so-far mean passes kd's; a dip after a
    peak does not count as a crossing (what a stopped run reports never falls); kd stays ahead of plain."""
    from distill.ablation_curves import crossing_sentence, crossings

    curves = {"bilstm-kd-aug-s0": [0.50, 0.60, 0.90, 0.55], "bilstm-kd-aug-s1": [0.50, 0.62, 0.80, 0.50],
              "bilstm-kd-s0": [0.70, 0.72, 0.74, 0.74], "bilstm-plain-s0": [0.60, 0.61, 0.65, 0.66]}
    histories = {f: [{"step": 10 * (i + 1), "dev_accuracy": a} for i, a in enumerate(accs)]
                 for f, accs in curves.items()}
    batch = dict.fromkeys(curves, 5)  # evaluations at 50, 100, 150, 200 examples
    rows = [{"name": f.rsplit("-s", 1)[0], "folder": f} for f in curves]
    got = {(c["a"], c["b"]): c for c in crossings(rows, histories, batch)}
    aug = got["bilstm-kd-aug", "bilstm-kd"]
    # best so far: kd-aug 0.50, 0.61, 0.85, 0.85; kd 0.70, 0.72, 0.74, 0.74
    assert aug["ahead_at_end"] == 1 and aug["sign_changes"] == 1 and aug["last_change_at"] == 150
    assert aug["min_gap"] == pytest.approx(-0.20) and aug["gap_at_end"] == pytest.approx(0.11)
    kd = got["bilstm-kd", "bilstm-plain"]
    assert kd["sign_changes"] == 0 and kd["ahead_at_end"] == 1 and (kd["from_examples"], kd["to_examples"]) == (50, 200)
    text = crossing_sentence({"crossings": list(got.values())})
    assert "bilstm-kd-aug is ahead of bilstm-kd from 150 examples seen on (1 change(s) of lead" in text
    assert "[-20.00, +11.00] points" in text
    assert "bilstm-kd is ahead of bilstm-plain at every budget from 50 to 200 examples seen" in text
    assert crossings([r for r in rows if r["name"] != "bilstm-kd"], histories, batch) == []  # no pair to compare


def _three_arms(folder: Path, right: dict[str, float]) -> int:
    """A published folder whose plain / kd / kd-aug rows (2 seeds each) got the first `right` share of the dev
    examples right (seed 1 one example fewer), with hand-written predictions and no weights; returns dev n."""
    from distill.data import load_split
    _published(folder, None, {"train_seconds": 60.0})
    config = json.loads((folder / "config.json").read_text())
    config["students"] = {name: {"embedding": "wordpiece", "multichannel": True, "seeds": [0, 1]}
                          | ({"alpha": 1.0} if name == "bilstm-plain" else {"epochs": 2.0} if name == "bilstm-kd"
                             else {"examples": "all"}) for name in right}
    (folder / "config.json").write_text(json.dumps(config))
    labels = np.asarray(load_split(get_task("sst2"), "dev")["label"])
    n = len(labels)
    template = json.loads((folder / "students" / "bilstm-kd-s0" / "metrics.json").read_text())
    for name, frac in right.items():
        for seed in (0, 1):
            pred = labels.copy()
            wrong = np.arange(n) >= int(frac * n) - seed  # each seed a little different
            pred[wrong] = 1 - pred[wrong]
            acc = float((pred == labels).mean())
            _write(folder / "students" / f"{name}-s{seed}" / "metrics.json", {**template, "accuracy": acc})
            if not (folder / "students" / f"{name}-s{seed}" / "config.json").exists():
                shutil.copy2(folder / "students" / "bilstm-kd-s0" / "config.json",
                             folder / "students" / f"{name}-s{seed}" / "config.json")
            _write(folder / "predictions" / f"{name}-s{seed}.json",
                   {"model_sha256": None, "split": "dev", "n": n, "accuracy": acc,
                    "predictions": "".join(map(str, pred.tolist()))})
    shutil.rmtree(folder / "students" / "emb-glove50-s0")
    return n


def test_ordering_sentence_reads_f1_too_where_the_task_reports_it():
    """QQP: the paired pairs carry F1 gaps; the sentence gives the accuracy verdict and, in a second clause, the
    F1 verdict of the same steps, whichever direction each pair was stored in."""
    from distill.ablation_curves import ordering_sentence

    means = {"bilstm-plain": 0.80, "bilstm-kd": 0.81, "bilstm-kd-aug": 0.82}
    ab = {"summary": [{"name": k, "mean": v, "ci_half_width_mean": 0.01} for k, v in means.items()],
          "rows": [{"name": k, "stop_reason": "plateau"} for k in means],
          "paired": [{"a": "bilstm-kd", "b": "bilstm-plain", "gap": 0.01, "ci95": [0.002, 0.018],
                      "f1_gap": -0.02, "f1_ci95": [-0.03, -0.01]},
                     {"a": "bilstm-kd-aug", "b": "bilstm-kd", "gap": 0.01, "ci95": [-0.004, 0.024],
                      "f1_gap": 0.005, "f1_ci95": [-0.01, 0.02]}]}
    sentence = ordering_sentence(ab)
    assert sentence.startswith("kd-aug ≥ kd ≥ plain holds at every arm's plateau")
    assert "bilstm-kd − bilstm-plain = +1.00 points (holds beyond the CI; paired 95% CI [+0.20, +1.80])" in sentence
    assert ("In F1 of the positive class (the task's other metric; checkpoints were chosen on accuracy) it does not "
            "hold: bilstm-kd-aug − bilstm-kd = +0.50 F1 points (holds within the CI (not decided); paired 95% CI "
            "[-1.00, +2.00]); bilstm-kd − bilstm-plain = -2.00 F1 points (reversed beyond the CI; paired 95% CI "
            "[-3.00, -1.00]).") in sentence
    # stored the other way round (plain − kd), the same verdicts
    ab["paired"][0] = {"a": "bilstm-plain", "b": "bilstm-kd", "gap": -0.01, "ci95": [-0.018, -0.002],
                       "f1_gap": 0.02, "f1_ci95": [0.01, 0.03]}
    assert ordering_sentence(ab) == sentence
    for p in ab["paired"]:  # a task without F1: no second clause
        del p["f1_gap"], p["f1_ci95"]
    assert "F1" not in ordering_sentence(ab)


def test_the_level_after_the_best_is_read_without_the_chosen_checkpoint():
    """A best checkpoint is the maximum of noisy evaluations on the reported split; the level is the mean of the
    last patience window without it, and the sentence reads the ordering there and how far each best sits above."""
    from distill.ablation_curves import level_sentence
    from distill.curves import level_after_best

    def curve(accs):
        return [{"step": i + 1, "examples_seen": 10 * (i + 1), "dev_accuracy": a} for i, a in enumerate(accs)]

    # a budget stop whose best is inside the window: the best is left out, the rest of the window averaged
    level = level_after_best(curve([0.5, 0.7, 0.9, 0.8, 0.6]), window=30, batch_size=10)
    assert level["n_evals"] == 2 and abs(level["accuracy"] - 0.7) < 1e-12 and abs(level["sd"] - 0.1414) < 1e-4
    assert level_after_best(curve([0.5, 0.7]), window=None, batch_size=10) is None  # no patience: no window
    assert level_after_best(curve([0.5, 0.9, 0.7]), window=10, batch_size=10) is None  # one point is no level

    best = {"bilstm-kd-aug": 0.81, "bilstm-kd": 0.81, "bilstm-plain": 0.79}
    level = {"bilstm-kd-aug": 0.80, "bilstm-kd": 0.805, "bilstm-plain": 0.78}
    ab = {"summary": [{"name": k, "mean": best[k], "level_mean": level[k]} for k in best],
          "rows": [{"name": k, "level": {"accuracy": level[k], "sd": 0.004}} for k in best]}
    sentence = level_sentence(ab)
    assert "kd-aug ≥ kd ≥ plain does not hold" in sentence
    assert "bilstm-kd-aug − bilstm-kd = -0.50 points; bilstm-kd − bilstm-plain = +2.50 points" in sentence
    assert "bilstm-kd-aug +1.00, bilstm-kd +0.50, bilstm-plain +1.00" in sentence and "bilstm-kd 0.40" in sentence
    del ab["summary"][2]["level_mean"]  # an arm without a level (no patience): no sentence
    assert level_sentence(ab) is None


def test_a_level_still_rising_after_the_best_is_named():
    """A run stopped by the patience rule while its curve was still rising: its level after the best is compared
    with the window before, and the sentence names the seeds that rose by more than two standard errors."""
    from distill.ablation_curves import rising_sentence
    from distill.curves import lag1_autocorrelation, level_after_best

    def curve(accs):
        return [{"step": i + 1, "examples_seen": 10 * (i + 1), "dev_accuracy": a} for i, a in enumerate(accs)]

    # window 30, the best (0.90) at 60 examples: after = (60, 90], before = (30, 60] with the best left out
    climbing = curve([0.50, 0.52, 0.60, 0.62, 0.61, 0.90, 0.70, 0.72, 0.71])
    level = level_after_best(climbing, window=30, batch_size=10)
    assert level["n_evals"] == 3 and abs(level["accuracy"] - 0.71) < 1e-12
    assert abs(level["before"] - 0.615) < 1e-12 and abs(level["rise"] - 0.095) < 1e-12  # 0.62, 0.61; best out
    # both windows zigzag (negative lag-1 autocorrelation, taken as 0): the plain standard error of the difference
    assert level["rho"] == 0 and abs(level["rise_se"] - ((0.0001 / 3 + 0.00005 / 2) ** 0.5)) < 1e-12
    # correlated evaluations widen it by the AR(1) factor: a steady ramp has lag-1 autocorrelation 1.25 / 5
    assert abs(lag1_autocorrelation([[1, 2, 3, 4]]) - 0.25) < 1e-12 and lag1_autocorrelation([[1, 1, 1]]) == 0
    ramp = level_after_best(curve([0.50, 0.60, 0.61, 0.62, 0.63, 0.90, 0.70, 0.71, 0.72, 0.73]), window=40,
                            batch_size=10)
    # before = (20, 60] less the best: 0.61..0.63 (lag products 0, squares 2e-4); after = (60, 100]: 0.70..0.73
    # (lag products 1.25e-4, squares 5e-4); pooled rho = 1.25 / 7
    rho = 1.25 / 7
    assert abs(ramp["rho"] - rho) < 1e-12
    assert abs(ramp["rise_se"] ** 2 - (1e-4 / 3 + (5e-4 / 3) / 4) * (1 + rho) / (1 - rho)) < 1e-12
    flat = level_after_best(curve([0.50, 0.52, 0.70, 0.72, 0.71, 0.90, 0.70, 0.72, 0.71]), window=30, batch_size=10)
    assert abs(flat["rise"] - (0.71 - 0.715)) < 1e-12
    assert "before" not in level_after_best(curve([0.5, 0.9, 0.7, 0.6]), window=20, batch_size=10)  # too short

    rows = [{"name": "bilstm-kd", "folder": "bilstm-kd-s0", "level": level},
            {"name": "bilstm-plain", "folder": "bilstm-plain-s0", "level": flat},
            {"name": "other-arm", "folder": "other-arm-s0", "level": level}]  # not a paper arm: not counted
    sentence = rising_sentence({"rows": rows})
    assert sentence.startswith("Still climbing when stopped: 1 of 2 seeds") and "bilstm-kd-s0 +9.50 ± " in sentence
    assert "bilstm-plain-s0" not in sentence and "other-arm" not in sentence
    assert rising_sentence({"rows": rows[1:2]}).startswith("No seed's level rose")
    assert rising_sentence({"rows": [{"name": "bilstm-kd", "folder": "x", "level": None}]}) is None


def test_paired_ordering_comes_from_each_students_dev_predictions(tmp_path):
    """Three arms of one encoder with hand-written dev predictions (no weights, as a published folder keeps
    them): the paired table and the ordering sentence are made from the examples each seed got right."""
    folder = tmp_path / "pub"
    # kd ties plain, kd-aug beats both
    n = _three_arms(folder, {"bilstm-plain": 0.70, "bilstm-kd": 0.70, "bilstm-kd-aug": 0.90})
    ab = write_ablation(folder)
    pairs = {(p["a"], p["b"]): p for p in ab["paired"]}
    assert set(pairs) == {("bilstm-kd", "bilstm-plain"), ("bilstm-kd-aug", "bilstm-plain"),
                          ("bilstm-kd-aug", "bilstm-kd")}
    gain = pairs["bilstm-kd-aug", "bilstm-kd"]
    assert gain["ci95"][0] > 0.15 and gain["seeds"] == [2, 2]
    tie = pairs["bilstm-kd", "bilstm-plain"]
    assert tie["gap"] == 0.0 and tie["ci95"][0] <= 0 <= tie["ci95"][1]
    md = (folder / "ablation.md").read_text()
    points = 100 * (int(0.9 * n) - int(0.7 * n)) / n
    assert f"bilstm-kd-aug − bilstm-kd = {points:+.2f} points (holds beyond the CI; paired 95% CI [+" in md
    assert "bilstm-kd − bilstm-plain = +0.00 points (holds within the CI (not decided)" in md
    assert f"| bilstm-kd-aug | bilstm-kd    | {points:+.2f}" in md and "| not decided " in md
    aug = next(x for x in ab["summary"] if x["name"] == "bilstm-kd-aug")["mean"]
    assert f"- bilstm-kd-aug mean (2 seeds) ≥ 0.895: {aug:.4f} — met" in md  # the seeds it is a mean of
    assert f"- bilstm-kd-aug keeps {100 * aug / 0.9:.1f}% of the teacher's dev accuracy" in md
    assert "Targets: the paper's recipe for sst2 (the task's defaults)." in md
    assert "no row is paired with the teacher, whose dev predictions (predictions/teacher.json) were not kept" in md
    assert "agreement with the teacher" not in md
    from distill.data import load_split

    # with the teacher's dev predictions kept too (its accuracy 0.9: the first 90% right), every row is paired
    # with it, and the share it keeps gets the pairing's interval
    labels = np.asarray(load_split(get_task("sst2"), "dev")["label"])
    teacher = np.where(np.arange(n) < int(0.9 * n), labels, 1 - labels)
    _write(folder / "predictions" / "teacher.json", {"model_sha256": None, "split": "dev", "n": n,
                                                      "accuracy": 0.9, "predictions": "".join(map(str, teacher))})
    ab = write_ablation(folder)
    pairs = {(p["a"], p["b"]): p for p in ab["paired"]}
    kept = pairs["bilstm-kd-aug", "teacher"]
    assert {("bilstm-plain", "teacher"), ("bilstm-kd", "teacher")} < set(pairs) and "ratio" not in gain
    assert kept["ratio"] == pytest.approx(aug / (int(0.9 * n) / n)) and kept["ratio_ci95"][0] < kept["ratio"]
    assert pairs["bilstm-plain", "teacher"]["ci95"][1] < 0  # 20 points below the teacher, on the same examples
    # fidelity: plain's seeds are right on the first 70% (s1: one fewer) and wrong after; the teacher on the first
    # 90%: they agree on 70% and on the last 10% (both wrong, binary labels), less one example for s1
    assert pairs["bilstm-plain", "teacher"]["agreement"] == pytest.approx(
        ((int(0.7 * n) + n - int(0.9 * n)) * 2 - 1) / (2 * n))
    md = (folder / "ablation.md").read_text()
    low, high = (100 * x for x in kept["ratio_ci95"])
    assert (f"- bilstm-kd-aug keeps {100 * aug / 0.9:.1f}% (paired 95% CI [{low:.1f}, {high:.1f}]%) of the teacher's"
            in md)
    assert f"| {100 * kept['ratio']:.1f}% [{low:.1f}, {high:.1f}]" in md and "no row is paired with" not in md


def test_a_configs_targets_go_over_the_tasks_and_are_checked(tmp_path):
    """A run that asks another question (issue 23: a stronger teacher, a share of it kept) states its bar in
    [targets]; the table checks that bar, keeps the task's other targets, and says where each came from.
    A bad [targets] is refused naming the key before any work."""
    from distill.data import get_task
    from distill.run_config import check_settings, validate

    folder = tmp_path / "pub"
    _three_arms(folder, {"bilstm-plain": 0.70, "bilstm-kd": 0.70, "bilstm-kd-aug": 0.85})
    config = json.loads((folder / "config.json").read_text())
    config["targets"] = {"teacher_min": 0.95, "share_of_teacher_min": 0.97}
    (folder / "config.json").write_text(json.dumps(config))
    ab = write_ablation(folder)
    md = (folder / "ablation.md").read_text()
    aug = next(x for x in ab["summary"] if x["name"] == "bilstm-kd-aug")["mean"]
    assert "- teacher ≥ 0.950: 0.9000 — **not met**" in md  # the config's bar, not the paper's 0.910
    assert (f"- bilstm-kd-aug mean (2 seeds) keeps ≥ 97% of the teacher's dev accuracy: {100 * aug / 0.9:.1f}% — "
            "**not met**") in md
    assert f"- bilstm-kd-aug mean (2 seeds) ≥ 0.895: {aug:.4f} — **not met**" in md  # the task's, kept
    assert "Targets: the config's [targets] (teacher_min, share_of_teacher_min) over the paper's recipe for sst2" in md
    config["targets"] = {"share_of_teacher_min": 0.9}
    (folder / "config.json").write_text(json.dumps(config))
    write_ablation(folder)
    assert f"teacher's dev accuracy: {100 * aug / 0.9:.1f}% — met" in (folder / "ablation.md").read_text()
    config["targets"] = {"from_task": False}  # an experiment read against other runs, not against a bar
    (folder / "config.json").write_text(json.dumps(config))
    assert write_ablation(folder)["targets"]["source"].startswith("none")
    assert "## Targets" not in (folder / "ablation.md").read_text()

    base = {"run": {"task": "sst2"}, "students": {"s": {}}}
    for bad, message in (({"row_min": 89.5}, "row_min must be in \\(0, 1\\]"),
                         ({"teacher_min": "high"}, "\\[targets\\].teacher_min: expected float, got str"),
                         ({"row_mean": 0.9}, "\\[targets\\]: unknown key 'row_mean'")):
        with pytest.raises(UserError, match=message):
            raw = {**base, "targets": bad}
            validate(raw, "cfg.toml")
            check_settings(raw, get_task("sst2"), "cfg.toml")


def test_the_embedding_deviation_names_whose_vectors_each_row_read(tmp_path):
    """A student's `vectors_from` (recorded in its metrics' config) decides whose WordPiece vectors it read: the
    run's teacher (unset) or another model's (sst2-mpnet's students read the pretrained MiniLM's, not MPNet's)."""
    folder = tmp_path / "pub"
    _three_arms(folder, {"bilstm-plain": 0.70, "bilstm-kd-aug": 0.90})
    for seed in (0, 1):
        path = folder / "students" / f"bilstm-kd-aug-s{seed}" / "metrics.json"
        m = json.loads(path.read_text())
        _write(path, {**m, "config": {**m["config"], "vectors_from": "minilm"}})
    write_ablation(folder)
    [line] = [x for x in (folder / "ablation.md").read_text().splitlines() if x.startswith("- Embeddings:")]
    assert line.startswith("- Embeddings: the students read the teacher's WordPiece input vectors or the WordPiece "
                           "input vectors of the pretrained all-MiniLM-L6-v2 (vectors_from = minilm) (the embedding")
    assert "The WordPiece vectors have their model's width (384-d" in line


def test_seeds_of_a_row_trained_from_different_files_are_named(tmp_path):
    """Each seed's record.json names the sha256 of what it was trained from; a row whose seeds differ (e.g. a
    later seed started from a re-trained teacher folder) gets a line saying which input and which seeds."""
    folder = tmp_path / "pub"
    _three_arms(folder, {"bilstm-plain": 0.70, "bilstm-kd-aug": 0.90})
    same = {"teacher": "a" * 64, "transfer": "b" * 64, "logits": "c" * 64}
    for name in ("bilstm-plain", "bilstm-kd-aug"):
        for seed in (0, 1):
            _write(folder / "students" / f"{name}-s{seed}" / "record.json", {"inputs": same})
    write_ablation(folder)
    assert "Inputs:" not in (folder / "ablation.md").read_text()
    _write(folder / "students" / "bilstm-kd-aug-s1" / "record.json", {"inputs": {**same, "teacher": "d" * 64}})
    ab = write_ablation(folder)
    md = (folder / "ablation.md").read_text()
    assert "bilstm-kd-aug read different `teacher` inputs (seed: sha256) — s0: aaaaaaaaaaaa…, s1: dddddddddddd…" in md
    assert "bilstm-plain read different" not in md
    assert {r["folder"]: r["inputs"]["teacher"][0] for r in ab["rows"] if r["name"] != "teacher"}[
        "bilstm-kd-aug-s1"] == "d"


def test_compare_pairs_the_same_rows_of_two_runs_on_the_same_dev_examples(tmp_path):
    """Two runs (as if two teachers): each common row's gap A − B with its paired CI and its share of its own
    teacher; runs scored on other dev sets are refused."""
    from distill.compare import parse_rows, write_compare
    a, b = tmp_path / "a", tmp_path / "b"
    n = _three_arms(a, {"bilstm-plain": 0.70, "bilstm-kd": 0.80, "bilstm-kd-aug": 0.90})
    _three_arms(b, {"bilstm-plain": 0.70, "bilstm-kd": 0.80, "bilstm-kd-aug": 0.85})
    for folder in (a, b):
        write_ablation(folder)
    c = write_compare(a, b, tmp_path / "cmp")
    rows = {r["name"]: r for r in c["rows"]}
    assert set(rows) == {"bilstm-plain", "bilstm-kd", "bilstm-kd-aug"}
    gain = rows["bilstm-kd-aug"]
    assert gain["paired"]["gap"] == pytest.approx((int(0.9 * n) - int(0.85 * n)) / n) and gain["paired"]["ci95"][0] > 0
    assert rows["bilstm-plain"]["paired"]["gap"] == 0.0
    assert gain["a_of_teacher"] == pytest.approx(gain["a_mean"] / 0.9)  # the fake teacher's 0.9
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert "| bilstm-kd-aug" in md and "| A " in md and "some_teacher_pkg, 34.0M params: dev accuracy 0.9000" in md
    points = 100 * (gain["a_mean"] - gain["b_mean"])
    assert f"bilstm-kd-aug: A − B = {points:+.2f} points, paired 95% CI [+" in md
    assert "(A is better beyond the CI)" in md
    # the teachers' gap has no paired CI: their separate intervals say whether they decide it
    assert "their separate 95% CIs, [0.880, 0.920] and [0.880, 0.920], overlap, so they alone do not decide" in md
    from distill.compare import _teacher_intervals
    apart = _teacher_intervals({"a": {"ci95": [0.909, 0.943]}, "b": {"ci95": [0.865, 0.907]}})
    assert apart.endswith("[0.909, 0.943] and [0.865, 0.907], do not overlap, so the gap is beyond them")
    assert _teacher_intervals({"a": {"ci95": None}, "b": {"ci95": [0.865, 0.907]}}) == ""
    assert "bilstm-plain: A − B = +0.00 points, paired 95% CI" in md and "(the CI includes zero: not decided)" in md
    # with both teachers' dev predictions kept, their gap is paired on the same examples too (A's right on every
    # example, B's on the first 90%)
    from distill.data import load_split
    labels = np.asarray(load_split(get_task("sst2"), "dev")["label"])
    for folder, pred in ((a, labels), (b, np.where(np.arange(n) < int(0.9 * n), labels, 1 - labels))):
        _write(folder / "predictions" / "teacher.json", {"model_sha256": None, "split": "dev", "n": n,
                                                          "accuracy": 0.9, "predictions": "".join(map(str, pred))})
    c = write_compare(a, b, tmp_path / "cmp-teachers")
    assert c["teacher_paired"]["gap"] == pytest.approx(1 - int(0.9 * n) / n) and c["teacher_paired"]["ci95"][0] > 0
    assert "no paired CI" not in (md := (tmp_path / "cmp-teachers" / "compare.md").read_text())
    assert "A's teacher is better beyond it" in md
    # rows of other names, paired by --rows: A's kd-aug against B's kd
    c = write_compare(a, b, tmp_path / "cmp-rows", parse_rows("bilstm-kd-aug=bilstm-kd"))
    [row] = c["rows"]
    assert row["name"] == "bilstm-kd-aug vs bilstm-kd" and row["b_mean"] == rows["bilstm-kd"]["b_mean"]
    assert "--rows bilstm-kd-aug=bilstm-kd`" in (tmp_path / "cmp-rows" / "compare.md").read_text()
    for bad, message in (("bilstm-kd-aug", "expected A_ROW=B_ROW pairs"), ("bilstm-kd-aug=nope", "has no student "
                                                                          "row 'nope'; its rows: bilstm-plain")):
        with pytest.raises(UserError, match=message):
            write_compare(a, b, tmp_path / "bad", parse_rows(bad))
    ab = json.loads((b / "ablation.json").read_text())
    (b / "ablation.json").write_text(json.dumps({**ab, "n": 100}))
    with pytest.raises(UserError, match="score different dev sets \\(n: 872 vs 100\\)"):
        write_compare(a, b, tmp_path / "cmp2")


def test_a_families_run_gets_a_table_per_group_and_no_paper_targets(tmp_path):
    """Rows of other groups (a student family each) get their own table; the paper recipe's targets are for its
    plain / kd / kd-aug rows only; a teacher adopted from another run is named as that run's, with no epochs."""
    folder = _published(tmp_path / "pub", None, {"train_seconds": 0.0})
    config = json.loads((folder / "config.json").read_text())
    config["students"] = {"cnn-small-kd-aug": {"group": "cnn", "family": "cnn", "examples": "all", "seeds": [0]}}
    (folder / "config.json").write_text(json.dumps(config))
    shutil.move(folder / "students" / "bilstm-kd-s0", folder / "students" / "cnn-small-kd-aug-s0")
    shutil.rmtree(folder / "students" / "emb-glove50-s0")
    teacher = json.loads((folder / "teacher" / "metrics.json").read_text())
    teacher.update(model="runs/sst2-paper/teacher/model", finetuned=True)
    (folder / "teacher" / "metrics.json").write_text(json.dumps(teacher))
    write_ablation(folder)
    md = (folder / "ablation.md").read_text()
    assert "## Rows of group `cnn`" in md and "| cnn-small-kd-aug |" in md
    assert "## Targets" not in md and "not measured yet" not in md
    assert "Teacher: sst2-paper's teacher (34.0M params, fine-tuned elsewhere: runs/sst2-paper/teacher/model)" in md


def test_the_embedding_column_names_the_vectors_a_row_read(tmp_path):
    """Two rows of one table that differ only in whose vectors they read (results/sst2-fraction) must not look
    the same: the column adds a row's vectors_from; a row that read its teacher's keeps the plain setting."""
    folder = _published(tmp_path / "pub", BIG, {"train_seconds": 60.0})
    metrics = folder / "students" / "bilstm-kd-s0" / "metrics.json"
    m = json.loads(metrics.read_text())
    _write(metrics, {**m, "config": {**m["config"], "vectors_from": "minilm"}})
    md = (folder / "ablation.md").read_text() if write_ablation(folder) else ""
    kd = next(line for line in md.splitlines() if line.startswith("| bilstm-kd "))
    glove = next(line for line in md.splitlines() if line.startswith("| emb-glove50 "))
    assert "| wordpiece-multichannel (vectors_from: minilm) |" in kd
    assert "| glove50 " in glove and "vectors_from" not in glove
    # seeds of one row that read different vectors show each
    from distill.ablation_text import _embedding_cell

    cell = _embedding_cell("wordpiece", [{"vectors_from": ""}, {"vectors_from": "t/model"}, {}])
    assert cell == "wordpiece (vectors_from, by seed: unset (the teacher's), t/model)"


def test_seeds_trained_on_another_device_are_named_timed_apart_and_left_out_of_the_wall_panel(tmp_path):
    """A seed trained where a GPU was lent (its metrics.json: device, machine) is named in the hardware sentence,
    its minutes are averaged apart from the CPU seeds', and the wall-time panel draws the CPU seeds only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from distill.ablation_curves import _draw_arm

    env = {**BIG, "cpu": "Small Box", "cores": 2, "gpu": None}
    folder = _published(tmp_path / "pub", env, {"train_seconds": 60.0})
    config = json.loads((folder / "config.json").read_text())
    config["students"]["bilstm-kd"]["seeds"] = [0, 1]
    _write(folder / "config.json", config)
    s0 = folder / "students" / "bilstm-kd-s0"
    shutil.copytree(s0, folder / "students" / "bilstm-kd-s1")
    history = [{"step": s, "examples_seen": 10 * s, "wall_seconds": 6.0 * s, "wall_clock": "running",
                "train_loss": 1.0, "dev_accuracy": 0.5 + s / 100} for s in (10, 20, 30)]
    for seed, device, machine, seconds in ((0, "cpu", None, 6000.0), (1, "cuda:0", BIG, 120.0)):
        path = folder / "students" / f"bilstm-kd-s{seed}" / "metrics.json"
        m = json.loads(path.read_text())
        m.update(device=device, train_seconds=seconds, history=history, **({"machine": machine} if machine else {}))
        m["config"]["batch_size"] = 10
        path.write_text(json.dumps(m))
    ab = write_ablation(folder)
    hardware = next(d for d in ab["deviations"] if d.startswith("Hardware"))
    assert hardware.startswith("Hardware (env.json): Small Box (2 cores")
    assert ("Trained on other hardware (their metrics.json): bilstm-kd-s1 on cuda:0, Big Iron 9000 (64 cores, "
            "512.0 GB RAM), GPU NVIDIA H200.") in hardware
    assert "bilstm-kd-s0 on" not in hardware and "emb-glove50-s0 on" not in hardware  # cpu, machine not recorded
    md = (folder / "ablation.md").read_text()
    assert "100.0 (cpu, 1) / 2.0 (cuda, 1)" in md
    rows = ab["rows"]
    histories = {r["folder"]: history for r in rows if r["name"] == "bilstm-kd"}
    _, (ax_n, ax_t) = plt.subplots(1, 2)
    _draw_arm(ax_n, ax_t, "bilstm-kd", ["bilstm-kd"], rows, histories, {f: 10 for f in histories}, "cpu")
    assert [line.get_label() for line in ax_n.get_lines() if not line.get_label().startswith("_")] == \
        ["bilstm-kd (2 seeds)"]
    assert [line.get_label() for line in ax_t.get_lines() if not line.get_label().startswith("_")] == \
        ["bilstm-kd (1 seed)"]
    plt.close("all")
