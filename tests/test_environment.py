"""The environment is the one constraints.txt pins: install.sh resolves with it, so results made on a fresh
machine use the same library versions as the committed ones (a teacher trained again under another accelerate
was not bit-identical)."""
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, str]:
    out = {}
    for n, line in enumerate((ROOT / "constraints.txt").read_text().splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, want = line.partition("==")
            assert sep and want, f"constraints.txt line {n}: {line!r} is not name==version"
            out[canonicalize_name(name)] = want
    return out


def test_every_dependency_of_the_project_is_pinned():
    """A dependency added to pyproject.toml without a pin would resolve to whatever is newest on install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    unpinned = sorted({canonicalize_name(Requirement(d).name) for d in declared} - set(pins()) - {"torch"})
    assert not unpinned, f"constraints.txt lacks {unpinned} (pyproject.toml declares them)"


def test_every_installed_pinned_package_has_its_pinned_version():
    wrong = {}
    for name, want in pins().items():
        try:
            got = version(name)
        except PackageNotFoundError:
            continue  # pinned for an optional path (e.g. --with-mpnet) this install skipped
        if got != want:
            wrong[name] = f"installed {got}, pinned {want}"
    assert not wrong, f"the environment differs from constraints.txt: {wrong}"
