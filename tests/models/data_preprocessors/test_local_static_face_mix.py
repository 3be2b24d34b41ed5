"""LocalStaticFaceMix: Eq. 1 exactly, motion preserved, partner/onset/regions, layouts, RNG."""
import copy

import pytest
import torch

import mer_clip  # noqa: F401  (registers components; must precede mmaction.models)
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

from mer_clip.models.data_preprocessors.local_static_face_mix import (DEFAULT_REGIONS,
                                                                      LocalStaticFaceMix)

torch.set_num_threads(1)
LAM = 0.5


def make_samples(onsets, labels=None):
    samples = []
    for i, onset in enumerate(onsets):
        s = ActionDataSample()
        s.set_gt_label(labels[i] if labels is not None else i % 3)
        s.set_metainfo(dict(onset_index=onset, au_prompt=f'prompt {i}', sample_id=f's{i}'))
        samples.append(s)
    return samples


def integer_clips(shape, seed=0):
    """Integer-valued floats: every step of Eq. 1 with lam = 0.5 is exact in float32."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-128, 128, shape, generator=g).float()


def region_mask(name, height, width):
    top, bottom, left, right = DEFAULT_REGIONS[name]
    m = torch.zeros(height, width)
    m[round(top * height):round(bottom * height), round(left * width):round(right * width)] = 1
    return m


def expected_eq1(x, info, names, onset):
    """Eq. 1 written out per clip (reference, loops are fine here). x: (N, V, C, T, H, W)."""
    y = x.clone()
    for i in range(x.shape[0]):
        if not info['mixed'][i]:
            continue
        j, r = int(info['partner'][i]), int(info['region'][i])
        m = region_mask(names[r], *x.shape[-2:])
        for v in range(x.shape[1]):
            static = x[j, v, :, int(onset[j, v])]  # (C, H, W), the partner's onset frame
            y[i, v] = x[i, v] * (1 - LAM * m) + LAM * m * static[:, None]
    return y


@pytest.mark.parametrize('layout', ['NCTHW', 'NVCTHW'])
def test_eq1_motion_preserved_exactly(layout):
    shape = (6, 3, 5, 16, 12) if layout == 'NCTHW' else (6, 2, 3, 5, 16, 12)
    x = integer_clips(shape)
    onsets = [0, 2, 1, 4, 0, 3]
    samples = make_samples(onsets)
    meta_before = copy.deepcopy([s.metainfo for s in samples])
    labels_before = [s.gt_label.clone() for s in samples]
    mix = LocalStaticFaceMix(prob=1.0, lam=LAM, seed=3)
    y, out_samples = mix(x.clone(), samples)
    info = mix.last_mix_info
    assert info['mixed'].all()

    x6 = x if layout == 'NVCTHW' else x.unsqueeze(1)
    y6 = y if layout == 'NVCTHW' else y.unsqueeze(1)
    assert torch.equal(y6, expected_eq1(x6, info, mix.region_names, info['onset_index']))
    for i in range(shape[0]):
        m = region_mask(mix.region_names[int(info['region'][i])], *shape[-2:])
        # motion: y_{t+1} - y_t == (1 - lam M) (x_{t+1} - x_t), bit for bit
        dy = y6[i, :, :, 1:] - y6[i, :, :, :-1]
        dx = x6[i, :, :, 1:] - x6[i, :, :, :-1]
        assert torch.equal(dy, (1 - LAM * m) * dx)
        # untouched outside M, changed inside M
        outside = m == 0
        assert torch.equal(y6[i][..., outside], x6[i][..., outside])
        assert not torch.equal(y6[i][..., ~outside], x6[i][..., ~outside])
    # labels stay hard, the metainfo (AU prompt, onset) is untouched
    assert out_samples is samples
    for s, meta, label in zip(out_samples, meta_before, labels_before):
        assert s.metainfo == meta
        assert torch.equal(s.gt_label, label)


def test_partner_is_other_clip_and_its_onset_is_blended():
    # every clip constant over space; clip n has value 10 * n at its onset frame, other frames
    # distinct, so the value in the region tells which clip and which frame were blended in
    num, t, h, w = 5, 4, 8, 8
    onsets = [3, 0, 2, 1, 3]
    x = torch.zeros(num, 1, t, h, w)
    for n in range(num):
        for f in range(t):
            x[n, :, f] = 1000 + 10 * n + f  # frame f of clip n
    mix = LocalStaticFaceMix(prob=1.0, lam=LAM, seed=11)
    for _ in range(20):
        y, _ = mix(x.clone(), make_samples(onsets))
        info = mix.last_mix_info
        for i in range(num):
            j = int(info['partner'][i])
            assert j != i and 0 <= j < num
            m = region_mask(mix.region_names[int(info['region'][i])], h, w).bool()
            static = x[j, 0, onsets[j], 0, 0]
            got = y[i, 0][:, m]  # (T, pixels)
            want = (x[i, 0, :, 0, 0] * (1 - LAM) + LAM * static)[:, None].expand_as(got)
            assert torch.equal(got, want)


def test_every_region_and_every_partner_drawn():
    x = torch.zeros(4, 1, 2, 8, 8)
    mix = LocalStaticFaceMix(prob=1.0, seed=0)
    regions, partners = set(), set()
    for _ in range(100):
        mix(x, make_samples([0] * 4))
        regions.update(mix.last_mix_info['region'].tolist())
        partners.update((i, p) for i, p in enumerate(mix.last_mix_info['partner'].tolist()))
    assert regions == {0, 1, 2, 3}
    assert partners == {(i, j) for i in range(4) for j in range(4) if i != j}


def test_probability_zero_one_and_half():
    x = integer_clips((8, 3, 3, 8, 8))
    samples = make_samples([0] * 8)
    y, _ = LocalStaticFaceMix(prob=0.0, seed=0)(x.clone(), samples)
    assert torch.equal(y, x)
    always = LocalStaticFaceMix(prob=1.0, seed=0)
    half = LocalStaticFaceMix(prob=0.5, seed=0)
    counts = 0
    for _ in range(50):
        y, _ = always(x.clone(), samples)
        assert always.last_mix_info['mixed'].all()
        assert all(not torch.equal(y[i], x[i]) for i in range(8))
        half(x.clone(), samples)
        counts += int(half.last_mix_info['mixed'].sum())
    assert 0.35 < counts / 400 < 0.65  # binomial(400, 0.5): 6 sigma margin


def test_not_inplace_leaves_input_and_inplace_writes_it():
    x = integer_clips((3, 3, 2, 8, 8))
    x0 = x.clone()
    y, _ = LocalStaticFaceMix(prob=1.0, seed=1, inplace=False)(x, make_samples([0] * 3))
    assert torch.equal(x, x0) and not torch.equal(y, x0)
    y2, _ = LocalStaticFaceMix(prob=1.0, seed=1, inplace=True)(x, make_samples([0] * 3))
    assert y2.data_ptr() == x.data_ptr() and torch.equal(y2, y)


def test_seeded_determinism_and_global_rng():
    x = integer_clips((6, 3, 3, 8, 8))
    samples = make_samples([0] * 6)
    runs = [LocalStaticFaceMix(prob=0.5, seed=7)(x.clone(), samples)[0] for _ in range(2)]
    assert torch.equal(runs[0], runs[1])
    g = torch.Generator().manual_seed(7)
    y, _ = LocalStaticFaceMix(prob=0.5, generator=g)(x.clone(), samples)
    assert torch.equal(y, runs[0])
    other = LocalStaticFaceMix(prob=0.5, seed=8)(x.clone(), samples)[0]
    assert not torch.equal(other, runs[0])
    glob = LocalStaticFaceMix(prob=0.5)  # no generator: the global torch RNG (mmengine seeds it)
    torch.manual_seed(123)
    a = glob(x.clone(), samples)[0]
    torch.manual_seed(123)
    b = glob(x.clone(), samples)[0]
    assert torch.equal(a, b)


def test_batch_of_one_is_a_noop():
    x = integer_clips((1, 3, 4, 8, 8))
    mix = LocalStaticFaceMix(prob=1.0, seed=0)
    y, _ = mix(x.clone(), make_samples([0]))
    assert torch.equal(y, x)
    assert not mix.last_mix_info['mixed'].any()


def test_custom_regions_and_bad_inputs():
    mix = LocalStaticFaceMix(prob=1.0, seed=0, regions=dict(eyes=(0.25, 0.5, 0.0, 1.0)))
    x = integer_clips((2, 1, 2, 8, 8))
    y, _ = mix(x.clone(), make_samples([0, 1]))
    changed = (y != x).any(dim=(0, 1, 2, 4))
    assert changed[2:4].all() and not changed[:2].any() and not changed[4:].any()
    with pytest.raises(ValueError, match='s1.*onset_index=9'):
        LocalStaticFaceMix(prob=1.0)(x.clone(), make_samples([0, 9]))
    with pytest.raises(ValueError, match='N, C, T, H, W'):
        LocalStaticFaceMix()(torch.zeros(2, 3, 8, 8), None)
    with pytest.raises(ValueError, match='region'):
        LocalStaticFaceMix(regions=dict(bad=(0.5, 0.25, 0.0, 1.0)))


def test_per_view_onset_index():
    x = integer_clips((3, 2, 1, 4, 8, 8))
    mix = LocalStaticFaceMix(prob=1.0, seed=5)
    y, _ = mix(x.clone(), make_samples([[0, 3], [1, 2], [3, 3]]))
    info = mix.last_mix_info
    assert info['onset_index'].tolist() == [[0, 3], [1, 2], [3, 3]]
    assert torch.equal(y, expected_eq1(x, info, mix.region_names, info['onset_index']))


def test_training_step_in_stock_recognizer():
    """ActionDataPreprocessor(blending=LocalStaticFaceMix) in a stock Recognizer3D trains."""
    from mmengine.optim import OptimWrapper
    from mmaction.utils import register_all_modules

    register_all_modules(init_default_scope=True)  # nested configs resolve in mmaction's scope
    model = MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='ResNet3d', depth=18, pretrained=None, pretrained2d=False,
                      base_channels=8),  # a stock 3D ResNet-18 at 1/8 width: fast on CPU
        cls_head=dict(type='I3DHead', num_classes=3, in_channels=64, average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor', mean=[127.5] * 3, std=[64.] * 3,
                               format_shape='NCTHW',
                               blending=dict(type='LocalStaticFaceMix', prob=1.0, seed=0))))
    blending = model.data_preprocessor.blending
    assert isinstance(blending, LocalStaticFaceMix)
    g = torch.Generator().manual_seed(0)
    data = dict(inputs=[torch.randint(0, 256, (1, 3, 4, 32, 32), generator=g).to(torch.uint8)
                        for _ in range(3)],
                data_samples=make_samples([0, 1, 2], labels=[0, 1, 2]))
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    before = [p.detach().clone() for p in model.parameters()]
    losses = model.train_step(data, optim)
    assert torch.isfinite(losses['loss_cls'])
    assert blending.last_mix_info['mixed'].all()
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
