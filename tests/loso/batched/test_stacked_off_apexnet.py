"""StackedOFFApexNet: F folds' OFF-ApexNet + TSNHead as one grouped network equal F models."""
import copy

import torch
import torch.nn.functional as F

from mer_clip.loso.batched.stacked_off_apexnet import StackedOFFApexNet
from tests.conftest import seeded_models


def _models(n):
    return seeded_models('configs/_base_/models/offapexnet_flow.py', n)


def _reference(model, x, masks):
    """The per-fold model's training forward with the given dropout masks."""
    bb = model.backbone
    maps = torch.cat([s(x[:, c:c + 1]) for s, c in zip(bb.streams, bb.flow_channels)], 1)
    h = maps.flatten(1)
    for i, mask in enumerate(masks):
        h = F.relu(bb.fc[3 * i](h)) * mask
    return model.cls_head.fc_cls(h)


def test_a_training_step_of_folds_equals_separate_models_also_for_a_subset():
    models = _models(3)
    refs = copy.deepcopy(models)
    stacked = StackedOFFApexNet(models).train()
    x = torch.randn(3, 4, 3, 28, 28)
    y = torch.randint(0, 3, (3, 4))
    specs = stacked.mask_specs(x[0])
    assert [s[1] for s in specs] == [(4, 1024), (4, 1024)]
    masks = [torch.empty(3, *shape).bernoulli_(1 - p).div_(1 - p) for p, shape, _ in specs]
    folds = torch.tensor([0, 2])  # a subset: fold 1 has no batch at this step
    logits = stacked(x[folds], folds, [m[folds] for m in masks])  # (2, 4, 3)
    stacked.fold_losses(logits, y[folds], 0).sum().backward()
    for g, f in enumerate(folds.tolist()):
        ref = refs[f].train()
        out = _reference(ref, x[f], [m[f] for m in masks])
        F.cross_entropy(out, y[f]).backward()
        torch.testing.assert_close(logits[g], out, rtol=1e-5, atol=1e-6)
        grads = {k: p.grad for k, p in ref.named_parameters()}
        for key, name in stacked.param_names.items():
            torch.testing.assert_close(getattr(stacked, name).grad[f], grads[key],
                                       rtol=1e-4, atol=1e-6)
    assert not stacked.backbone_fc_0_weight.grad[1].any()  # the fold without a batch
    state = stacked.fold_state_dict(1)
    assert state.keys() == refs[1].state_dict().keys()
    for key, value in refs[1].state_dict().items():
        assert torch.equal(state[key], value)
    stacked.eval()  # eval: no masks, the per-fold model's eval forward
    ref = refs[1].eval()
    torch.testing.assert_close(stacked(x, torch.arange(3))[1],
                               ref.cls_head.fc_cls(ref.backbone(x[1])), rtol=1e-5, atol=1e-6)
