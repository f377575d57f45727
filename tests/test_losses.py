import pytest
import torch

from distill.losses import distill_loss, total_loss

STUDENT = torch.tensor([[1.0, -1.0], [0.5, 2.0], [0.0, 0.0]])
TEACHER = torch.tensor([[2.0, -2.0], [0.0, 1.0], [1.0, -1.0]])
LABELS = torch.tensor([0, 1, 1])


def test_mse_is_squared_distance_summed_over_classes_mean_over_batch():
    # (1+1) + (0.25+1) + (1+1) = 5.25 over 3 examples
    assert distill_loss(STUDENT, TEACHER, "mse").item() == pytest.approx(1.75)


def test_kl_with_temperature_pinned():
    # reference from numpy: mean over the batch of Σ p_t log(p_t / p_s) at T = 2, times T²
    assert distill_loss(STUDENT, TEACHER, "kl", temperature=2.0).item() == pytest.approx(0.247005, abs=1e-5)
    assert distill_loss(TEACHER, TEACHER, "kl", temperature=3.0).item() == pytest.approx(0.0, abs=1e-7)


def test_alpha_mixes_ce_and_distillation():
    ce = total_loss(STUDENT, LABELS, None, alpha=0.0).item()
    assert ce == pytest.approx(0.340496, abs=1e-5)  # plain baseline: CE only (numpy)
    assert total_loss(STUDENT, LABELS, TEACHER, alpha=0.0).item() == pytest.approx(1.75)
    assert total_loss(STUDENT, LABELS, TEACHER, alpha=1.0).item() == pytest.approx(ce)
    assert total_loss(STUDENT, LABELS, TEACHER, alpha=0.5).item() == pytest.approx(0.5 * ce + 0.5 * 1.75)
