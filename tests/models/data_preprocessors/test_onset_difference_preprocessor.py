"""OnsetDifferencePreprocessor: frames minus the onset frame, then normalisation and blending;
removes identity, keeps the movement, and commutes with LocalStaticFaceMix."""
import numpy as np
import pytest
import torch
from mmaction.structures import ActionDataSample

import mer_clip  # noqa: F401
from mer_clip.au.codes import AUCode
from mer_clip.face_renderer import ClipSpec, render_clip, sample_identity
from mer_clip.models.data_preprocessors.onset_difference import OnsetDifferencePreprocessor


def _clip(subject, aus=(AUCode(12), ), n=12, size=48):
    """(1, 3, T, H, W) uint8 clip of a subject, without head motion / noise."""
    ident = sample_identity(np.random.default_rng([3, subject, 0]))
    spec = ClipSpec(aus=list(aus), num_frames=n, onset=0, apex=n // 2, offset=n - 1,
                    jitter_px=0.0, rot_deg=0.0, illum_drift=0.0, noise_std=0.0)
    frames = render_clip(ident, spec, size, np.random.default_rng([subject, 1]))
    return torch.from_numpy(frames).permute(3, 0, 1, 2).unsqueeze(0).contiguous()


def _samples(onsets):
    out = []
    for k, onset in enumerate(onsets):
        s = ActionDataSample()
        s.set_metainfo(dict(onset_index=onset, sample_id=f's01_{k:03d}'))
        out.append(s)
    return out


def _prep(std=1.0, **kw):
    return OnsetDifferencePreprocessor(mean=[0.0] * 3, std=[std] * 3, format_shape='NCTHW', **kw)


def test_subtracts_each_samples_onset_frame_then_normalises():
    g = torch.Generator().manual_seed(0)
    clips = [torch.randint(0, 256, (1, 3, 4, 5, 6), dtype=torch.uint8, generator=g)
             for _ in range(2)]
    out = _prep(std=2.0)(dict(inputs=clips, data_samples=_samples([0, 2])))['inputs']
    assert out.shape == (2, 1, 3, 4, 5, 6) and out.dtype == torch.float32
    for i, onset in enumerate([0, 2]):
        x = clips[i].float()  # uint8 must not wrap around: 3 - 200 is -197, not 59
        torch.testing.assert_close(out[i], (x - x[:, :, onset:onset + 1]) / 2.0)
    assert not out[1, :, :, 2].any() and (out < 0).any()


def test_removes_identity_keeps_the_movement():
    a, b = _clip(0), _clip(1)  # two subjects, the same AU12 movement
    out = _prep()(dict(inputs=[a, b], data_samples=_samples([0, 0])))['inputs']
    da, db = out[0, 0, :, 6], out[1, 0, :, 6]  # apex frames (C, H, W)
    raw_gap = (a[0, :, 6].float() - b[0, :, 6].float()).abs().mean()
    assert (da - db).abs().mean() < 0.1 * raw_gap  # identity is gone
    assert da.abs().max() > 20  # the smile is kept
    still = _prep()(dict(inputs=[_clip(0, aus=())], data_samples=_samples([0])))['inputs']
    assert still.abs().max() == 0


def test_commutes_with_local_static_face_mix():
    clips = [_clip(s, n=8, size=32) for s in range(4)]
    mix = dict(type='LocalStaticFaceMix', prob=1.0, lam=0.5, seed=7)
    diff_then_mix = _prep(blending=mix)(
        dict(inputs=[c.clone() for c in clips], data_samples=_samples([0] * 4)), training=True)
    plain = OnsetDifferencePreprocessor(mean=[0.0] * 3, std=[1.0] * 3, format_shape='NCTHW')
    x = torch.stack(clips).float()  # (N, 1, C, T, H, W)
    from mer_clip.models.data_preprocessors.local_static_face_mix import LocalStaticFaceMix
    mixed_raw = LocalStaticFaceMix(prob=1.0, lam=0.5, seed=7)(x)[0]
    expected = mixed_raw - mixed_raw[:, :, :, :1]
    torch.testing.assert_close(diff_then_mix['inputs'], expected, atol=1e-3, rtol=0)
    unmixed = plain(dict(inputs=clips, data_samples=_samples([0] * 4)))['inputs']
    assert not torch.allclose(diff_then_mix['inputs'], unmixed)  # something was mixed


def test_clear_errors():
    clip = [torch.zeros(1, 3, 3, 4, 4, dtype=torch.uint8)]
    with pytest.raises(ValueError, match='s01_000'):
        _prep()(dict(inputs=clip, data_samples=_samples([5])))
    with pytest.raises(ValueError, match='NCTHW'):
        OnsetDifferencePreprocessor(mean=[0.0] * 3, std=[1.0] * 3, format_shape='NCHW')
