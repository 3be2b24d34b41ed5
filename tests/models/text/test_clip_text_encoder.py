"""CLIPTextEncoder: open_clip parity, local checkpoints (and clear errors), freezing, cache."""
import functools

import open_clip
import pytest
import torch

from mmaction.registry import MODELS
from mer_clip.models.heads import AUTextAlignHead
from mer_clip.models.text import CLIPTextEncoder

TEXT_CFG = dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2)
ARCH = dict(embed_dim=24, **TEXT_CFG)
PROMPTS = ['This micro-expression involves lowering the brows.',
           'Key features of this micro-expression are pulling the right corner of the lips.',
           'This micro-expression involves lowering the brows.',
           'The hallmark of this micro-expression is raising the chin.']


@pytest.fixture(scope='module')
def clip_file(tmp_path_factory):
    """A tiny open_clip CLIP model (vision + text) saved as a plain state dict."""
    torch.manual_seed(0)
    model = open_clip.model.CLIP(
        embed_dim=24, text_cfg=TEXT_CFG,
        vision_cfg=dict(image_size=32, layers=1, width=32, head_width=16, patch_size=16))
    path = tmp_path_factory.mktemp('ckpt') / 'tiny_clip.pt'
    torch.save(model.state_dict(), path)
    return model.eval(), str(path)


def build(**kw):
    cfg = dict(type='CLIPTextEncoder', arch=ARCH)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_loads_open_clip_text_tower_and_matches_encode_text(clip_file):
    model, path = clip_file
    enc = build(pretrained=path)
    enc.init_weights()
    tokens = open_clip.get_tokenizer('ViT-B-16')(PROMPTS)
    with torch.no_grad():
        ref = model.encode_text(tokens)  # (4, 24), open_clip's own text path
    out = enc(PROMPTS)
    assert out.shape == (4, 24) and out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


def test_prefixed_and_wrapped_checkpoints(clip_file, tmp_path):
    model, _ = clip_file
    wrapped = {'state_dict': {f'module.text_encoder.{k}': v for k, v in model.state_dict().items()}}
    path = tmp_path / 'viclip_like.pth'
    torch.save(wrapped, path)
    enc = build(pretrained=str(path))
    enc.init_weights()
    torch.testing.assert_close(enc.text.token_embedding.weight, model.token_embedding.weight)
    from safetensors.torch import save_file
    st = tmp_path / 'open_clip_model.safetensors'
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(st))
    enc2 = build(pretrained=str(st))
    enc2.init_weights()
    torch.testing.assert_close(enc2(PROMPTS), enc(PROMPTS))


def test_wrong_files_give_clear_errors(clip_file, tmp_path):
    _, path = clip_file
    missing = str(tmp_path / 'nope.pt')
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        build(pretrained=missing).init_weights()
    wider = build(arch=dict(ARCH, width=48), pretrained=path)
    with pytest.raises(RuntimeError, match=r'tiny_clip\.pt.*shape mismatches.*token_embedding'):
        wider.init_weights()
    deeper = build(arch=dict(ARCH, layers=3), pretrained=path)
    with pytest.raises(RuntimeError, match=r'1 missing keys|missing keys.*resblocks\.2'):
        deeper.init_weights()
    vision_only = tmp_path / 'vision.pt'
    torch.save({'visual.conv1.weight': torch.zeros(2)}, vision_only)
    with pytest.raises(KeyError, match=r'vision\.pt.*no CLIP text tower'):
        build(pretrained=str(vision_only)).init_weights()
    garbage = tmp_path / 'garbage.pt'
    garbage.write_bytes(b'not a checkpoint')
    with pytest.raises(RuntimeError, match='garbage.pt'):
        build(pretrained=str(garbage)).init_weights()


def test_model_name_arch_builds_offline():
    enc = CLIPTextEncoder(arch='ViT-B-16', frozen=True)
    assert enc.embed_dim == 512 and enc.text.width == 512 and enc.context_length == 77
    with pytest.raises(KeyError, match='unknown open_clip model'):
        CLIPTextEncoder(arch='No-Such-Model')


def test_frozen_stays_eval_and_without_grad():
    enc = build()
    assert enc.frozen and not any(p.requires_grad for p in enc.parameters())
    enc.train()
    assert enc.training and not enc.text.training
    assert not enc(PROMPTS[:2]).requires_grad
    enc.unfreeze()
    enc.train()
    assert enc.text.training and enc(PROMPTS[:2]).requires_grad and enc.cache_size == 0


def test_cache_fills_once_and_stays_consistent():
    enc = build()
    enc.eval()
    out = enc(PROMPTS)
    assert enc.cache_size == 3  # one duplicate prompt
    calls = []
    enc.text.register_forward_hook(lambda *a: calls.append(1))
    again = enc(PROMPTS[::-1])
    assert not calls  # nothing re-encoded
    torch.testing.assert_close(again, out.flip(0))
    assert enc.precompute(PROMPTS + ['a new prompt.']) == 1 and len(calls) == 1
    # new weights invalidate the cache
    other = build()
    enc.load_state_dict(other.state_dict())
    assert enc.cache_size == 0
    torch.testing.assert_close(enc(PROMPTS), other(PROMPTS))


def test_cached_equals_uncached_features_losses_and_gradients():
    torch.manual_seed(0)
    cached = build()
    uncached = build(cache=False)
    uncached.load_state_dict(cached.state_dict())
    cached.precompute(PROMPTS[1:3])  # filled in a different batch composition
    head_a = AUTextAlignHead(visual_dim=8, text_dim=24, embed_dim=16)
    head_b = AUTextAlignHead(visual_dim=8, text_dim=24, embed_dim=16)
    head_b.load_state_dict(head_a.state_dict())
    visual = torch.randn(4, 8)
    for step in range(2):  # second step: everything comes from the cache
        fa, fb = cached(PROMPTS), uncached(PROMPTS)
        torch.testing.assert_close(fa, fb, rtol=1e-5, atol=1e-6)
        la = head_a.loss(visual, fa, PROMPTS)['loss_clip']
        lb = head_b.loss(visual, fb, PROMPTS)['loss_clip']
        torch.testing.assert_close(la, lb, rtol=1e-5, atol=1e-6)
        head_a.zero_grad()
        head_b.zero_grad()
        la.backward()
        lb.backward()
        for (name, pa), pb in zip(head_a.named_parameters(), head_b.parameters()):
            torch.testing.assert_close(pa.grad, pb.grad, rtol=1e-5, atol=1e-6, msg=name)
    assert cached.cache_size == 3 and uncached.cache_size == 0


def test_autocast_does_not_change_frozen_features():
    enc = build()
    ref = build(cache=False)
    ref.load_state_dict(enc.state_dict())
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = enc(PROMPTS)
        out_uncached = ref(PROMPTS)
    assert out.dtype == out_uncached.dtype == torch.float32
    torch.testing.assert_close(out, out_uncached, rtol=1e-5, atol=1e-6)


def test_long_prompt_warns_once_in_the_run_log():
    from tests.conftest import captured_log
    enc = build()
    long_text = ' '.join(['lowering the brows'] * 40)
    with captured_log() as records:
        enc([long_text, long_text])
        enc([long_text])
    cut = [r.getMessage() for r in records if 'is cut to' in r.getMessage()]
    assert len(cut) == 1 and '(1 of the 1 distinct prompts encoded so far were cut)' in cut[0]


# ---------------------------------------------------------------------------- DDP (gloo, 2 ranks)
def _ddp_worker(rank, world, init_file, out_dir):
    import torch.distributed as dist
    from mmengine.dist import all_reduce_params
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    torch.manual_seed(0)
    model = torch.nn.Module()
    model.text = build()
    model.proj = torch.nn.Linear(24, 4)
    ddp = torch.nn.parallel.DistributedDataParallel(model)  # broadcast_buffers=True
    # the ranks see different prompts, so their caches differ in size and row order
    texts = [PROMPTS[:2], PROMPTS[1:]][rank]
    ref = build(cache=False)
    ref.load_state_dict(model.text.state_dict())
    for _ in range(2):
        feats = ddp.module.text(texts)
        ddp.module.proj(feats).sum().backward()
        all_reduce_params(ddp.module.buffers(), op='mean')  # what SyncBuffersHook does
    torch.testing.assert_close(ddp.module.text(texts), ref(texts))
    torch.save(model.text.cache_size, f'{out_dir}/rank{rank}.pt')
    dist.destroy_process_group()


def test_cache_is_per_rank_and_survives_ddp_buffer_sync(tmp_path):
    import torch.multiprocessing as mp
    mp.start_processes(_ddp_worker, args=(2, str(tmp_path / 'pg'), str(tmp_path)), nprocs=2,
                       join=True, start_method='fork')
    assert [torch.load(tmp_path / f'rank{r}.pt') for r in range(2)] == [2, 3]
    enc = build()
    enc(PROMPTS)
    assert not any(name.endswith('_cache_table') for name, _ in enc.named_buffers())
    enc.double()  # .to()/.double() carry the cache along
    assert enc(PROMPTS[:1]).dtype == torch.float64


def test_cached_feature_does_not_depend_on_the_batch_it_was_first_seen_in():
    """A resumed training starts with an empty cache and meets each prompt in another batch than
    the uninterrupted run did: the features must be bit-for-bit the same anyway."""
    from mer_clip.au import AUCode, au_prompt
    texts = [au_prompt([AUCode(a)], template_idx=t)
             for a in (1, 2, 4, 12, 14, 15) for t in (0, 1, 2)]
    torch.manual_seed(0)
    first = build()
    second = build()
    second.load_state_dict(first.state_dict())
    for enc in (first, second):
        enc.eval()
    a = first(texts)  # all prompts in one batch
    b = torch.cat([second(texts[i:i + 5]) for i in range(0, len(texts), 5)])  # other batches
    for i, text in enumerate(texts):
        assert torch.equal(a[i], b[i]), (text, (a[i] - b[i]).abs().max().item())
    assert torch.equal(first(texts[:1]), first.encode(texts[:1]))  # = the prompt encoded alone


# ------------------------------------------------------- the official weight files (fabricated)
LONG_PROMPT = ('Key features of this micro-expression are a combination of raising the inner part '
               'of the brows, raising the outer part of the brows and lowering the brows.')  # 33

@functools.lru_cache(maxsize=1)
def _tower_key_tuple():
    return tuple(sorted(build().text.state_dict()))


def _tower_keys():
    """The 29 tensors of the tiny text tower (open_clip TextTransformer names)."""
    return list(_tower_key_tuple())


def _load_line(records):
    lines = [r.getMessage() for r in records
             if r.getMessage().startswith('CLIPTextEncoder: loaded')]
    assert len(lines) == 1, lines
    return lines[0]


def test_openai_torchscript_fp16_archive(tmp_path):
    from tests.conftest import captured_log
    from tests.models.weight_files import openai_archive, tiny_clip
    model = tiny_clip(quick_gelu=True)
    path = str(tmp_path / 'ViT-B-16.pt')
    saved = openai_archive(path, model)
    with pytest.raises(RuntimeError, match=r"quick_gelu=False \(GELU\).*ViT-B-16\.pt' is OpenAI "
                                           r'CLIP archive weights.*trained with QuickGELU'):
        build(pretrained=path, quick_gelu=False).init_weights()
    with captured_log() as records:
        enc = build(pretrained=path)  # quick_gelu=None: the archive says QuickGELU
        enc.init_weights()
    line = _load_line(records)  # in the run log (mmengine's logger)
    report = enc.load_report
    assert report.loaded == _tower_keys() and report.missing == []
    text = set(_tower_keys())
    assert set(report.unused) == {k for k in saved if k not in text}
    assert {'logit_scale', 'input_resolution', 'context_length', 'vocab_size',
            'visual.proj'} <= set(report.unused)
    assert 'loaded 29/29' in line and 'source OpenAI CLIP archive' in line
    assert 'activation QuickGELU' in line and 'file dtype float16, loaded as float32' in line
    assert enc.quick_gelu and all(type(b.mlp.gelu).__name__ == 'QuickGELU'
                                  for b in enc.text.transformer.resblocks)
    ref = tiny_clip(quick_gelu=True)
    ref.load_state_dict({k: v.float() for k, v in saved.items() if k in ref.state_dict()})
    with torch.no_grad():
        expected = ref.encode_text(open_clip.get_tokenizer('ViT-B-16')(PROMPTS))
    torch.testing.assert_close(enc(PROMPTS), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('fmt', ['bin', 'safetensors'])
def test_open_clip_laion_files_run_with_gelu(tmp_path, fmt):
    from tests.conftest import captured_log
    from tests.models.weight_files import tiny_clip
    model = tiny_clip(quick_gelu=False)
    folder = tmp_path / 'CLIP-ViT-B-16-laion2B-s34B-b88K'
    folder.mkdir()
    path = str(folder / f'open_clip_pytorch_model.{fmt}')
    state = model.state_dict()
    if fmt == 'bin':
        torch.save(state, path)
    else:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in state.items()}, path)
    # the config's QuickGELU would run LAION weights with the wrong activation: refused
    with pytest.raises(RuntimeError, match=r'quick_gelu=True \(QuickGELU\).*open_clip LAION '
                                           r'weights.*trained with GELU.*quick_gelu=False'):
        build(pretrained=path, quick_gelu=True).init_weights()
    with captured_log() as records:
        enc = build(pretrained=path)
        enc.init_weights()
    line = _load_line(records)
    tower = _tower_keys()
    assert enc.load_report.loaded == tower and enc.load_report.missing == []
    assert set(enc.load_report.unused) == set(state) - set(tower)
    assert "source open_clip LAION (its path names 'laion')" in line and 'activation GELU' in line
    assert not enc.quick_gelu
    with torch.no_grad():
        expected = model.encode_text(open_clip.get_tokenizer('ViT-B-16')(PROMPTS))
    torch.testing.assert_close(enc(PROMPTS), expected, rtol=1e-5, atol=1e-6)


def test_unknown_source_keeps_the_configured_activation_and_says_so(clip_file):
    from tests.conftest import captured_log
    _, path = clip_file  # tiny_clip.pt: neither its keys nor its name tell
    with captured_log() as records:
        enc = build(pretrained=path, quick_gelu=True)
        enc.init_weights()
    assert enc.quick_gelu
    assert 'activation QuickGELU (config; the file does not tell' in _load_line(records)


def test_viclip_file_loads_zero_padded_as_the_authors_do(tmp_path):
    from tests.conftest import captured_log
    from tests.models.weight_files import viclip_file
    path = str(tmp_path / 'ViCLIP-B_InternVid-FLT-10M.pth')
    saved = viclip_file(path)
    with captured_log() as records:
        enc = build(pretrained=path)  # a 77-position tower (the arch's)
        enc.init_weights()
    line = _load_line(records)
    report = enc.load_report
    assert report.loaded == _tower_keys() and report.missing == []
    assert set(report.unused) == {k for k in saved if not k.startswith('text_encoder.')}
    assert 'temp' in report.unused
    pos = enc.text.positional_embedding
    assert pos.shape == (77, 32)
    assert torch.equal(pos[:32], saved['text_encoder.positional_embedding'])
    assert pos[32:].abs().sum() == 0  # positions 33-77 zero, as the authors pad
    for key in _tower_keys():
        if key != 'positional_embedding':
            assert torch.equal(enc.text.state_dict()[key], saved['text_encoder.' + key]), key
    assert 'source ViCLIP' in line and 'activation QuickGELU' in line
    assert 'positional_embedding zero-padded 32 -> 77 positions' in line
    # nothing is cut; a prompt that fits 32 positions gets the native tower's feature (the causal
    # mask keeps the padded positions after its end token out of it)
    native = build(pretrained=path, context_length=32)
    native.init_weights()
    assert native.load_report.loaded == _tower_keys()
    torch.testing.assert_close(enc(PROMPTS), native(PROMPTS), rtol=1e-5, atol=1e-6)
    assert enc.cut_prompts == (0, 3)
    assert not torch.allclose(enc([LONG_PROMPT]), native([LONG_PROMPT]))


def test_viclip_padding_is_the_only_leniency(tmp_path):
    from tests.models.weight_files import viclip_file
    path = str(tmp_path / 'viclip.pth')
    saved = viclip_file(path)
    broken = dict(saved)
    del broken['text_encoder.ln_final.bias']
    torch.save({'model': broken}, tmp_path / 'viclip_missing.pth')
    with pytest.raises(RuntimeError, match=r"1 missing keys \['ln_final.bias'\]"):
        build(pretrained=str(tmp_path / 'viclip_missing.pth')).init_weights()
    with pytest.raises(RuntimeError, match=r'32-position text tower.*77 positions: set '
                                           r'text_encoder\.context_length=32.*pad_positions'):
        build(pretrained=path, pad_positions=False).init_weights()
    with pytest.raises(RuntimeError, match=r'quick_gelu=False.*ViCLIP weights.*QuickGELU'):
        build(pretrained=path, quick_gelu=False).init_weights()
    wide = str(tmp_path / 'viclip_77.pth')
    viclip_file(wide, positions=77)
    with pytest.raises(RuntimeError, match=r'77-position text tower.*32 positions: set '
                                           r'text_encoder\.context_length=77'):
        build(pretrained=wide, context_length=32).init_weights()


def test_native_32_position_tower_warns_with_a_count_of_cut_prompts(tmp_path):
    from mer_clip.au import AUCode, au_prompt
    from tests.conftest import captured_log
    from tests.models.weight_files import viclip_file
    path = str(tmp_path / 'viclip.pth')
    viclip_file(path)
    enc = build(pretrained=path, context_length=32)
    with captured_log() as records:
        enc.init_weights()
        three_aus = [au_prompt([AUCode(1), AUCode(2), AUCode(4)], template_idx=t)
                     for t in range(3)]  # 30, 33, 33 tokens
        enc(three_aus)
        enc(three_aus)  # seen: no new warning
    assert 'a 32-position tower: prompts of more than 32 tokens are cut' in _load_line(records)
    warnings = [r.getMessage() for r in records if r.levelname == 'WARNING']
    assert len(warnings) == 2, warnings
    assert '(1 of the 2 distinct prompts encoded so far were cut)' in warnings[0]
    assert '(2 of the 3 distinct prompts encoded so far were cut)' in warnings[1]
    assert enc.cut_prompts == (2, 3)
