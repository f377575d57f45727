"""Shared fixtures: a tiny randomly initialised BERT teacher and tiny data files (no real model in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny import make_tiny_pair_run, make_tiny_run, make_tiny_teacher


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide random BERT with a WordPiece vocabulary of the first SST-2 sentences' words."""
    return make_tiny_teacher(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def write_file(tmp_path):
    def write(name: str, content: str | bytes) -> Path:
        p = tmp_path / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return p

    return write


@pytest.fixture(scope="session")
def tiny_run(tiny_teacher, tmp_path_factory) -> Path:
    """A run folder as `distill-bench pipeline` leaves it, with a random word-level student (max length 8)
    and the tiny random BERT as teacher: what `distill-bench export` reads, made in a second."""
    return make_tiny_run(tmp_path_factory.mktemp("tiny-run"), tiny_teacher)


@pytest.fixture(scope="session")
def tiny_pair_run(tiny_teacher, tmp_path_factory) -> Path:
    """A QQP run folder (dev-split protocol) with a random Siamese word-level student (max length 8) and the
    tiny random BERT as the pair teacher."""
    return make_tiny_pair_run(tmp_path_factory.mktemp("tiny-pair-run"), tiny_teacher)
