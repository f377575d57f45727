"""Folding (distill/folded.py): the gate-table student equals the unfolded one, eager and exported, for single
sentences and pairs, at the parity shapes; the int8 tables keep one scale per row."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from distill.folded import fold
from distill.students import StudentConfig, build_student
from export.contract import PairStudentForExport, StudentForExport
from export.validate import parity_inputs


def student(pair: bool, multichannel: bool = True) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = StudentConfig(vocab_size=60, embed_dim=12, multichannel=multichannel, hidden=7, fc=9, num_labels=3,
                        dropout=0.3, pair=pair)
    model = build_student(cfg).eval()
    with torch.no_grad():  # the LSTM biases start at zero-ish; make both matter
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def _logits(module, ids, mask):
    with torch.inference_mode():
        return module(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()


@pytest.mark.parametrize("pair", [False, True], ids=["single", "pair"])
@pytest.mark.parametrize("multichannel", [False, True], ids=["one-channel", "multichannel"])
@pytest.mark.parametrize("buckets", [(), (4, 9, 16)], ids=["eager", "bucketed"])
def test_folded_equals_unfolded_at_the_parity_shapes(pair, multichannel, buckets):
    model = student(pair, multichannel)
    wrap = PairStudentForExport if pair else StudentForExport
    unfolded, folded = wrap(model).eval(), wrap(fold(model, export_buckets=buckets)).eval()
    for name, (ids, mask) in parity_inputs(16, 60, 3, pair=pair).items():
        np.testing.assert_allclose(_logits(folded, ids, mask), _logits(unfolded, ids, mask), atol=1e-5, err_msg=name)


def test_int8_tables_have_one_scale_per_row_and_stay_close():
    model = student(False)
    q = fold(model, int8=True)
    assert q.gates.dtype == torch.int8 and q.gate_scale.shape == (2, 60, 1)
    assert q.gates.abs().amax(-1).eq(127).all()  # each row uses its full int8 range
    assert q.table_bytes() == 2 * 60 * 4 * 7 + 2 * 60 * 4
    for ids, mask in parity_inputs(16, 60, 3).values():
        diff = np.abs(_logits(StudentForExport(q), ids, mask) - _logits(StudentForExport(model), ids, mask)).max()
        assert 0 < diff < 0.05


def test_folded_onnx_matches_eager_to_1e_5(tmp_path):
    """The exported graph (one unrolled recurrence per bucket, chosen by If) at every parity shape."""
    import onnxruntime as ort

    from export.source import Source
    from export.targets.onnx_folded import export_buckets
    from export.targets.onnx_fp32 import export_onnx

    for pair in (False, True):
        model = student(pair)
        wrap = PairStudentForExport if pair else StudentForExport
        source = Source(name="s", kind="student", module=wrap(fold(model, export_buckets=export_buckets(16))),
                        encoder=None, checkpoint=None, label_names=["a", "b", "c"], max_length=16, vocab_size=60,
                        first_token_id=3, pair=pair)
        path = tmp_path / f"folded-{pair}.onnx"
        export_onnx(source, path)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for name, (ids, mask) in parity_inputs(16, 60, 3, pair=pair).items():
            got = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            np.testing.assert_allclose(got, _logits(wrap(model).eval(), ids, mask), atol=1e-5, err_msg=name)


def test_export_buckets_end_at_the_model_length():
    from export.targets.onnx_folded import export_buckets
    assert export_buckets(64) == (8, 16, 24, 32, 48, 64)
    assert export_buckets(20) == (8, 16, 20)
    assert export_buckets(5) == (5,)


def test_the_measured_eager_form_picks_per_batch_size_and_keeps_the_logits():
    from distill.folded import MeasuredForm

    for pair in (False, True):
        model = student(pair)
        wrap = PairStudentForExport if pair else StudentForExport
        form = MeasuredForm(model, seq_len=8, repeats=3)
        assert set(form.choice) == {"batch 1", "batch 64"}
        assert all(c["picked"] in ("trained", "folded") and c["trained_ms"] > 0 and c["folded_ms"] > 0
                   for c in form.choice.values())
        for ids, mask in parity_inputs(16, 60, 3, pair=pair).values():
            np.testing.assert_allclose(_logits(wrap(form).eval(), ids, mask), _logits(wrap(model).eval(), ids, mask),
                                       atol=1e-5)


def test_folded_flops_leave_out_exactly_the_input_projection():
    # bench's GFLOP/s counts the computation each artifact runs: a folded one looks its gates up, so per
    # token it skips W_ih·e in both directions (2 FLOPs per weight) and keeps the recurrence and the head
    from bench.flops import flops_per_sample

    model = student(pair=False)
    ids = torch.randint(3, 60, (2, 6))
    mask = torch.ones_like(ids)
    trained = flops_per_sample(StudentForExport(model).eval(), ids, mask)
    folded = flops_per_sample(StudentForExport(fold(model)).eval(), ids, mask)
    w_ih = model.lstm_fwd.weight_ih_l0.numel() + model.lstm_bwd.weight_ih_l0.numel()
    assert trained - folded == pytest.approx(2 * w_ih * 6)
