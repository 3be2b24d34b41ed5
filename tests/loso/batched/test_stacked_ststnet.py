"""StackedSTSTNet: F folds' STSTNet + TSNHead as one grouped network equal F separate models."""
import copy

import torch
import torch.nn.functional as F

from mer_clip.loso.batched.stacked_ststnet import StackedSTSTNet
from tests.conftest import seeded_models


def _models(n):
    return seeded_models('configs/_base_/models/ststnet_flow.py', n)


def test_a_training_step_of_three_folds_equals_three_models():
    models = _models(3)
    refs = copy.deepcopy(models)
    stacked = StackedSTSTNet(models).train()
    x = torch.randn(3, 8, 3, 28, 28)
    y = torch.randint(0, 3, (3, 8))
    masks = torch.empty(3, 8, 16, 10, 10).bernoulli_(0.5).div_(0.5)
    logits = stacked(x, torch.arange(3), [masks])  # (3, 8, 3)
    F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction='none').view(3, 8).mean(1) \
        .sum().backward()
    for f, ref in enumerate(refs):
        ref.train()
        # channels_last, as the per-fold runs see the pipeline's HWC images: the stacked model's
        # layout, so the sums run in the same order (contiguous maps differ by ~7e-6)
        h = ref.backbone.streams[:4](x[f].contiguous(memory_format=torch.channels_last))
        h = h * masks[f]
        out = ref.cls_head.fc_cls(ref.backbone.pool(h).flatten(1))
        F.cross_entropy(out, y[f]).backward()
        torch.testing.assert_close(logits[f], out, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(stacked.conv_w.grad[f], ref.backbone.streams[0].weight.grad,
                                   rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(stacked.fc_w.grad[f], ref.cls_head.fc_cls.weight.grad,
                                   rtol=1e-4, atol=1e-6)
        state = stacked.fold_state_dict(f)  # the running statistics of this fold's batch only
        for key, value in ref.state_dict().items():
            torch.testing.assert_close(state[key], value, rtol=1e-5, atol=1e-6)


def test_a_subset_of_folds_updates_only_its_statistics():
    models = _models(3)
    stacked = StackedSTSTNet(models).train()
    before = stacked.bn_mean.clone()
    stacked(torch.randn(1, 4, 3, 28, 28), torch.tensor([1]),
            [torch.ones(1, 4, 16, 10, 10)])
    assert torch.equal(stacked.bn_mean[[0, 2]], before[[0, 2]])
    assert not torch.equal(stacked.bn_mean[1], before[1])
    assert stacked.bn_count.tolist() == [0, 1, 0]
