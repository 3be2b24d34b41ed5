"""AUTextAlignHead: shapes, CLIP parity, fp32 under autocast, duplicates, DDP gather, overfit."""
import os

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from open_clip.loss import ClipLoss

from mmaction.registry import MODELS
from mer_clip.au.codes import AUCode
from mer_clip.au.prompts import au_key, au_prompt
from mer_clip.models.heads import AUTextAlignHead
from mer_clip.models.losses.contrastive_loss import contrastive_loss, key_ids
from tests.models.losses.test_contrastive_loss import same_content_batch


def test_shapes_normalisation_and_init():
    head = MODELS.build(dict(type='AUTextAlignHead', visual_dim=12, text_dim=20, embed_dim=8))
    v, t = head(torch.randn(5, 12), torch.randn(5, 20))
    assert v.shape == t.shape == (5, 8)
    torch.testing.assert_close(v.norm(dim=-1), torch.ones(5))
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(5))
    assert head.scale().item() == pytest.approx(1 / 0.07, rel=1e-5)
    assert head.logit_scale.requires_grad
    fixed = AUTextAlignHead(12, 20, 8, temperature=0.05, learnable_temperature=False)
    assert 'logit_scale' not in dict(fixed.named_parameters())
    assert fixed.scale().item() == pytest.approx(20.0, rel=1e-5)
    with torch.no_grad():
        head.logit_scale.fill_(10.)  # exp(10) > 100: capped like CLIP
    assert head.scale().item() == pytest.approx(100.0)
    ident = AUTextAlignHead(12, 8, 8, text_projector='identity')
    x = torch.randn(3, 8)
    torch.testing.assert_close(ident.project_text(x), torch.nn.functional.normalize(x, dim=-1))
    with pytest.raises(ValueError):
        AUTextAlignHead(12, 20, 8, text_projector='identity')
    with pytest.raises(ValueError):
        AUTextAlignHead(12, 20, 8, duplicate_prompts='ignore')


def test_distinct_prompts_equal_open_clip_clip_loss():
    torch.manual_seed(0)
    head = AUTextAlignHead(12, 20, 8, loss_weight=2.0)
    vis, txt = torch.randn(6, 12), torch.randn(6, 20)
    texts = [f'prompt {i}' for i in range(6)]
    out = head.loss(vis, txt, texts)
    v, t = head(vis, txt)
    ref = ClipLoss()(v, t, head.scale())
    torch.testing.assert_close(out['loss_clip'], 2.0 * ref)
    for mode in ('mask', 'naive'):
        torch.testing.assert_close(contrastive_loss(v, t, head.scale(), key_ids(texts), mode), ref)


def test_loss_is_float32_under_bf16_autocast():
    torch.manual_seed(0)
    head = AUTextAlignHead(12, 20, 8)
    vis, txt = torch.randn(6, 12), torch.randn(6, 20)
    texts = ['a', 'b', 'a', 'c', 'd', 'b']
    ref = head.loss(vis, txt, texts)['loss_clip']
    with torch.autocast('cpu', dtype=torch.bfloat16):
        vis16 = torch.nn.Linear(12, 12)(vis)  # bf16 activations, as from an autocast backbone
        assert vis16.dtype == torch.bfloat16
        out = head.loss(vis.bfloat16(), txt.bfloat16(), texts)['loss_clip']
    assert out.dtype == torch.float32
    # only the bf16 rounding of the inputs differs; a bf16 loss would be off by ~1e-2
    torch.testing.assert_close(out, ref, rtol=5e-3, atol=5e-3)


def test_group_keys_not_texts_decide_duplicates():
    """Via the head, group_keys (AU content) decide, not the template-dependent texts (the loss
    itself: tests/models/losses/test_contrastive_loss.py)."""
    v, t, keys = same_content_batch()
    scale = torch.tensor(1 / 0.07)
    naive = contrastive_loss(v, t, scale, key_ids(keys), 'naive')
    multi = contrastive_loss(v, t, scale, key_ids(keys), 'multi_positive')
    head = AUTextAlignHead(4, 4, 4, text_projector='identity')
    with torch.no_grad():
        head.visual_proj.weight.copy_(torch.eye(4))
        head.visual_proj.bias.zero_()
    texts = ['This ME involves lowering the brows.', 'Key features are lowering the brows.',
             'x', 'y']
    by_text = head.loss(v.detach(), t, texts)['loss_clip']
    by_key = head.loss(v.detach(), t, texts, group_keys=keys)['loss_clip']
    torch.testing.assert_close(by_text, naive.detach())
    torch.testing.assert_close(by_key, multi.detach())


def test_contrastive_loss_falls_on_tiny_overfit():
    """Synthetic clip features driven by their AUs, prompts drawn with random templates."""
    from mer_clip.models.text import CLIPTextEncoder
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    combos = [[AUCode(4)], [AUCode(12, 'R')], [AUCode(1), AUCode(2)],
              [AUCode(4), AUCode(7)], [AUCode(14, 'L')], [AUCode(17), AUCode(24)]]
    au_dirs = torch.randn(30, 16)
    text_enc = CLIPTextEncoder(arch=dict(embed_dim=24, context_length=77, vocab_size=49408,
                                         width=32, heads=2, layers=1))
    head = AUTextAlignHead(16, 24, embed_dim=16)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    losses = []
    for step in range(120):
        idx = rng.integers(len(combos), size=8)
        aus = [combos[i] for i in idx]
        # a clip = sum of its AUs' directions + noise
        clips = torch.stack([sum(au_dirs[a.au] for a in c) for c in aus]) + \
            0.1 * torch.randn(8, 16)
        texts = [au_prompt(c, rng=rng) for c in aus]
        loss = head.loss(clips, text_enc(texts), texts, [au_key(c) for c in aus])['loss_clip']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    first, last = np.mean(losses[:10]), np.mean(losses[-10:])
    assert last < 0.5 * first, (first, last)
    assert text_enc.cache_size <= 6 * 7  # combos x templates, encoded once each


# ---------------------------------------------------------------------------- DDP (gloo, 2 ranks)
def _ddp_worker(rank, world, init_file, out_dir):
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    torch.manual_seed(0)
    head = AUTextAlignHead(6, 5, 4)
    vis, txt = torch.randn(5, 6), torch.randn(5, 5)
    keys = ['a', 'b', 'a', 'c', 'b']
    shard = slice(0, 3) if rank == 0 else slice(3, 5)  # unequal shards: 3 and 2
    out = head.loss(vis[shard], txt[shard], group_keys=keys[shard])
    out['loss_clip'].backward()
    grads = {}
    for name, p in head.named_parameters():  # what DDP does: average over ranks
        g = p.grad.clone()
        dist.all_reduce(g)
        grads[name] = g / world
    torch.save(dict(loss=out['loss_clip'].detach(), grads=grads), f'{out_dir}/rank{rank}.pt')
    dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_gather_gives_global_batch_loss_and_gradients(tmp_path):
    # fork: the children reuse the imported modules (spawn would re-import mmaction, ~20 s)
    mp.start_processes(_ddp_worker, args=(2, str(tmp_path / 'pg'), str(tmp_path)), nprocs=2,
                       join=True, start_method='fork')
    torch.manual_seed(0)
    head = AUTextAlignHead(6, 5, 4)
    vis, txt = torch.randn(5, 6), torch.randn(5, 5)
    ref = head.loss(vis, txt, group_keys=['a', 'b', 'a', 'c', 'b'])['loss_clip']
    ref.backward()
    for rank in range(2):
        res = torch.load(tmp_path / f'rank{rank}.pt')
        torch.testing.assert_close(res['loss'], ref.detach())
        for name, p in head.named_parameters():
            torch.testing.assert_close(res['grads'][name], p.grad, msg=f'rank {rank}: {name}')
    assert os.path.exists(tmp_path / 'rank1.pt')


def test_empty_batch_is_a_zero_loss_in_the_graph():
    head = AUTextAlignHead(6, 5, 4)
    out = head.loss(torch.zeros(0, 6, requires_grad=True), torch.zeros(0, 5), texts=[],
                    group_keys=[])
    assert out['loss_clip'].item() == 0.0 and out['clip_samples'].item() == 0
    out['loss_clip'].backward()
    assert all(p.grad is not None and (p.grad == 0).all() for p in head.parameters())


# ------------------------------------------- DDP with samples without AUs (gloo, 2 ranks, real DDP)
class _Tiny(torch.nn.Module):
    """A visual layer + the align head, as MERCLIP uses them: masked rows never reach the head."""

    def __init__(self):
        super().__init__()
        self.visual = torch.nn.Linear(8, 6)
        self.head = AUTextAlignHead(6, 5, 4)

    def forward(self, x, txt, keys, mask):
        feat = self.visual(x)
        idx = torch.as_tensor([i for i, m in enumerate(mask) if m], dtype=torch.long)
        clip = self.head.loss(feat[idx], txt[idx], group_keys=[keys[i] for i in idx.tolist()])
        return clip['loss_clip'] + feat.pow(2).mean()  # + a stand-in for the classification loss


def _ddp_mask_worker(rank, world, init_file, out_dir):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    torch.manual_seed(0)
    model = DistributedDataParallel(_Tiny())  # find_unused_parameters=False: every param used
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(rank)
    x, txt = torch.randn(3, 8, generator=g), torch.randn(3, 5, generator=g)
    keys = ['a', 'b', 'c']
    masks = [[False] * 3,  # no sample with AUs on any rank
             [False] * 3 if rank == 0 else [True, False, True],  # rank 0 has none
             [True] * 3]
    losses = []
    for mask in masks:
        loss = model(x, txt, keys, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    params = torch.cat([p.detach().flatten() for p in model.parameters()])
    torch.save(dict(losses=losses, params=params), f'{out_dir}/mask_rank{rank}.pt')
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_steps_with_ranks_without_au_samples(tmp_path):
    mp.start_processes(_ddp_mask_worker, args=(2, str(tmp_path / 'pg'), str(tmp_path)), nprocs=2,
                       join=True, start_method='fork')
    res = [torch.load(tmp_path / f'mask_rank{r}.pt') for r in range(2)]
    assert all(np.isfinite(r['losses']).all() for r in res)
    torch.testing.assert_close(res[0]['params'], res[1]['params'])  # replicas stayed in sync
    # step 2, rank 0 has no AU sample: its contrastive term is the global one of rank 1's two
    torch.manual_seed(0)
    ref = _Tiny()
    g0, g1 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
    x0 = torch.randn(3, 8, generator=g0)
    x1, t1 = torch.randn(3, 8, generator=g1), torch.randn(3, 5, generator=g1)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    opt.zero_grad()  # step 1 as on the ranks: mean of the two ranks' (zero-clip) losses
    ((ref.visual(x0).pow(2).mean() + ref.visual(x1).pow(2).mean()) / 2).backward()
    opt.step()
    feat1 = ref.visual(x1)
    clip = ref.head.loss(feat1[[0, 2]], t1[[0, 2]], group_keys=['a', 'c'])['loss_clip']
    assert abs(res[0]['losses'][1] - (clip + ref.visual(x0).pow(2).mean()).item()) < 1e-5
    assert abs(res[1]['losses'][1] - (clip + feat1.pow(2).mean()).item()) < 1e-5
