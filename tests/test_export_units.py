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
    from export.student_source import load_student_source

    monkeypatch.setattr(env, "DEFAULT", tmp_path / "nowhere" / "python")
    monkeypatch.delenv(env.ENV_VAR, raising=False)
    dev = load_split(get_task("sst2"), "dev", 16)
    ctx = ExportContext(tmp_path / "scratch", ExportOptions(buckets=(8,), dev_limit=16))
    [o] = export_source(load_student_source(tiny_run / "students" / "tiny-s0"), [all_targets()["litert"]],
                        tmp_path / "out", ctx, list(dev["text"]), np.asarray(dev["label"]), log=lambda *a: None)
    assert o["status"] == "unavailable" and "install.sh" in o["error"]
    assert not (tmp_path / "out" / "tiny-s0" / "litert").exists()


def _fake_target(lossy: bool, tolerance=None):
    from types import SimpleNamespace

    return SimpleNamespace(name="fake-int8" if lossy else "fake", lossy=lossy, tolerance=None if lossy else tolerance)


def test_judge_rejects_an_agreement_below_its_threshold_and_names_both_numbers():
    import pytest

    from export.validate import ValidationError, judge

    fp32 = {"accuracy": 0.80}
    scores = {"accuracy": 0.80, "argmax_agreement": 0.97, "n": 100}  # accuracy kept, predictions changed
    with pytest.raises(ValidationError) as e:
        judge(_fake_target(True), {"b1-s1": 0.3}, scores, fp32, budget=0.99, min_agreement=0.98)
    assert "fake-int8" in str(e.value) and "argmax agreement with fp32 0.9700" in str(e.value)
    assert "threshold 0.98" in str(e.value) and "accuracy" not in str(e.value).split("agreement")[0]
    assert e.value.gates == {
        "argmax_agreement": {"threshold": 0.98, "value": 0.97, "passed": False, "rule": e.value.gates[
            "argmax_agreement"]["rule"]},
        "accuracy_ratio": {"threshold": 0.99, "value": 1.0, "passed": True,
                           "rule": e.value.gates["accuracy_ratio"]["rule"]}}
    # both gates failing: both named, each with its value and threshold
    with pytest.raises(ValidationError, match=r"agreement with fp32 0\.9700 .*threshold 0\.98.*"
                                              r"dev accuracy / fp32 0\.9000 is below the threshold 0\.99"):
        judge(_fake_target(True), {}, {**scores, "accuracy": 0.72}, fp32, budget=0.99, min_agreement=0.98)
    gates = judge(_fake_target(True), {}, {**scores, "argmax_agreement": 0.98}, fp32, 0.99, 0.98)
    assert all(g["passed"] for g in gates.values()) and set(gates) == {"argmax_agreement", "accuracy_ratio"}


def test_judge_gates_lossless_targets_on_parity_only():
    import pytest

    from export.validate import ValidationError, judge

    parity = {"b1-s1": 2e-5, "b2-s7": 5e-5}
    scores = {"accuracy": 0.5, "argmax_agreement": 0.5, "n": 10}  # recorded, not gated for a lossless target
    gates = judge(_fake_target(False, 1e-4), parity, scores, {"accuracy": 0.9}, 0.99, 0.98)
    assert gates == {"parity": {"threshold": 1e-4, "value": 5e-5, "passed": True, "shape": "b2-s7",
                                "rule": gates["parity"]["rule"]}}
    with pytest.raises(ValidationError, match=r"max \|Δlogit\| 5e-05 at shape b2-s7 exceeds tolerance 1e-05") as e:
        judge(_fake_target(False, 1e-5), parity, scores, {"accuracy": 0.9}, 0.99, 0.98)
    assert e.value.gates["parity"]["passed"] is False


def test_agreement_floor_defaults_per_model_kind_and_an_option_overrides_it():
    from export.context import DEFAULT_MIN_AGREEMENT, ExportOptions

    assert ExportOptions().agreement_floor("student") == DEFAULT_MIN_AGREEMENT["student"] == 0.98
    assert ExportOptions().agreement_floor("teacher") == DEFAULT_MIN_AGREEMENT["teacher"] == 0.90
    assert ExportOptions(min_agreement=0.995).agreement_floor("teacher") == 0.995


def test_teacher_is_exported_at_its_recorded_max_length(tiny_teacher, tmp_path):
    import json
    import shutil

    from transformers import AutoTokenizer

    from export.teacher_source import load_teacher_source

    def teacher_with(model_max_length, record=None):
        folder = tmp_path / f"t{model_max_length}-{bool(record)}" / "teacher" / "model"
        shutil.copytree(tiny_teacher, folder)
        tok = AutoTokenizer.from_pretrained(str(folder))
        tok.model_max_length = model_max_length
        tok.save_pretrained(str(folder))  # as `distill-bench teacher` saves it: its training length
        if record:
            (folder.parent / "record.json").write_text(json.dumps(record))
        return folder

    at20 = teacher_with(20)
    trained = load_teacher_source(at20)
    assert trained.max_length == 20 and trained.info["max_length_from"] == "tokenizer_config.json model_max_length"
    unset = load_teacher_source(teacher_with(int(1e30)))  # transformers' "no limit": the position table's 128
    assert unset.max_length == 128 and "max_position_embeddings" in unset.info["max_length_from"]
    recorded = load_teacher_source(teacher_with(int(1e30), {"settings": {"teacher": {"max_length": 40}}}))
    assert recorded.max_length == 40 and "record.json" in recorded.info["max_length_from"]
    capped = load_teacher_source(teacher_with(1000))
    assert capped.max_length == 128 and "capped" in capped.info["max_length_from"]
    assert load_teacher_source(at20, max_length=24).max_length == 24  # a caller's choice wins


def test_export_manifest_records_the_teacher_length_and_every_gate(tiny_run, tmp_path):
    import json
    import shutil

    from transformers import AutoTokenizer

    from export.context import ExportOptions
    from export.run import export_run

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    tok = AutoTokenizer.from_pretrained(str(run / "teacher" / "model"))
    tok.model_max_length = 12
    tok.save_pretrained(str(run / "teacher" / "model"))
    [o] = export_run(run, models=["teacher"], targets=["torchscript"], out=tmp_path / "out",
                     options=ExportOptions(dev_limit=16))
    manifest = json.loads((tmp_path / "out" / "teacher" / "torchscript" / "manifest.json").read_text())
    assert manifest["max_length"] == 12 and manifest["source"]["max_length"] == 12
    assert manifest["source"]["max_length_from"] == "tokenizer_config.json model_max_length"
    assert any(k.endswith("s12") for k in manifest["parity_max_abs"])  # validated at that length
    assert manifest["gates"]["parity"]["passed"] and manifest["gates"]["parity"]["threshold"] == 1e-4
    summary = json.loads((tmp_path / "out" / "export.json").read_text())["outcomes"]
    assert summary[0]["gates"] == manifest["gates"] and summary[0]["max_length"] == 12
    record = json.loads((tmp_path / "out" / "teacher" / "torchscript" / "record.json").read_text())
    assert record["complete"] and record["settings"]["max_length"] == 12


def test_export_rerun_keeps_refuses_or_forces_by_the_artifact_record(tiny_run, tmp_path):
    import json

    from distill.io import file_sha256
    from export.context import ExportOptions
    from export.run import export_run

    out = tmp_path / "out"
    first = export_run(tiny_run, models=["tiny-s0"], targets=["onnx", "onnx-int8"], out=out,
                       options=ExportOptions(dev_limit=16))
    assert [o["status"] for o in first] == ["ok", "ok"]
    folder = out / "tiny-s0" / "onnx-int8"
    record = json.loads((folder / "record.json").read_text())
    assert record["complete"] and record["stage"] == "export"
    assert record["settings"]["gates"] == {"argmax_agreement": 0.98, "accuracy_ratio": 0.99}
    assert record["settings"]["max_length"] == 8 and record["settings"]["target"] == "onnx-int8"
    assert record["inputs"]["checkpoint"] == file_sha256(tiny_run / "students" / "tiny-s0" / "model.safetensors")
    for o in first:  # every gate, as {threshold, value, passed}, in export.json and in the manifest
        manifest = json.loads((out / "tiny-s0" / o["target"] / "manifest.json").read_text())
        assert o["gates"] == manifest["gates"]
        assert all(set(g) >= {"threshold", "value", "passed"} and g["passed"] for g in o["gates"].values())
    assert set(first[1]["gates"]) == {"argmax_agreement", "accuracy_ratio"} and set(first[0]["gates"]) == {"parity"}
    before = file_sha256(folder / "model.onnx")

    same = export_run(tiny_run, models=["tiny-s0"], targets=["onnx-int8"], out=out,
                      options=ExportOptions(dev_limit=16))
    assert same[0]["status"] == "ok" and same[0]["reused"]  # kept: same record, complete
    # an option onnx-int8 does not read (the fixed-shape targets' buckets) is not in its record: kept, not refused
    buckets = export_run(tiny_run, models=["tiny-s0"], targets=["onnx-int8"], out=out,
                         options=ExportOptions(dev_limit=16, buckets=(16, 32)))
    assert buckets[0]["status"] == "ok" and buckets[0]["reused"], buckets[0].get("error")
    assert "buckets" not in json.loads((folder / "record.json").read_text())["settings"]["options"]

    other = export_run(tiny_run, models=["tiny-s0"], targets=["onnx-int8"], out=out,
                       options=ExportOptions(dev_limit=16, per_channel=True, min_agreement=0.99))
    assert other[0]["status"] == "refused"
    assert "settings.options.per_channel: False → True" in other[0]["error"]
    assert "settings.gates.argmax_agreement: 0.98 → 0.99" in other[0]["error"] and "--force" in other[0]["error"]
    assert file_sha256(folder / "model.onnx") == before  # untouched
    listed = {o["target"]: o for o in json.loads((out / "export.json").read_text())["outcomes"]}
    assert listed["onnx-int8"]["status"] == "refused" and listed["onnx"]["status"] == "ok"

    forced = export_run(tiny_run, models=["tiny-s0"], targets=["onnx-int8"], out=out,
                        options=ExportOptions(dev_limit=16, per_channel=True), force=True)
    assert forced[0]["status"] == "ok" and not forced[0].get("reused")
    assert json.loads((folder / "record.json").read_text())["settings"]["options"]["per_channel"] is True


def test_rejected_artifact_leaves_no_record_and_export_json_names_both_numbers(tiny_run, tmp_path):
    """An unreachable agreement threshold, through the options, on a real tiny int8 export."""
    import json

    from export.context import ExportOptions
    from export.run import export_run

    out = tmp_path / "out"
    [o] = export_run(tiny_run, models=["tiny-s0"], targets=["onnx-int8"], out=out,
                     options=ExportOptions(dev_limit=16, min_agreement=1.01))
    assert o["status"] == "rejected"
    assert "argmax agreement with fp32 1.0000 is below the threshold 1.01" in o["error"]
    assert o["gates"]["argmax_agreement"] == {**o["gates"]["argmax_agreement"], "threshold": 1.01, "value": 1.0,
                                              "passed": False}
    assert o["gates"]["accuracy_ratio"]["passed"] is True
    assert not (out / "tiny-s0" / "onnx-int8").exists()  # no artifact, so no record that could vouch for one
    listed = json.loads((out / "export.json").read_text())["outcomes"]
    assert listed[0]["status"] == "rejected" and listed[0]["gates"] == o["gates"]


def test_a_target_registered_without_its_facts_fails_loudly():
    import pytest

    from export.registry import AT_LOAD, TARGETS, all_targets, register

    with pytest.raises(TypeError, match="precision"):  # every fact is a keyword without a default
        register("no-facts", load=lambda *a, **k: None, runtime="torch", mobile=False, fp32=None, threads=AT_LOAD,
                 devices=("cpu",))
    with pytest.raises(ValueError, match="quantises"):  # an int8 target names the fp32 target it quantises
        register("half-facts", load=lambda *a, **k: None, runtime="torch", precision="int8", mobile=False, fp32=None,
                 threads=AT_LOAD, devices=("cpu",), reads=())
    with pytest.raises(ValueError, match="threads"):
        register("odd-threads", load=lambda *a, **k: None, runtime="torch", precision="fp32", mobile=False,
                 fp32=None, threads="sometimes", devices=("cpu",), reads=())
    with pytest.raises(ValueError, match="runtime"):
        register("odd-runtime", load=lambda *a, **k: None, runtime="a phone", precision="fp32", mobile=False,
                 fp32=None, threads=AT_LOAD, devices=("cpu",), reads=())
    with pytest.raises(ValueError, match="names no export option"):  # what it reads must be an option
        register("odd-reads", load=lambda *a, **k: None, runtime="torch", precision="fp32", mobile=False,
                 fp32=None, threads=AT_LOAD, devices=("cpu",), reads=("bucket",))
    assert not {"no-facts", "half-facts", "odd-threads", "odd-runtime", "odd-reads"} & set(TARGETS)
    for t in all_targets().values():  # and every registered target has them, consistent with each other
        assert t.precision in ("fp32", "int8") and t.lossy == (t.precision != "fp32")
        assert (t.fp32 is None) == (t.precision == "fp32") and (t.fp32 is None or t.fp32 in TARGETS)


def test_an_outcome_written_before_runs_were_recorded_is_read_from_its_command():
    from export.table import _run_of

    assert _run_of({"run": "runs/a"}, "runs/last") == "runs/a"
    assert _run_of({"command": "distill-bench export results/x --models m"}, "runs/last") == "results/x"
    assert _run_of({"command": "export_run('runs/y', models=None, targets=None)"}, "runs/last") == "runs/last"


def test_executorch_int8_activations_must_be_a_known_scheme():
    import pytest

    from distill.errors import UserError
    from export.context import ExportOptions

    assert ExportOptions().et_int8_activations == "auto"
    with pytest.raises(UserError, match="int8 activations: expected one of auto, static, dynamic, got 'fast'"):
        ExportOptions(et_int8_activations="fast")
