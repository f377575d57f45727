"""Every bad-input case of tests/bad_inputs.py (the table in results/robustness.md): exit 2 with one line that
names the file, line, field or option — or, for accepted input, exit 0 — never a traceback, and no pickle
payload ever runs."""

from __future__ import annotations

import contextlib
import io

import pytest

from tests.bad_inputs import CASES, make_pair_export, make_workspace, run_case


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    with contextlib.redirect_stdout(io.StringIO()):
        ws = make_workspace(tmp_path_factory.mktemp("bad-inputs"))
        make_pair_export(ws)
    return ws


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}: {c.given}" for c in CASES])
def test_bad_input_gets_one_clear_line(case, workspace):
    r = run_case(case, workspace)
    assert "Traceback" not in r["shown"], r["shown"]
    assert r["exit"] == case.exit, r["shown"]
    assert case.expect in r["shown"], r["shown"]
    if case.exit:
        assert r["message"].startswith("error:") or "error: argument" in r["message"], r["message"]
    if case.not_created:
        assert not r["payload_ran"]
