"""The import layers of pyproject.toml's [tool.importlinter] contracts hold: each layer imports only the ones
below it (command line → bench → export → pipeline → ablation → stages → base), and export and bench never
import the pipeline."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_ruff_finds_nothing():
    """ruff's pyflakes rules catch a name used but never imported (a pool helper once reached CI that way: its
    only caller ran in a multi-process test no one ran locally), so the suite runs the linter tox -e lint runs."""
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(ruff), "check", "--no-cache", "distill", "distill_bench", "export", "bench", "tests"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_every_distill_module_has_a_layer():
    """A module left out of the layers contract is constrained by nothing: each distill/*.py must be named."""
    import re
    import tomllib
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    named = set(re.findall(r"distill\.(\w+)", " ".join(layers)))
    modules = {p.stem for p in (ROOT / "distill").glob("*.py") if p.stem not in ("__init__", "__main__")}
    assert modules - named == set(), f"distill modules in no layer of pyproject.toml: {sorted(modules - named)}"
