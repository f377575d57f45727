import subprocess
import sys

import pytest

from distill.cli import main
from distill.errors import UserError
from distill.pipeline import load_config


def test_user_error_is_one_line_and_exit_2(capsys):
    assert main(["augment", "--task", "nope", "--out", "x.tsv"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown task 'nope'") and "Traceback" not in err


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "distill", "teacher", "--task", "sst2", "--out", "/tmp/x",
                          "--model", "/nonexistent"], capture_output=True, text=True)
    assert out.returncode == 2 and "not a Hugging Face model folder" in out.stderr


@pytest.mark.parametrize("preset", ["quick", "sst2-paper"])
def test_presets_are_valid(preset):
    raw, name = load_config(preset, None)
    assert name == preset and raw["students"]


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
