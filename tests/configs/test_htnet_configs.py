"""The HTNet flow configs: the published and the small size, the authors' and our schedule,
MER-CLIP's heads on the area tokens and their two ablations; one training step on real images."""
import glob
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import mer_clip  # noqa: F401
from mmaction.registry import DATASETS, MODELS
from mmengine.registry import init_default_scope

from tests.conftest import REPO_ROOT

init_default_scope('mmaction')
MEGC = osp.join(REPO_ROOT, 'configs', 'megc2019')
OURS, AUTHORS = 'flow-28px_1xb32-40e_megc2019-3cls', 'flow-28px_1xb256-800e_megc2019-3cls'
PLAIN = [f'{size}_{sched}.py' for size in ('htnet', 'htnet-small') for sched in (OURS, AUTHORS)]
MERCLIP = [f'mer-clip_{size}-{OURS}{abl}.py' for size in ('htnet', 'htnet-small')
           for abl in ('', '_linear-head', '_wo-align')]


def load(name):
    return Config.fromfile(osp.join(MEGC, name))


def test_the_htnet_configs():
    assert sorted(osp.basename(p) for p in glob.glob(osp.join(MEGC, '*htnet*.py'))) == \
        sorted(PLAIN + MERCLIP)


def test_sizes_and_schedules():
    paper, small = load(PLAIN[0]), load(PLAIN[2])
    assert {k: paper.model.backbone[k] for k in ('patch_size', 'dim', 'heads', 'num_levels',
                                                  'block_repeats')} == \
        dict(patch_size=7, dim=256, heads=3, num_levels=3, block_repeats=(2, 2, 10))
    assert (small.model.backbone.dim, small.model.backbone.block_repeats) == (32, (1, 1, 2))
    assert (paper.model.cls_head.in_channels, small.model.cls_head.in_channels) == (1024, 128)
    for size in ('htnet', 'htnet-small'):
        ours, authors = load(f'{size}_{OURS}.py'), load(f'{size}_{AUTHORS}.py')
        ref = load(f'ststnet_{OURS}.py')  # our schedule: the one of every flow config
        for key in ('optim_wrapper', 'param_scheduler', 'train_cfg'):
            assert ours[key] == ref[key], (size, key)
        assert ours.train_dataloader.batch_size == 32
        # the authors': Adam 5e-5 constant, 800 epochs, batch 256, cross-entropy, last epoch
        opt = authors.optim_wrapper.optimizer
        assert (opt.type, opt.lr, opt.weight_decay) == ('Adam', 5e-5, 0)
        assert authors.param_scheduler == [] and authors.train_dataloader.batch_size == 256
        assert authors.train_cfg.max_epochs == authors.train_cfg.val_interval == 800
        assert authors.model.cls_head.loss_cls.type == 'CrossEntropyLoss'
        for cfg in (ours, authors):
            types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
            assert types[:3] == ['LoadMEImage', 'CropFacialAreas', 'MEFlip']
            assert [t['type'] for t in cfg.test_dataloader.dataset.pipeline][:2] == \
                ['LoadMEImage', 'CropFacialAreas']


def test_mer_clip_heads_and_ablations_differ_only_as_they_say():
    for size in ('htnet', 'htnet-small'):
        plain = load(f'{size}_{OURS}.py')
        full, linear, noalign = (load(f'mer-clip_{size}-{OURS}{a}.py')
                                 for a in ('', '_linear-head', '_wo-align'))
        bb = dict(full.model.backbone)
        assert bb.pop('out_type') == 'tokens' and bb.pop('token_dim') == 64
        assert bb == dict(plain.model.backbone)  # the same HTNet as the baseline
        assert full.model.cls_head.type == 'EmotionTransformerHead'
        assert full.model.text_encoder is not None and full.custom_hooks[2].type == \
            'ProgressiveLossHook'
        assert linear.model.cls_head.type == 'UniFormerHead'
        assert linear.model.text_encoder == full.model.text_encoder
        assert noalign.model.text_encoder is None and noalign.model.align_head is None
        for cfg in (full, linear, noalign):
            for key in ('train_dataloader', 'test_dataloader', 'optim_wrapper', 'train_cfg'):
                assert cfg[key] == plain[key], (size, key)


def test_one_training_step_on_real_flow_images(megc2019_flow_ann):
    """htnet-small and MER-CLIP's emotion head on its area tokens (the ablation without the text
    tower, which costs seconds to build): real composite images through the configs' pipelines
    (areas around the fallback landmarks: this annotation has no landmarks5), one optimiser step
    each, finite losses, (B, 3) scores."""
    for name in (PLAIN[2], MERCLIP[5]):
        cfg = load(name)
        ann = megc2019_flow_ann
        ds_cfg = cfg.train_dataloader.dataset
        ds_cfg.update(ann_file=ann, data_prefix=dict(img=osp.dirname(ann)),
                      loso_subject='casme2_sub01')
        dataset = DATASETS.build(ds_cfg)
        batch = pseudo_collate([dataset[i] for i in range(0, 48, 6)])
        assert batch['inputs'][0].shape == (1, 3, 28, 28)
        model = MODELS.build(cfg.model)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        data = model.data_preprocessor(batch, training=True)
        losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            out = model(**model.data_preprocessor(batch, training=False), mode='predict')
        assert out[0].pred_score.shape == (3, )


def test_records_landmarks5_reach_the_areas(tmp_path, megc2019_flow_ann):
    """A record's landmarks5 (fabricated here, in 224 x 224 apex pixels) pass the loader and place
    the areas; a record without them takes the counted fallback."""
    import json
    with open(megc2019_flow_ann) as f:
        ann = json.load(f)
    subject = 'casme2_sub01'
    ann['data_list'] = [r for r in ann['data_list'] if r['subject'] in (subject, 'samm_006')]
    with_lm = ann['data_list'][0]['sample_id']
    ann['data_list'][0]['landmarks5'] = dict(
        points=[[64, 64], [160, 64], [112, 120], [72, 176], [152, 176]], image='apex_image',
        size=[224, 224], stage='fabricated')
    file = tmp_path / 'ann.json'
    file.write_text(json.dumps(ann))
    cfg = load(PLAIN[2])
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.update(ann_file=str(file), data_prefix=dict(img=osp.dirname(megc2019_flow_ann)),
                  loso_subject=subject, pipeline=ds_cfg.pipeline[:2])  # load + CropFacialAreas
    dataset = DATASETS.build(ds_cfg)
    out = {dataset[i]['sample_id']: dataset[i] for i in range(len(dataset))}
    assert out[with_lm]['landmarks_source'] == 'landmarks5'
    assert out[with_lm]['area_centres'].tolist() == [[8, 8], [20, 8], [9, 21], [19, 21]]
    others = [v['landmarks_source'] for k, v in out.items() if k != with_lm]
    assert others and set(others) == {'fallback'}
