"""The MEGC2019 flow configs: one data / schedule setting for every config of the comparison, the
ablations differ only as they say (augmentation claims: tests/configs/test_config_augmentations.py).
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mer_clip  # noqa: F401
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT

init_default_scope('mmaction')
MEGC = osp.join(REPO_ROOT, 'configs', 'megc2019')
SCHEDULE = 'flow-28px_1xb32-40e_megc2019-3cls'
CONFIGS = [f'ststnet_{SCHEDULE}.py', f'off-apexnet_{SCHEDULE}.py', f'mer-clip_ststnet-{SCHEDULE}.py',
           f'mer-clip_ststnet-{SCHEDULE}_linear-head.py', f'mer-clip_ststnet-{SCHEDULE}_wo-align.py']


def load(name):
    return Config.fromfile(osp.join(MEGC, name))


def test_the_directory_holds_exactly_these_flow_configs():
    # the HTNet configs (their own data pipeline, with facial areas): test_htnet_configs.py
    assert sorted(osp.basename(p) for p in glob.glob(osp.join(MEGC, '*flow*.py'))
                  if 'htnet' not in osp.basename(p)) == sorted(CONFIGS)


def test_one_data_and_schedule_setting_for_the_whole_comparison():
    cfgs = {n: load(n) for n in CONFIGS}
    ref = cfgs[CONFIGS[0]]
    for name, cfg in cfgs.items():
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'optim_wrapper',
                    'param_scheduler', 'train_cfg', 'randomness', 'default_hooks'):
            assert cfg[key] == ref[key], (name, key)
    ds = ref.train_dataloader.dataset
    assert ds.ann_file == 'data/megc2019_htnet/annotations.json'
    assert ds.data_prefix == dict(img='data/megc2019_htnet') and ds.class_scheme == 'megc2019_3'
    load_step = ds.pipeline[0]
    assert load_step['type'] == 'LoadMEImage' and load_step['modality'] == 'flow'
    assert load_step['flow_channels'] == ('u', 'v', 'strain') and load_step['flow_size'] == 28
    types = [t['type'] for t in ds.pipeline]
    assert types.index('MEFlip') < types.index('GenerateAUPrompt')  # flip swaps the AU sides
    assert ds.pipeline[types.index('GenerateAUPrompt')]['mask_empty'] is True
    assert 'has_aus' in ds.pipeline[-1]['meta_keys']


def test_models_and_ablations():
    st, off = load(CONFIGS[0]).model, load(CONFIGS[1]).model
    assert (st.type, st.backbone.type, st.cls_head.in_channels) == ('Recognizer2D', 'STSTNet', 400)
    assert (off.backbone.type, off.cls_head.in_channels) == ('OFFApexNet', 1024)
    full, linear, noalign = (load(n) for n in CONFIGS[2:])
    m = full.model
    assert m.type == 'MERCLIP' and m.backbone.type == 'FeatureMapTokens'
    assert m.backbone.backbone == st.backbone  # the same STSTNet streams as the baseline
    assert m.cls_head.type == 'EmotionTransformerHead'
    assert m.cls_head.loss_cls.type == 'SoftmaxFocalLoss'
    assert m.align_head.type == 'AUTextAlignHead' and m.text_encoder.type == 'CLIPTextEncoder'
    assert [h['type'] for h in full.custom_hooks] == ['RNGStateHook', 'CheckInvalidLossHook',
                                                     'ProgressiveLossHook']
    assert m.data_preprocessor == dict(type='NoCopyActionDataPreprocessor', format_shape='NCHW')
    # linear head: only the head changes
    assert linear.model.cls_head.type == 'UniFormerHead'
    assert linear.model.cls_head.loss_cls == m.cls_head.loss_cls
    assert {k: v for k, v in linear.model.items() if k != 'cls_head'} == \
        {k: v for k, v in m.items() if k != 'cls_head'}
    assert linear.custom_hooks == full.custom_hooks
    # no alignment: no text, no contrastive loss, no progressive weights; the rest unchanged
    assert noalign.model.align_head is None and noalign.model.text_encoder is None
    assert {k: v for k, v in noalign.model.items() if k not in ('align_head', 'text_encoder')} \
        == {k: v for k, v in m.items() if k not in ('align_head', 'text_encoder')}
    assert [h['type'] for h in noalign.custom_hooks] == ['RNGStateHook', 'CheckInvalidLossHook']


@pytest.mark.parametrize('name, params', [(CONFIGS[0], 1683), (CONFIGS[1], 2664475),
                                          (CONFIGS[2], None)])
def test_models_build_and_run_a_batch(name, params):
    from mmaction.structures import ActionDataSample
    cfg = load(name)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    if params is not None:
        assert sum(p.numel() for p in model.parameters()) == params
    samples = [ActionDataSample(metainfo=dict(
        sample_id=str(i), has_aus=i % 2 == 0, au_key='4' if i % 2 == 0 else '',
        au_prompt='This micro-expression involves lowering the brows.' if i % 2 == 0 else ''))
        .set_gt_label(i % 3) for i in range(4)]
    data = model.data_preprocessor(dict(inputs=[torch.rand(1, 3, 28, 28) * 2 - 1] * 4,
                                        data_samples=samples), training=True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_cls'])
    if 'loss_clip' in losses:
        assert losses['clip_samples'].item() == 2
