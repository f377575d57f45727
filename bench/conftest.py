"""pytest plumbing for the bench suite: options, the session, test parametrisation, results at the end.

    pytest bench --run-dir runs/sst2-paper                        # everything, results/sst2-paper-bench/
    pytest bench --run-dir runs/sst2-paper --targets torch,onnx-int8 --threads 1 --batch-sizes 1 \
        --references none --run-id sst2-quick-look
    pytest bench --run-dir RUN -k "single_stream and onnx-int8-cpu-1t-bs1"

Test ids read `<model>/<format>-<device>-<threads>t-bs<batch>`, so -k and
--benchmark-group-by=param:case work. pytest-benchmark's raw JSON lands in the results folder as
benchmark.json unless --benchmark-json says elsewhere (then it is copied there).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.config import add_options, from_pytest
from bench.pinning import pinned
from bench.session import AlreadyMeasured, BenchSession
from bench.ship import Budget, ship
from bench.specs import TIMING_ONLY
from distill.errors import UserError

SESSION_KEY = pytest.StashKey()


def pytest_addoption(parser):
    add_options(parser)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook; xdist is a dev dependency, absent from a user's install
def pytest_xdist_auto_num_workers(config):
    """The test suite's `-n auto` (pyproject.toml addopts) reaches `pytest bench` too: here it means no workers.
    Benchmarks run in this one process, one at a time, never beside each other on the same cores."""
    return 0


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads --benchmark-json in its own pytest_configure
def pytest_configure(config):
    if config.getoption("help"):
        return
    if getattr(config.option, "numprocesses", None):  # an explicit -n N
        raise pytest.UsageError("-n/--numprocesses: the bench suite measures one benchmark at a time in one "
                                "process; parallel workers would share cores and time each other")
    cfg = from_pytest(config)
    try:
        session = BenchSession(cfg)
        if not config.option.collectonly:  # listing the tests writes nothing
            session.start()
    except AlreadyMeasured as e:  # the same settings and inputs measured before: done, not an error
        lines = [str(e)]
        passed = _gate(cfg.ship, cfg.out, lines.append)  # a --ship gate still judges what was measured
        pytest.exit("\n".join(lines), returncode=0 if passed else pytest.ExitCode.TESTS_FAILED)
    except UserError as e:  # bad options, or a results folder measured differently (MeasuredDifferently)
        raise pytest.UsageError(str(e)) from None
    except FileExistsError:
        raise pytest.UsageError(f"{cfg.out} exists; pass --overwrite to replace it or --run-id to choose another "
                                "name") from None
    config.stash[SESSION_KEY] = session
    if config.getoption("benchmark_json", None) is None and not config.option.collectonly:
        config.option.benchmark_json = session.partial / "benchmark.json"


def _session(config):
    return config.stash.get(SESSION_KEY, None)


@pytest.fixture(scope="session")
def bench(request):
    return _session(request.config)


@pytest.fixture(autouse=True)
def _pin_one_thread(request):
    """--pin-core: a 1-thread case runs bound to that core (bench/pinning.py)."""
    session = _session(request.config)
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    threads = next((c[THREADS_AT[k]] for k, c in params.items() if k in THREADS_AT), None)
    with pinned(session.config.pin_core if session else None, threads):
        yield


THREADS_AT = {"latency_case": 2, "loadgen_case": 2, "e2e_case": 2, "peak_case": 1}  # threads' place per case


def _case_id(spec, device, threads, batch=None) -> str:
    return f"{spec['id']}-{device}-{threads}t" + (f"-bs{batch}" if batch is not None else "")


def pytest_generate_tests(metafunc):
    session = _session(metafunc.config)
    if session is None:
        return
    cfg = session.config
    if "latency_case" in metafunc.fixturenames:
        cases = [(s, d, t, b) for s in session.specs for d in cfg.devices for t in cfg.threads
                 for b in session.batch_sizes(s)]
        metafunc.parametrize("latency_case", cases, ids=[_case_id(*c) for c in cases])
    if "loadgen_case" in metafunc.fixturenames:
        # the BERT shapes are driven through single-stream and offline too (the paper's comparison rows); a
        # server search at their few queries per second would take minutes per step, so they skip it
        cases = [(s, d, t, sc) for s in session.specs if s["role"] != "limit" for d in cfg.devices
                 for t in cfg.threads for sc in cfg.scenarios if not (sc == "server" and s["role"] in TIMING_ONLY)]
        metafunc.parametrize("loadgen_case", cases, ids=[f"{_case_id(*c[:3])}-{c[3]}" for c in cases])
    if "e2e_case" in metafunc.fixturenames:
        cases = [(s, d, t) for s in session.specs if s["role"] not in TIMING_ONLY and s["tokenizer"]
                 for d in cfg.devices for t in cfg.threads]
        metafunc.parametrize("e2e_case", cases, ids=[_case_id(*c, 1) for c in cases])
    if "artifact" in metafunc.fixturenames:
        specs = [s for s in session.specs if s["role"] != "limit"] if "footprint" in metafunc.function.__name__ \
            else [s for s in session.specs if s["role"] not in TIMING_ONLY]
        metafunc.parametrize("artifact", specs, ids=[s["id"] for s in specs])
    if "peak_case" in metafunc.fixturenames:
        cases = [(d, t) for d in cfg.devices for t in cfg.threads]
        metafunc.parametrize("peak_case", cases, ids=[f"{d}-{t}t" for d, t in cases])


def pytest_collection_modifyitems(session, config, items):
    """The interleaved headline measurement reads what the other tests measured: it runs last."""
    items.sort(key=lambda item: item.name.startswith("test_interleaved"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    session = _session(item.config)
    if session is None or report.when not in ("setup", "call"):
        return
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        session.outcomes["skipped"].append({"test": item.nodeid, "reason": reason.removeprefix("Skipped: ")})
    elif report.failed:
        session.outcomes["failed"].append({"test": item.nodeid, "error": str(report.longrepr)[-2000:]})


def pytest_sessionfinish(session, exitstatus):
    bench = _session(session.config)
    if bench is None or session.config.option.collectonly:
        return
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    raw = session.config.getoption("benchmark_json", None)
    out = bench.finish(Path(raw) if raw else None, interrupted)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(f"bench results: {out}" if out else
                            f"bench interrupted: partial results kept in {bench.partial} (not published)")
    if out and not _gate(bench.config.ship, out, reporter.write_line if reporter else print) \
            and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # the release gate fails the pytest run


def _gate(gate: dict | None, results: Path, log) -> bool:
    """`--ship`: `distill-bench ship`'s checks on the published results, each reason logged; True = SHIP (or
    no gate asked for)."""
    if not gate:
        return True
    budget = Budget(max_p90_ms=gate["max_p90_ms"], min_accuracy_ratio=gate["min_accuracy_ratio"],
                    max_size_mb=gate["max_size_mb"], latency=gate["latency"])
    return ship(results, gate["target"], budget, log=log) == 0
