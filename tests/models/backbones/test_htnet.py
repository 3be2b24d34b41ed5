"""HTNet: the published size (139.6 M parameters, 1.28 GFLOP per sample), level shapes, local
attention inside blocks, MER-CLIP's area tokens, the small model, errors."""
import pytest
import torch

import mer_clip  # noqa: F401
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

from mer_clip.models.backbones import HTNet
from mer_clip.models.backbones.htnet import from_blocks, to_blocks

init_default_scope('mmaction')
SMALL = dict(dim=32, heads=2, block_repeats=(1, 1, 2))  # configs/_base_/models/htnet_small_flow.py


def test_published_size_parameters_and_flops():
    """patch 7, dim 256, heads 3, 3 levels, blocks (2, 2, 10) with HTNet's linear head:
    139.6 M parameters and 1.28 GFLOP forward + backward per 28 x 28 sample (issue 25)."""
    from torch.utils.flop_counter import FlopCounterMode
    with torch.device('meta'):  # shapes and counts without allocating the 560 MB of weights
        net = MODELS.build(dict(type='HTNet'))
        head = torch.nn.Linear(net.out_channels, 3)
        n = sum(p.numel() for p in net.parameters()) + sum(p.numel() for p in head.parameters())
        assert n == 139_582_982 and round(n / 1e6, 1) == 139.6
        top = sum(p.numel() for p in net.levels[2].parameters())
        assert top / n > 0.9  # most of it in the 10 top blocks at width 1024
        with FlopCounterMode(display=False) as flops:
            out = net(torch.randn(1, 3, 28, 28))
            head(out.mean((2, 3))).sum().backward()
    assert round(flops.get_total_flops() / 1e9, 2) == 1.28
    assert out.shape == (1, 1024, 1, 1)


def test_level_shapes_and_widths():
    net = HTNet(**SMALL)
    outs = net.forward_levels(torch.randn(2, 3, 28, 28))
    # 28 / 7 = 4 x 4 patches; each aggregation doubles the width and halves the map
    assert [tuple(o.shape) for o in outs] == [(2, 32, 4, 4), (2, 64, 2, 2), (2, 128, 1, 1)]
    assert net.grids == [4, 2, 1] and net.level_sizes == (4, 2, 1)
    assert [lv.blocks[0][1].heads for lv in net.levels] == [2, 4, 8]
    assert [len(lv.blocks) for lv in net.levels] == [1, 1, 2]


def test_blocks_round_trip_and_attention_stays_inside_a_block():
    x = torch.randn(2, 5, 8, 8)
    blocks = to_blocks(x, 2)  # (8, 5, 4, 4): block (i, j) of sample b is row b*4 + i*2 + j
    assert torch.equal(blocks[1], x[0, :, :4, 4:]) and torch.equal(from_blocks(blocks, 2), x)
    # 56 px -> 8 x 8 patches cut into 4 x 4 blocks of 2 x 2 tokens: a change in one block
    # reaches the other tokens of its block in the first level, no token of another block
    net = HTNet(image_size=56, **SMALL).eval()
    x = torch.randn(1, 3, 56, 56)
    y = x.clone()
    y[:, :, :7, :7] += 1.0  # patch (0, 0), in block (0, 0)
    with torch.no_grad():
        a, b = net.forward_levels(x)[0], net.forward_levels(y)[0]
    changed = (a - b).abs().amax(1)[0] > 1e-6  # (8, 8) positions
    assert changed[:2, :2].all() and changed.sum() == 4


def test_tokens_for_mer_clip():
    net = MODELS.build(dict(type='HTNet', out_type='tokens', token_dim=64, **SMALL))
    fused, tokens = net(torch.randn(3, 3, 28, 28))
    assert fused.shape == (3, 64) and tokens.shape == (3, 4, 64) and net.out_channels == 64
    assert net.area_level == 1  # the 2 x 2 map: one position per facial area
    # each area token reads its own quarter of the mosaic through the level-1 map
    x = torch.randn(1, 3, 28, 28)
    net.eval()
    with torch.no_grad():
        base = net.forward_levels(x)[1]
        x2 = x.clone()
        x2[:, :, 14:, 14:] += 1.0  # the right-lip area
        moved = (net.forward_levels(x2)[1] - base).abs().amax(1)[0]
    assert moved[1, 1] > 0  # its own token changes (others may too, via the 3 x 3 convs)


def test_small_model_size_and_training_step():
    net = HTNet(**SMALL)
    assert sum(p.numel() for p in net.parameters()) == 555_907  # 0.4 % of the published size
    head = torch.nn.Linear(net.out_channels, 3)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=1e-3)
    x, y = torch.randn(8, 3, 28, 28), torch.randint(0, 3, (8, ))
    losses = []
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(head(net(x).mean((2, 3))), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='multiple of patch_size'):
        HTNet(image_size=30)
    with pytest.raises(ValueError, match='block_repeats'):
        HTNet(block_repeats=(2, 2))
    with pytest.raises(ValueError, match='token_dim'):
        HTNet(out_type='tokens')
    with pytest.raises(ValueError, match='CropFacialAreas'):
        HTNet(**SMALL)(torch.randn(1, 3, 32, 32))
