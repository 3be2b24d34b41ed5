"""configs/megc2019/: MER-CLIP and the UniFormerV2 baseline (video clips) on the MEGC2019 composite resolve, their
dataset builds and runs its pipeline on a fabricated composite (SMIC samples without AUs), and the
composite of the real sheets gives 68 LOSO folds / 3 leave-one-dataset-out folds."""
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mer_clip.datasets.annotation import dump_annotations
from mer_clip.datasets.composite import namespace_record
from mer_clip.loso import detect_folds
from mmaction.registry import DATASETS
from tests.conftest import REPO_ROOT, SHARED_SHEETS, make_smic_hs

CONFIGS = {'mer_clip': 'configs/megc2019/mer-clip_uniformerv2-b16_2xb8-55e_megc2019-3cls.py',
           'baseline': 'configs/megc2019/linear-head_uniformerv2-b16_2xb8-55e_megc2019-3cls.py'}


@pytest.mark.parametrize('kind', sorted(CONFIGS))
def test_configs_resolve(kind):
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS[kind]))
    assert cfg.model.cls_head.num_classes == 3
    assert cfg.model.type == ('MERCLIP' if kind == 'mer_clip' else 'Recognizer3D')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        assert (ds.class_scheme, ds.ann_file, ds.data_prefix.img) == (
            'megc2019_3', 'data/megc2019/annotations.json', 'data/megc2019')
    prompt = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'GenerateAUPrompt']
    assert prompt == [dict(type='GenerateAUPrompt', mask_empty=True)]
    assert 'has_aus' in cfg.train_dataloader.dataset.pipeline[-1].meta_keys
    assert cfg.optim_wrapper.optimizer.lr == 5e-5 and cfg.train_cfg.max_epochs == 55
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.dtype) == ('AmpOptimWrapper', 'bfloat16')


def _tiny_composite(synthetic_root, tmp_path):
    """Synthetic clips as a three-dataset composite: 'smic' records without AUs."""
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        recs = json.load(f)['data_list']
    subjects = sorted({r['subject'] for r in recs})
    names = dict(zip(subjects, ['smic', 'casme2', 'samm', 'samm']))
    out = []
    for r in recs:
        ds = names[r['subject']]
        if ds == 'smic':
            r = dict(r, aus=None, au_list=[])
        out.append(namespace_record(r, ds))
    ann = str(tmp_path / 'megc2019.json')
    dump_annotations(out, ann, dict(dataset_name='megc2019'))
    return ann


def test_dataset_and_pipeline_build_on_a_tiny_composite(synthetic_root, tmp_path):
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS['mer_clip']))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.update(ann_file=_tiny_composite(synthetic_root, tmp_path),
                  data_prefix=dict(img=osp.join(synthetic_root, 'frames')),
                  fold_key='dataset', held_out='samm')
    ds_cfg.pipeline[0].clip_len = 4  # 4 x 224 x 224 instead of 16: the same transforms, cheaper
    dataset = DATASETS.build(ds_cfg)
    datasets = {dataset.get_data_info(i)['dataset'] for i in range(len(dataset))}
    assert datasets == {'smic', 'casme2'}  # the held-out dataset is not trained on
    smic = next(i for i in range(len(dataset)) if dataset.get_data_info(i)['dataset'] == 'smic')
    other = next(i for i in range(len(dataset))
                 if dataset.get_data_info(i)['dataset'] == 'casme2')
    a, b = dataset[smic], dataset[other]
    assert a['inputs'].shape == (1, 3, 4, 224, 224)
    assert a['data_samples'].metainfo['au_prompt'] == ''  # left out of the alignment
    assert a['data_samples'].metainfo['has_aus'] is False
    assert b['data_samples'].metainfo['has_aus'] is True
    assert 'micro-expression' in b['data_samples'].metainfo['au_prompt']  # a drawn template
    assert a['data_samples'].metainfo['subject'].startswith('smic_')


@pytest.mark.skipif(not osp.isdir(SHARED_SHEETS), reason=f'real sheets absent: {SHARED_SHEETS}')
def test_real_composite_gives_68_loso_folds(tmp_path):
    from mer_clip.datasets.readers.megc2019_composite import build_megc2019_composite
    from mer_clip.datasets.readers import read_casme2, read_samm, read_smic_hs
    recs = build_megc2019_composite(
        dict(smic=read_smic_hs(make_smic_hs(tmp_path / 'SMIC')),
             casme2=read_casme2(osp.join(SHARED_SHEETS, 'casme2', 'CASME2-coding-20190701.xlsx')),
             samm=read_samm(osp.join(SHARED_SHEETS, 'samm', 'SAMM_Micro_FACS_Codes_v2.xlsx'))),
        osp.join(SHARED_SHEETS, 'megc2019', 'combined_3_class_gt.csv'))
    ann = str(tmp_path / 'megc2019.json')
    dump_annotations(recs, ann, dict(dataset_name='megc2019'))
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIGS['baseline']))
    cfg.test_dataloader.dataset.ann_file = ann
    loso = detect_folds(cfg)
    assert loso.kind == 'loso' and len(loso.folds) == 68 and loso.num_samples == 442
    assert loso.folds[:3] == ['casme2_sub01', 'casme2_sub02', 'casme2_sub03']
    assert len(loso.sample_datasets) == 442
    lodo = detect_folds(cfg, 'lodo')
    assert lodo.folds == ['casme2', 'samm', 'smic'] and lodo.fold_key == 'dataset'
