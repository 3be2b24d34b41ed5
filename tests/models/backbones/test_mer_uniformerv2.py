import pytest
import torch

from mer_clip.checkpoint import CheckpointError
from mer_clip.models.backbones.mer_uniformerv2 import CheckpointMismatchError, MERUniFormerV2
from mmaction.models.backbones.uniformerv2 import UniFormerV2
from mmaction.registry import MODELS
from tests.models.tiny import tiny_uniformerv2_cfg


def _tiny(**kw):
    torch.manual_seed(0)
    model = MODELS.build(tiny_uniformerv2_cfg(**kw))
    model.init_weights()
    return model


def _clips(b=2, t=8, s=32, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 3, t, s, s, generator=g)


def test_shapes_and_eq3_fusion():
    model = _tiny(output='all').eval()
    out = model(_clips())
    # 8 frames -> T' = 4 (temporal downsample), 32 px / patch 8 -> 4 x 4 positions
    assert out['fused'].shape == (2, 64)
    assert out['cls_local'].shape == (2, 64)
    assert out['global'].shape == (2, 64)
    assert out['local_tokens'].shape == (2, 4 * 16, 64)
    # Eq. 3 from the exposed parts reproduces the fused output
    s = torch.sigmoid(model.fusion_logit)
    eq3 = model.transformer.norm(s * out['cls_local'] + (1 - s) * out['global'])
    assert torch.allclose(eq3, out['fused'], atol=1e-5)
    # fused output is exactly what mmaction's UniFormerV2 computes with the same weights
    stock = UniFormerV2(**{k: v for k, v in tiny_uniformerv2_cfg().items() if k != 'type'},
                        clip_pretrained=False)
    stock.load_state_dict(model.state_dict())
    stock.eval()
    assert torch.allclose(stock(_clips()), out['fused'], atol=1e-5)


def test_output_modes_and_local_pooling():
    x = _clips()
    fused, tokens = _tiny().eval()(x)
    assert fused.shape == (2, 64) and tokens.shape == (2, 64, 64)
    assert _tiny(output='fused').eval()(x).shape == (2, 64)
    _, per_pos = _tiny(local_pool='time').eval()(x)
    _, per_frame = _tiny(local_pool='space').eval()(x)
    assert per_pos.shape == (2, 16, 64) and per_frame.shape == (2, 4, 64)
    # frame-major token order: pooling the full tokens by hand gives the pooled ones
    assert torch.allclose(tokens.view(2, 4, 16, 64).mean(1), per_pos, atol=1e-5)
    assert torch.allclose(tokens.view(2, 4, 16, 64).mean(2), per_frame, atol=1e-5)


def test_fusion_weight_gets_gradient_and_learns():
    model = _tiny().train()
    a_before = model.fusion_logit.detach().clone()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    fused, _ = model(_clips())
    (fused * torch.linspace(-1, 1, 64)).sum().backward()
    assert model.fusion_logit.grad is not None
    assert model.fusion_logit.grad.abs().sum() > 0
    opt.step()
    assert not torch.equal(model.fusion_logit.detach(), a_before)


def test_wrong_input_size_is_a_clear_error():
    model = _tiny()
    with pytest.raises(ValueError, match='built for 8 frames of 32x32'):
        model(_clips(t=8, s=48))
    with pytest.raises(ValueError, match='NCTHW'):
        model(torch.randn(2, 8, 3, 32, 32))


def test_load_saved_weights_round_trip(tmp_path):
    src = _tiny()
    # mmaction recognizer checkpoint layout: {'state_dict': {'backbone.*': ...}}
    path = tmp_path / 'uniformerv2_tiny.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()},
                'meta': {}}, path)
    torch.manual_seed(123)
    dst = MODELS.build(tiny_uniformerv2_cfg(pretrained=str(path)))
    x = _clips()
    src.eval(), dst.eval()
    assert not torch.allclose(src(x)[0], dst(x)[0])
    dst.init_weights()
    for (a, b) in zip(src(x), dst(x)):
        assert torch.equal(a, b)


def test_load_clip_vit_weights_inflates_patch_embedding(tmp_path):
    src = _tiny()
    # an open_clip-style visual state dict: 'visual.' prefix, 2D patch embedding, extra keys
    vit = {f'visual.{k}': v for k, v in src.state_dict().items()
           if MERUniFormerV2._is_vit_key(k) and k != 'conv1.weight'}
    vit['visual.conv1.weight'] = torch.randn(64, 3, 8, 8)
    vit['visual.proj'] = torch.randn(64, 32)
    vit['token_embedding.weight'] = torch.randn(10, 32)
    path = tmp_path / 'clip_vit_tiny.pth'
    torch.save(vit, path)
    dst = MODELS.build(tiny_uniformerv2_cfg(clip_pretrained=str(path)))
    dst.init_weights()
    w = dst.conv1.weight  # (64, 3, 3, 8, 8): the 2D kernel at the centre frame, zeros elsewhere
    assert w.shape == (64, 3, 3, 8, 8)
    assert torch.equal(w[:, :, 1], vit['visual.conv1.weight'])
    assert w[:, :, 0].abs().sum() == 0 and w[:, :, 2].abs().sum() == 0
    assert torch.equal(dst.transformer.resblocks[2].attn.in_proj_weight,
                       src.transformer.resblocks[2].attn.in_proj_weight)


def test_wrong_file_is_a_clear_error(tmp_path):
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        MODELS.build(tiny_uniformerv2_cfg(pretrained=str(missing))).init_weights()

    text_only = tmp_path / 'text_tower.pth'
    torch.save({'token_embedding.weight': torch.zeros(3, 4), 'ln_final.weight': torch.ones(4)},
               text_only)
    with pytest.raises(CheckpointMismatchError, match="text_tower.pth.*token_embedding.weight"):
        MODELS.build(tiny_uniformerv2_cfg(pretrained=str(text_only))).init_weights()

    wider = tmp_path / 'wider.pth'
    torch.save(_tiny(width=96).state_dict(), wider)
    with pytest.raises(CheckpointMismatchError, match=r'wider.pth.*file \(96'):
        MODELS.build(tiny_uniformerv2_cfg(pretrained=str(wider))).init_weights()

    partial = tmp_path / 'partial.pth'
    sd = _tiny().state_dict()
    torch.save({k: v for k, v in sd.items() if 'resblocks.3' not in k}, partial)
    with pytest.raises(CheckpointMismatchError, match=r'partial.pth.*lacks .*resblocks\.3'):
        MODELS.build(tiny_uniformerv2_cfg(pretrained=str(partial))).init_weights()

    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointError, match='garbage.pth'):  # the reader's format error
        MODELS.build(tiny_uniformerv2_cfg(pretrained=str(garbage))).init_weights()


def test_never_downloads():
    with pytest.raises(ValueError, match='never downloads'):
        MODELS.build(tiny_uniformerv2_cfg(clip_pretrained=True))
    with pytest.raises(ValueError, match='never downloads'):
        MODELS.build(tiny_uniformerv2_cfg(clip_pretrained='ViT-B/16'))
    with pytest.raises(CheckpointMismatchError, match='local files'):
        MODELS.build(tiny_uniformerv2_cfg(pretrained='https://example.com/x.pth')).init_weights()


def test_deepcopy_keeps_its_own_feature_hooks():
    """EMA hooks and model copies deep-copy the backbone: the copy must capture its own features."""
    import copy
    model = _tiny(output='all').eval()
    twin = copy.deepcopy(model)
    with torch.no_grad():
        twin.transformer.resblocks[-1].mlp.c_proj.bias.add_(1.0)  # change the copy only
    x = _clips()
    a, b = model(x), twin(x)
    assert not torch.allclose(a['local_tokens'], b['local_tokens'])
    assert torch.equal(a['local_tokens'], model(x)['local_tokens'])
    assert not model._parts and not twin._parts  # nothing kept between calls


# ------------------------------------------------------- the official weight files (fabricated)
def _own_keys(**kw):
    return list(MODELS.build(tiny_uniformerv2_cfg(**kw)).state_dict())


def _vit_keys():
    return [k for k in _own_keys() if MERUniFormerV2._is_vit_key(k)]


def _load_line(records, kind):
    lines = [r.getMessage() for r in records
             if r.getMessage().startswith(f'MERUniFormerV2 ({kind}): loaded')]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize('container', ['flat', 'model_state'])
def test_opengvlab_pyth_keeps_its_final_layernorm(tmp_path, container):
    from tests.conftest import captured_log
    from tests.models.weight_files import opengvlab_state
    src = _tiny()
    with torch.no_grad():
        src.transformer.norm.weight.uniform_(0.5, 1.5)  # not the LayerNorm's init (ones)
        src.transformer.norm.bias.uniform_(-0.5, 0.5)
    state = opengvlab_state(src.state_dict())
    path = tmp_path / 'uniformerv2_b16_sthv2_u16.pyth'  # OpenGVLab's SlowFast checkpoint
    torch.save(state if container == 'flat' else {'model_state': state, 'epoch': 30}, path)
    dst = MODELS.build(tiny_uniformerv2_cfg(pretrained=str(path)))
    with captured_log() as records:
        dst.init_weights()
    assert torch.equal(dst.transformer.norm.weight, src.transformer.norm.weight)
    assert torch.equal(dst.transformer.norm.bias, src.transformer.norm.bias)
    line = _load_line(records, 'UniFormerV2')
    n = len(_own_keys())
    assert f'loaded {n}/{n} tensors' in line and 'left at init 0: none' in line
    assert ('unused in the file 2: backbone.transformer.proj.2.bias, '
            'backbone.transformer.proj.2.weight;') in line  # OpenGVLab's classifier
    assert 'backbone.transformer.proj.0.weight -> transformer.norm.weight' in line
    report = dst.load_reports[-1]
    assert report.missing == [] and sorted(report.loaded) == sorted(_own_keys())
    x = _clips()
    src.eval(), dst.eval()
    assert torch.equal(src(x)[0], dst(x)[0])


def test_mmaction_k710_checkpoint_with_fewer_global_blocks(tmp_path):
    from tests.conftest import captured_log
    k710 = _tiny(return_list=(3, ))  # one global UniBlock, the model below has two
    path = tmp_path / 'uniformerv2-base-p16-res224_clip-kinetics710-pre_u8_kinetics710-rgb.pth'
    torch.save({'state_dict': dict({f'backbone.{k}': v for k, v in k710.state_dict().items()},
                                   **{'cls_head.fc_cls.weight': torch.zeros(710, 64),
                                      'cls_head.fc_cls.bias': torch.zeros(710)}),
                'meta': {}}, path)
    dst = MODELS.build(tiny_uniformerv2_cfg(pretrained=str(path)))
    with captured_log() as records:
        dst.init_weights()
    line = _load_line(records, 'UniFormerV2')
    assert 'transformer.dec.1.attn.in_proj_weight' in line and 'transformer.dpe.1.weight' in line
    assert 'unused in the file 2: cls_head.fc_cls.bias, cls_head.fc_cls.weight' in line
    report = dst.load_reports[-1]
    own = _own_keys()
    second = [k for k in own if k.startswith(('transformer.dec.1.', 'transformer.dpe.1.'))]
    assert second and sorted(report.missing) == sorted(second)
    assert sorted(report.loaded) == sorted(k for k in own if k not in second)
    assert report.unused == ['cls_head.fc_cls.bias', 'cls_head.fc_cls.weight']


def test_mmaction_clip_visual_file(tmp_path):
    from tests.conftest import captured_log
    from tests.models.weight_files import tiny_clip
    visual = tiny_clip(quick_gelu=True).visual.state_dict()  # mmaction's clipVisualEncoder: flat
    path = tmp_path / 'vit-base-p16-res224_clip-rgb.pth'  # (its zoo name's hash is checked)
    torch.save(visual, path)
    dst = MODELS.build(tiny_uniformerv2_cfg(clip_pretrained=str(path)))
    with captured_log() as records:
        dst.init_weights()
    line = _load_line(records, 'CLIP ViT')
    import hashlib
    assert f'(sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:16]})' in line
    assert 'inflated conv1.weight (64, 3, 8, 8) -> (64, 3, 3, 8, 8)' in line
    assert 'transformer.dec.{0-1}.ln_1.weight' in line  # the global blocks keep their init
    assert 'unused in the file 3: ln_post.bias, ln_post.weight, proj' in line
    report = dst.load_reports[-1]
    vit = _vit_keys()
    assert sorted(report.loaded) == sorted(vit)
    assert sorted(report.missing) == sorted(set(_own_keys()) - set(vit))
    assert report.unused == ['ln_post.bias', 'ln_post.weight', 'proj']


def test_openai_torchscript_fp16_archive_as_clip_pretrained(tmp_path):
    from tests.conftest import captured_log
    from tests.models.weight_files import openai_archive, tiny_clip
    path = str(tmp_path / 'ViT-B-16.pt')
    saved = openai_archive(path, tiny_clip(quick_gelu=True))
    dst = MODELS.build(tiny_uniformerv2_cfg(clip_pretrained=path))
    with captured_log() as records:
        dst.init_weights()
    line = _load_line(records, 'CLIP ViT')
    assert "prefix 'visual.'" in line and 'file dtype float16, loaded as float32' in line
    report = dst.load_reports[-1]
    vit = _vit_keys()
    assert sorted(report.loaded) == sorted(vit)
    assert sorted(report.unused) == sorted(set(saved) - {'visual.' + k for k in vit})
    assert {'visual.ln_post.weight', 'visual.proj', 'token_embedding.weight', 'logit_scale',
            'input_resolution'} <= set(report.unused)
    w = saved['visual.transformer.resblocks.2.attn.in_proj_weight']
    assert torch.equal(dst.transformer.resblocks[2].attn.in_proj_weight, w.float())
    assert torch.equal(dst.conv1.weight[:, :, 1], saved['visual.conv1.weight'].float())
