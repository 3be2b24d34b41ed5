import math

import pytest
import torch
import torch.nn.functional as F

from mmaction.registry import MODELS


def _build(**kwargs):
    return MODELS.build(dict(type='SoftmaxFocalLoss', **kwargs))


def test_gamma_zero_is_cross_entropy():
    torch.manual_seed(0)
    logits, labels = torch.randn(7, 5), torch.randint(0, 5, (7, ))
    assert torch.allclose(_build(gamma=0.0)(logits, labels), F.cross_entropy(logits, labels),
                          atol=1e-6)
    alpha = [1.0, 2.0, 0.5, 3.0, 1.5]
    expected = F.cross_entropy(logits, labels, weight=torch.tensor(alpha))
    assert torch.allclose(_build(gamma=0.0, alpha=alpha)(logits, labels), expected, atol=1e-6)
    # soft targets (label smoothing) at gamma 0 are cross-entropy with probabilities
    soft = F.one_hot(labels, 5).float() * 0.9 + 0.02
    assert torch.allclose(_build(gamma=0.0)(logits, soft), F.cross_entropy(logits, soft),
                          atol=1e-6)


def test_matches_hand_computation():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = torch.tensor([0, 1])
    per_sample = []
    for row, y in zip(logits.tolist(), labels.tolist()):
        z = sum(math.exp(v) for v in row)
        p = math.exp(row[y]) / z
        per_sample.append(-(1 - p) ** 2 * math.log(p))
    loss = _build(gamma=2.0)(logits, labels)
    assert loss.item() == pytest.approx(sum(per_sample) / 2, rel=1e-6)
    # per-class weights: weighted mean over the targets' weights, like cross-entropy
    alpha = [0.25, 2.0, 1.0]
    weighted = (alpha[0] * per_sample[0] + alpha[1] * per_sample[1]) / (alpha[0] + alpha[1])
    assert _build(gamma=2.0, alpha=alpha)(logits, labels).item() == pytest.approx(weighted,
                                                                                  rel=1e-6)
    none = _build(gamma=2.0, reduction='none')(logits, labels)
    assert none.tolist() == pytest.approx(per_sample, rel=1e-6)
    # loss_weight scales the result (mmaction's BaseWeightedLoss)
    assert _build(gamma=2.0, loss_weight=3.0)(logits, labels).item() == pytest.approx(
        3 * sum(per_sample) / 2, rel=1e-6)


def test_focal_down_weights_easy_samples():
    easy = torch.tensor([[6.0, 0.0, 0.0]])
    hard = torch.tensor([[0.0, 0.0, 0.5]])
    label = torch.tensor([0])
    ratio_easy = _build(gamma=2.0)(easy, label) / F.cross_entropy(easy, label)
    ratio_hard = _build(gamma=2.0)(hard, label) / F.cross_entropy(hard, label)
    assert ratio_easy < 0.01 < 0.3 < ratio_hard


def test_float32_under_half_precision_logits():
    torch.manual_seed(1)
    logits, labels = torch.randn(6, 4), torch.randint(0, 4, (6, ))
    ref = _build()(logits, labels)
    half = _build()(logits.bfloat16(), labels)
    assert half.dtype == torch.float32
    assert torch.allclose(half, ref, rtol=2e-2)


@pytest.mark.parametrize('alpha', [None, [1.0, 2.0, 0.5, 3.0]])
def test_float32_under_bf16_autocast(alpha):
    """Under bf16 autocast the loss is float32 and the float32 computation of the same logits."""
    torch.manual_seed(2)
    logits, labels = torch.randn(16, 4) * 4, torch.randint(0, 4, (16, ))
    for x in (logits, logits.bfloat16()):  # a bf16 classifier's logits, or float32 ones
        ref = _build(alpha=alpha)(x.float(), labels)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = _build(alpha=alpha)(x, labels)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-7)


def test_gradient_flows():
    logits = torch.randn(4, 3, requires_grad=True)
    _build()(logits, torch.tensor([0, 1, 2, 0])).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match='alpha has 2 class weights'):
        _build(alpha=[1.0, 1.0])(torch.randn(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 3\)'):
        _build()(torch.randn(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match='gamma'):
        _build(gamma=-1.0)
