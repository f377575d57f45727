import subprocess
import sys
from pathlib import Path

import pytest

from distill.data import task_from
from distill.errors import UserError
from distill.run_config import check_settings, load_config, preset_names
from distill_bench import main


def test_user_error_is_one_line_and_exit_2(capsys):
    assert main(["augment", "--task", "nope", "--out", "x.tsv"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown task 'nope'") and "Traceback" not in err


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "distill_bench", "teacher", "--task", "sst2", "--out", "/tmp/x",
                          "--model", "/nonexistent"], capture_output=True, text=True)
    assert out.returncode == 2 and "not a Hugging Face model folder" in out.stderr


@pytest.mark.parametrize("preset", preset_names())
def test_presets_are_valid(preset, tmp_path, monkeypatch):
    """Every shipped preset: its sections, keys, types and ranges (all stages' settings and its [targets]). Run
    where a fresh clone is: the committed results/ and none of runs/, so a folder a preset reads from another
    run (`vectors_from = "runs/…"`, made by that run first) is created empty here; nothing else is."""
    raw, name = load_config(preset, None)
    assert name == preset and raw["students"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").symlink_to(Path(__file__).resolve().parent.parent / "results")
    for spec in (raw.get("student_defaults", {}), *raw["students"].values()):
        if str(spec.get("vectors_from", "")).startswith("runs/"):
            (tmp_path / spec["vectors_from"]).mkdir(parents=True, exist_ok=True)
    check_settings(raw, task_from(**{k: raw["run"][k] for k in ("task",) if k in raw["run"]}), preset)


@pytest.mark.parametrize("body, message", [
    ("[teacher]\nepochz = 1\n[students.a]\n", r"\[teacher\]: unknown key 'epochz'"),
    ("[teacher]\nepochs = 'two'\n[students.a]\n", r"\[teacher\]\.epochs: expected float, got str"),
    ("[students.a]\nalpha = true\n", r"\[students\.a\]\.alpha: expected float"),
    ("[extra]\n[students.a]\n", r"unknown section \[extra\]"),
    ("[teacher]\n", r"no \[students"),
    ("[teacher\n", r"not valid TOML"),
])
def test_bad_config_files_name_the_key(tmp_path, body, message):
    path = tmp_path / "c.toml"
    path.write_text(body)
    with pytest.raises(UserError, match=message):
        load_config(None, path)


def test_unknown_preset_lists_available():
    with pytest.raises(UserError, match="available: .*quick"):
        load_config("nope", None)


def test_split_command_writes_the_split_for_the_stage_commands(tmp_path, capsys):
    assert main(["split", "--task", "mnli", "--out", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "dev-split" in out and "--task mnli --train" in out
    assert (tmp_path / "data" / "train.tsv").is_file() and (tmp_path / "data" / "split.json").is_file()
    from distill_bench import build_parser as _build_parser
    from distill_bench.common import task_of as _task

    args = _build_parser().parse_args(["teacher", "--task", "mnli", "--train", str(tmp_path / "data" / "train.tsv"),
                                       "--dev", str(tmp_path / "data" / "dev.tsv"), "--out", str(tmp_path / "t")])
    task = _task(args)
    assert task.is_pair and task.num_labels == 3 and task.path("train").parent == tmp_path / "data"
    assert task.extra_dev == ("dev_mismatched",)  # still reported on mismatched with the user's own files
    assert main(["split", "--task", "mnli", "--seed", "3", "--out", str(tmp_path / "data")]) == 2
    assert "other settings" in capsys.readouterr().err


def test_stage_commands_run_end_to_end(tiny_teacher, tmp_path, capsys):
    """teacher → augment → label → student through the CLI itself (what a user types), on the tiny BERT."""
    t, transfer, logits = tmp_path / "teacher", tmp_path / "transfer.tsv", tmp_path / "logits"
    assert main(["teacher", "--task", "sst2", "--model", str(tiny_teacher), "--train-limit", "32", "--epochs", "1",
                 "--batch-size", "16", "--max-length", "32", "--out", str(t)]) == 0
    assert main(["augment", "--task", "sst2", "--n-iter", "1", "--train-limit", "40", "--workers", "1",
                 "--out", str(transfer)]) == 0
    assert main(["label", "--teacher", str(t / "model"), "--transfer", str(transfer), "--out", str(logits)]) == 0
    assert main(["student", "--task", "sst2", "--transfer", str(transfer), "--logits", str(logits),
                 "--embedding", "random", "--embed-dim", "8", "--hidden", "8", "--epochs", "1",
                 "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "teacher dev accuracy" in out and "student dev accuracy" in out
    assert (tmp_path / "s" / "model.safetensors").is_file()
