"""The Table IX augmentation ablation configs build and select the right augmentations."""
import os.path as osp

import pytest
from mmengine.config import Config

import mer_clip  # noqa: F401

ABLATIONS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                     'ablations')
ROWS = {  # row: (AugMix in the pipeline, LocalStaticFaceMix in the data preprocessor)
    'none': (False, False), 'lsfm': (False, True), 'augmix': (True, False), 'both': (True, True)}


@pytest.mark.parametrize('row', sorted(ROWS))
def test_ablation_row(row):
    cfg = Config.fromfile(osp.join(ABLATIONS, f'aug_{row}_synthetic.py'))
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    augmix, lsfm = ROWS[row]
    assert ('VideoAugMix' in types) == augmix
    assert types.count('MEFlip') == 1 and types.count('VideoColorJitter') == 1
    assert 'Flip' not in types and 'ColorJitter' not in types
    assert types.index('MEFlip') < types.index('GenerateAUPrompt') < types.index('FormatShape')
    assert types.index('CenterCrop') < min(types.index(t) for t in types
                                           if t in ('VideoAugMix', 'VideoColorJitter', 'MEFlip'))
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] in ('VideoAugMix', 'VideoColorJitter'):
            assert t['prob'] == 0.5
        if t['type'] == 'MEFlip':
            assert t['flip_ratio'] == 0.5
    blending = cfg.model.data_preprocessor.blending
    assert (blending is not None and blending['type'] == 'LocalStaticFaceMix') == lsfm
    if lsfm:
        assert blending['prob'] == 0.5 and blending['lam'] == 0.5
    assert cfg.train_pipeline == cfg.train_dataloader.dataset.pipeline
    # the test pipeline is never augmented
    assert not {'VideoAugMix', 'VideoColorJitter', 'MEFlip'} & {
        t['type'] for t in cfg.test_dataloader.dataset.pipeline}
