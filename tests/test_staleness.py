"""Every staleness case of tests/staleness.py (the table in results/staleness.md): a changed setting, data file,
teacher, transfer set or logits is refused with a line naming it and every output left byte-identical; with
--force exactly the changed stage and the stages that read its output are redone, every other one kept."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tests.staleness import CASES, make_workspace, run_case
from tests.tiny import make_tiny_teacher

TABLE = Path(__file__).resolve().parent.parent / "results" / "staleness.md"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    with contextlib.redirect_stdout(io.StringIO()):
        teacher = make_tiny_teacher(tmp_path_factory.mktemp("tiny-bert"))
        return make_workspace(tmp_path_factory.mktemp("staleness") / "baseline", teacher)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.stage}: {c.changed}" for c in CASES])
def test_stale_output_is_refused_then_redone_with_force(case, baseline, tmp_path):
    r = run_case(case, baseline, tmp_path)
    assert r["exit"] == 2 and "Traceback" not in r["shown"], r["shown"]
    assert "was made with other settings or inputs" in r["shown"] and case.expect in r["difference"], r["shown"]
    assert r["untouched"]
    assert r["forced_exit"] == 0, r["forced_shown"]
    assert set(r["redone"]) == set(case.redone), r["redone"]


def test_the_committed_table_has_every_case():
    table = TABLE.read_text(encoding="utf-8")
    assert f"{len(CASES)} cases." in table
    for case in CASES:
        assert case.changed.replace("|", "\\|").replace("`", "'") in table, case.changed
