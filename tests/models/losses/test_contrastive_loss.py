"""The contrastive loss of the AU-text alignment: same AU content is not a mismatch."""
import pytest
import torch

from mer_clip.models.losses.contrastive_loss import (contrastive_loss, gather_with_grad, key_ids,
                                                     world_size)


def same_content_batch():
    """Samples 0 and 1: same AU content, prompts with different templates, identical clips."""
    t = torch.nn.functional.normalize(torch.tensor([[1., 0.2, 0., 0.], [1., -0.2, 0., 0.],
                                                    [0., 0., 1., 0.], [0., 0., 0., 1.]]), dim=-1)
    v = t.clone()
    v[0] = v[1] = torch.nn.functional.normalize(t[0] + t[1], dim=0)  # matches its content
    keys = ['4', '4', '12', 'L2']
    return v, t, keys


def test_same_content_pair_is_not_punished_as_mismatch():
    v, t, keys = same_content_batch()
    scale = torch.tensor(1 / 0.07)
    v.requires_grad_(True)
    naive = contrastive_loss(v, t, scale, key_ids(keys), 'naive')
    (g_naive, ) = torch.autograd.grad(naive, v)
    multi = contrastive_loss(v, t, scale, key_ids(keys), 'multi_positive')
    (g_multi, ) = torch.autograd.grad(multi, v)
    masked = contrastive_loss(v, t, scale, key_ids(keys), 'mask')
    (g_mask, ) = torch.autograd.grad(masked, v)
    # matched features: ~0 for the content-aware losses, log(2)/2 of "mismatch" for naive CLIP
    assert multi < 1e-2 and masked < 1e-2 and naive > 0.3
    # naive CLIP pushes clip 0 towards its own template's text and away from the other template's
    # text of the same AUs: a gradient along t0 - t1. The multi-positive/masked losses do not.
    direction = torch.nn.functional.normalize(t[0] - t[1], dim=0)
    assert abs(g_naive[0] @ direction) > 0.1
    assert abs(g_multi[0] @ direction) < 1e-5 and abs(g_mask[0] @ direction) < 1e-5


def test_key_ids_are_stable_and_modes_checked():
    ids = key_ids(['4', '4', 'R12', 4])
    assert ids.dtype == torch.long and ids[0] == ids[1] and len(set(ids.tolist())) == 3
    assert torch.equal(ids, key_ids(['4', '4', 'R12', 4]))  # no per-process hash seed
    with pytest.raises(ValueError, match='duplicate_prompts'):
        contrastive_loss(torch.eye(2), torch.eye(2), torch.tensor(1.0), None, 'ignore')


def test_without_process_group_nothing_is_gathered():
    x = torch.randn(3, 4)
    assert world_size() == 1 and gather_with_grad(x) is x


@pytest.mark.parametrize('mode', ['multi_positive', 'mask', 'naive'])
def test_float32_under_bf16_autocast(mode):
    """Under bf16 autocast the loss is float32 and equals the float32 computation: the logit
    matmul must not run in bf16 (it rounds logits of ~14 by up to 2^-4)."""
    torch.manual_seed(0)
    v = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    t = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    scale, ids = torch.tensor(1 / 0.07), key_ids([0, 0, 1, 2, 3, 4, 5, 6])
    for a, b in ((v, t), (v.bfloat16(), t.bfloat16())):  # float32 or bf16 features
        ref = contrastive_loss(a.float(), b.float(), scale, ids, mode)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = contrastive_loss(a, b, scale, ids, mode)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)
