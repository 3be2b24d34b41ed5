"""The paper's augmentations end to end on synthetic clips: pipeline -> collate -> preprocessor."""
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import mer_clip  # noqa: F401
from mmaction.registry import DATASETS, MODELS

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))),
                   'configs', '_base_')


def test_augmented_batch_through_data_preprocessor(synthetic_root):
    init_default_scope('mmaction')  # the pipeline dicts are built inside the dataset
    synth = Config.fromfile(osp.join(CONFIGS, 'datasets', 'synthetic.py'))
    augs = Config.fromfile(osp.join(CONFIGS, 'augmentations.py'))
    always = [dict(t, prob=1.0) if 'prob' in t else dict(t, flip_ratio=1.0)
              for t in augs.aug_pipeline]  # every augmentation on, to exercise all of them
    pipeline = [*synth.load_pipeline, *always, synth.au_prompt, *synth.format_pipeline]
    dataset = DATASETS.build(dict(
        type='MicroExpressionDataset', ann_file=osp.join(synthetic_root, 'annotations.json'),
        data_prefix=dict(img=osp.join(synthetic_root, 'frames')), class_scheme='synthetic_3',
        pipeline=pipeline))
    plain = DATASETS.build(dict(
        type='MicroExpressionDataset', ann_file=osp.join(synthetic_root, 'annotations.json'),
        data_prefix=dict(img=osp.join(synthetic_root, 'frames')), class_scheme='synthetic_3'))

    torch.manual_seed(0)
    np.random.seed(0)
    # two samples with one-sided AUs (the flip must swap them) and two without
    sided = [i for i in range(len(plain))
             if len({a.side for a in plain.get_data_info(i)['au_list']} - {None}) == 1]
    unsided = [i for i in range(len(plain)) if i not in sided]
    assert len(sided) >= 2, 'the synthetic set should contain one-sided AUs'
    indices = sided[:2] + unsided[:2]
    items = [dataset[i] for i in indices]
    checked = 0
    for i, item in zip(indices, items):
        meta = item['data_samples'].metainfo
        assert item['inputs'].dtype == torch.uint8 and item['inputs'].ndim == 5  # (1,C,T,H,W)
        assert 'onset_index' in meta
        # flipped: the prompt names the mirrored side of this sample's AUs
        sides = {a.side for a in plain.get_data_info(i)['au_list'] if a.side}
        if sides == {'L'}:
            assert 'right' in meta['au_prompt'] and 'left' not in meta['au_prompt']
            checked += 1
        elif sides == {'R'}:
            assert 'left' in meta['au_prompt'] and 'right' not in meta['au_prompt']
            checked += 1
    assert checked == 2
    prompts = [it['data_samples'].metainfo['au_prompt'] for it in items]

    preprocessor = MODELS.build(dict(
        type='ActionDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, format_shape='NCTHW',
        blending=dict(type='LocalStaticFaceMix', prob=1.0, seed=0)))
    batch = preprocessor(pseudo_collate(items), training=True)
    info = preprocessor.blending.last_mix_info
    assert info['mixed'].all() and batch['inputs'].shape[0] == 4
    assert [s.metainfo['au_prompt'] for s in batch['data_samples']] == prompts
    assert [int(s.gt_label) for s in batch['data_samples']] == [
        int(it['data_samples'].gt_label) for it in items]
