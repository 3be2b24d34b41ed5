"""The backbone output contract: every supported output gives (F_g, tokens or None)."""
import pytest
import torch

from mer_clip.models.backbones.visual_features import split_fused_and_tokens


def test_every_backbone_output_splits_into_fused_and_tokens():
    fused, tokens = torch.randn(2, 8), torch.randn(2, 5, 8)
    for out in ((fused, tokens), [fused, tokens], {'fused': fused, 'local_tokens': tokens}):
        f, t = split_fused_and_tokens(out)
        assert f is fused and t is tokens
    f, t = split_fused_and_tokens({'fused': fused})
    assert f is fused and t is None
    f, t = split_fused_and_tokens(fused)  # (B, C): no tokens
    assert f is fused and t is None
    fmap = torch.randn(2, 8, 2, 3, 3)  # (B, C, T, H, W): positions are the tokens
    f, t = split_fused_and_tokens(fmap)
    assert t.shape == (2, 18, 8) and torch.equal(t[:, 4], fmap[:, :, 0, 1, 1])
    assert torch.allclose(f, t.mean(1))


def test_unsupported_outputs_say_what_is_expected():
    with pytest.raises(KeyError, match="'fused'"):
        split_fused_and_tokens({'local_tokens': torch.zeros(1, 2, 3)})
    with pytest.raises(ValueError, match='got 3 items'):
        split_fused_and_tokens((torch.zeros(1, 2),) * 3)
    with pytest.raises(ValueError, match=r'got shape \(4,\)'):
        split_fused_and_tokens(torch.zeros(4))
    with pytest.raises(TypeError, match='str'):
        split_fused_and_tokens('features')
