"""The bench suite's measurement pieces: latency statistics against numpy, round planning, FLOP counting of the LSTM,
packed inputs, and the skip-with-reason path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.flops import flops_per_sample
from bench.inputs import batches, packed_rows
from bench.measure import LatencyStats, RoundPlan, throughput_sps
from bench.timing import device_or_skip, load_or_skip
from export.registry import TargetUnavailable


def test_latency_stats_match_numpy_in_milliseconds():
    seconds = np.random.default_rng(0).gamma(4.0, 0.001, 501)
    stats = LatencyStats.from_seconds(seconds)
    ms = seconds * 1e3
    assert stats.unit == "ms" and stats.count == 501
    for name, q in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)):
        assert getattr(stats, name) == pytest.approx(np.percentile(ms, q))
    assert stats.mean == pytest.approx(ms.mean()) and stats.stdev == pytest.approx(ms.std(ddof=1))
    assert stats.cv_pct == pytest.approx(100 * ms.std(ddof=1) / ms.mean())
    assert LatencyStats.from_seconds([0.001] * 10).cv_pct == 0
    assert LatencyStats.from_seconds(np.arange(1, 11) / 1e3).p90 == pytest.approx(9.1)
    with pytest.raises(ValueError):
        LatencyStats.from_seconds([])


def test_throughput_is_samples_over_total_time():
    assert throughput_sps(512, [0.5, 0.5]) == pytest.approx(1024)


def test_round_plan_meets_both_minimums_and_caps_by_time():
    plan = RoundPlan(min_rounds=20, min_time_s=2.0, max_time_s=10.0)
    assert plan.rounds(0.001) == 2200  # time decides, with a 10% margin
    assert plan.rounds(1.0) == 20  # the round count wins over the time cap
    assert plan.rounds(0.0001) == 22000
    assert RoundPlan(3, 2.0, 2.1).rounds(0.2) == 10  # the cap
    assert plan.met([0.1] * 20) == {"rounds": 20, "duration_s": 2.0, "min_rounds_met": True, "min_time_met": True,
                                    "valid": True}
    assert not plan.met([0.01] * 20)["valid"] and not plan.met([1.0] * 5)["valid"]


def test_lstm_flops_are_counted():
    lstm, fc = torch.nn.LSTM(8, 4, batch_first=True, bidirectional=True), torch.nn.Linear(8, 2)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.fc = lstm, fc

        def forward(self, ids, mask):
            return self.fc(self.lstm(torch.nn.functional.one_hot(ids, 8).float())[0][:, -1])

    ids = torch.zeros(3, 5, dtype=torch.long)
    lstm_weights = 2 * 4 * 4 * (8 + 4)  # two directions × 4 gates × hidden × (input + hidden)
    assert flops_per_sample(Model(), ids, torch.ones_like(ids)) == 2 * lstm_weights * 5 + 2 * 8 * 2


def test_packed_rows_are_real_text_at_exactly_the_length():
    from distill.vocab import Vocab
    from export.encoder import TextEncoder

    texts = ["a good film", "bad", "a very good and long film indeed"]

    class Encoder(TextEncoder):
        def __init__(self):
            self.kind, self.vocab = "student", Vocab.build(texts, "word")

    ids, mask = packed_rows(Encoder(), texts, seq_len=5, rows=4)
    assert ids.shape == (4, 5) and mask.all() and (ids > 0).all()
    with pytest.raises(ValueError, match="--seq-len 99"):
        packed_rows(Encoder(), texts, seq_len=99, rows=1)
    assert [b[0].shape for b in batches(ids, mask, 3)] == [(3, 5)]


def test_absent_device_and_runtime_skip_with_the_reason(monkeypatch):
    spec = {"id": "m/onnx-int8", "format": "onnx-int8", "devices": ["cpu"]}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(pytest.skip.Exception, match="no CUDA device here"):
        device_or_skip("cuda", spec)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(pytest.skip.Exception, match="onnx-int8: no cuda runtime"):
        device_or_skip("cuda", spec)
    device_or_skip("cpu", spec)

    class Session:
        def runner(self, *a):
            raise TargetUnavailable("no LiteRT interpreter")

    with pytest.raises(pytest.skip.Exception, match="m/onnx-int8: no LiteRT interpreter"):
        load_or_skip(Session(), spec, 1, "cpu")


def test_flops_are_counted_on_the_form_each_artifact_runs():
    from bench.session import BenchSession

    form = BenchSession._flop_form
    assert form({"folded": True, "role": "student", "format": "onnx-folded"}, 1) == "folded"
    assert form({"folded": False, "role": "student", "format": "onnx"}, 512) == "trained"
    assert form({"role": "student", "format": "torch"}, 1) == "measured-small"
    assert form({"role": "student", "format": "torch"}, 512) == "measured-large"
    assert form({"role": "teacher", "format": "torch"}, 512) == "trained"


def test_pinning_binds_only_one_thread_measurements_and_restores():
    import os

    from bench.pinning import check_core, pinned

    allowed = os.sched_getaffinity(0)
    core = max(allowed)
    with pinned(core, 1):
        assert os.sched_getaffinity(0) == {core}
    assert os.sched_getaffinity(0) == allowed
    with pinned(core, 2), pinned(None, 1):
        assert os.sched_getaffinity(0) == allowed
    with pytest.raises(ValueError, match="not one this process may run on"):
        check_core(max(allowed) + 64)
    from bench.config import _core  # --pin-core: auto by default, a number, or none

    assert _core("auto") == core and _core("none") is None and _core(str(min(allowed))) == min(allowed)
    with pytest.raises(pytest.UsageError, match="--pin-core"):
        _core("x")
