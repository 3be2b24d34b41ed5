"""StackedAdamW: per-fold AdamW steps equal torch.optim.AdamW's; inactive folds stay as they are."""
import torch

from mer_clip.loso.batched.stacked_adamw import StackedAdamW


def test_steps_equal_torch_adamw_per_fold_and_skip_inactive_folds():
    torch.manual_seed(0)
    w0 = torch.randn(3, 4, 5)
    stacked = {'w': torch.nn.Parameter(w0.clone())}
    opt = StackedAdamW(stacked, betas=(0.9, 0.999), eps=1e-8)
    refs = [torch.nn.Parameter(w0[f].clone()) for f in range(3)]
    lrs, decay = [1e-3, 3e-3, 1e-2], [0.01, 0.0, 0.05]
    ref_opts = [torch.optim.AdamW([refs[f]], lr=lrs[f], weight_decay=decay[f]) for f in range(3)]
    grads = torch.randn(4, 3, 4, 5)
    actives = [[True, True, True], [True, False, True], [False, False, True], [True, True, True]]
    for g, active in zip(grads, actives):
        stacked['w'].grad = g.clone()
        opt.step(torch.tensor(active), {'w': torch.tensor(lrs, dtype=torch.float64)},
                 {'w': torch.tensor(decay, dtype=torch.float64)})
        for f in range(3):
            if active[f]:
                refs[f].grad = g[f].clone()
                ref_opts[f].step()
    for f in range(3):
        torch.testing.assert_close(stacked['w'][f], refs[f], rtol=1e-6, atol=1e-7)
    assert opt.step_count.tolist() == [3, 2, 4]
    # an inactive fold is untouched: no decay, no moment update
    w = stacked['w'].detach().clone()
    stacked['w'].grad = torch.ones_like(w)
    opt.step(torch.tensor([False, True, False]), {'w': torch.tensor(lrs, dtype=torch.float64)},
             {'w': torch.tensor(decay, dtype=torch.float64)})
    assert torch.equal(stacked['w'][0], w[0]) and torch.equal(stacked['w'][2], w[2])
    assert not torch.equal(stacked['w'][1], w[1])
