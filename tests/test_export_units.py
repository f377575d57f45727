"""Small pieces of the export path: length buckets, parity shapes, a missing converter reported honestly."""

from __future__ import annotations

import numpy as np

from export.buckets import bucketed, fit, pick_bucket
from export.validate import parity_inputs


def test_pick_bucket_takes_the_smallest_that_fits_and_caps_at_the_largest():
    assert [pick_bucket(n, [16, 32, 64]) for n in (1, 16, 17, 64, 200)] == [16, 16, 32, 64, 64]


def test_bucketed_pads_or_cuts_and_runs_rows_one_by_one():
    seen = []

    def runner(ids, mask):
        seen.append(ids.shape)
        return mask.sum(1, keepdims=True).astype(np.float32)

    run = bucketed({4: runner, 8: runner}, max_batch=1)
    ids = np.array([[5, 6, 7, 0, 0], [5, 6, 0, 0, 0]])
    out = run(ids, (ids > 0).astype(np.int64))
    assert seen == [(1, 4), (1, 4)] and out[:, 0].tolist() == [3, 2]
    ids, mask = fit(np.ones((2, 10), np.int64), np.ones((2, 10), np.int64), 8)
    assert ids.shape == mask.shape == (2, 8)


def test_bucketed_runs_batches_over_the_bound_in_slices_in_order():
    seen = []

    def runner(ids, mask):
        assert ids.shape[0] <= 3, "a call over the file's batch bound"
        seen.append(ids.shape[0])
        return ids[:, :1].astype(np.float32)

    ids = np.arange(1, 8)[:, None] * np.ones((7, 5), np.int64)
    out = bucketed({8: runner}, max_batch=3)(ids, np.ones_like(ids))
    assert seen == [3, 3, 1] and out[:, 0].tolist() == list(range(1, 8))
    seen.clear()
    assert bucketed({8: runner}, max_batch=None)(ids[:2], np.ones_like(ids[:2])).shape == (2, 1) and seen == [2]


def test_parity_inputs_cover_the_required_shapes():
    shapes = parity_inputs(max_length=20, vocab_size=100, first_id=3)
    assert len(shapes) >= 5
    sizes = {name: ids.shape for name, (ids, mask) in shapes.items()}
    assert (1, 1) in sizes.values() and (1, 20) in sizes.values()
    padded = [mask for name, (ids, mask) in shapes.items() if name.endswith("padded")]
    assert padded and all((m == 0).any() for m in padded)  # real padding inside the batch
    assert any(m.shape[1] == 20 for m in padded)
    for ids, mask in shapes.values():
        assert ((ids == 0) == (mask == 0)).all() and (ids[mask == 1] >= 3).all()


def test_missing_litert_env_is_reported_not_faked(tiny_run, tmp_path, monkeypatch):
    import export.litert_env as env
    from distill.data import get_task, load_split
    from export.context import ExportContext, ExportOptions
    from export.registry import all_targets
    from export.run import export_source
    from export.source import load_student_source

    monkeypatch.setattr(env, "DEFAULT", tmp_path / "nowhere" / "python")
    monkeypatch.delenv(env.ENV_VAR, raising=False)
    dev = load_split(get_task("sst2"), "dev", 16)
    ctx = ExportContext(tmp_path / "scratch", ExportOptions(buckets=(8,), dev_limit=16))
    [o] = export_source(load_student_source(tiny_run / "students" / "tiny-s0"), [all_targets()["litert"]],
                        tmp_path / "out", ctx, list(dev["text"]), np.asarray(dev["label"]), log=lambda *a: None)
    assert o["status"] == "unavailable" and "install.sh" in o["error"]
    assert not (tmp_path / "out" / "tiny-s0" / "litert").exists()
