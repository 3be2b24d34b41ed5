"""The model configs: every task config resolves to the paper's settings; the tiny synthetic configs
build with Runner.from_cfg and train."""
import glob
import json
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mer_clip.datasets.protocol import set_fold
from mmaction.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')
TASKS = {  # dataset part of the config name -> (class scheme, classes, DFME test split)
    'samm-5cls': ('samm_5', 5, None), 'samm-3cls': ('samm_3', 3, None),
    'casme2-5cls': ('casme2_5', 5, None), 'casme2-3cls': ('casme2_3', 3, None),
    'casme3-7cls': ('casme3_7', 7, None), 'casme3-4cls': ('casme3_4', 4, None),
    'casme3-3cls': ('casme3_3', 3, None),
    'dfme-7cls-test-a': ('dfme_7', 7, 'test_a'), 'dfme-7cls-test-b': ('dfme_7', 7, 'test_b'),
}
PAPER = 'uniformerv2-b16_2xb8-55e'  # backbone and schedule of the paper's configs
TINY = 'uniformerv2-tiny_1xb8-20e'
SYNTHETIC = f'mer-clip_{TINY}_synthetic-3cls.py'
SYNTHETIC_BASELINE = f'baselines/linear-head_{TINY}_synthetic-3cls.py'
#: earlier config names kept as thin configs inheriting their new name -> the new name
ALIASES = {'mer_clip_samm.py': f'mer-clip_{PAPER}_samm-5cls.py'}
#: {model}_{backbone}_{schedule}_{dataset}[_{variant}], e.g. an ablation's _no-<what it drops>
NAME_RE = re.compile(r'(?P<model>[a-z0-9]+(-[a-z0-9]+)*)_(?P<backbone>[a-z0-9]+(-[a-z0-9]+)*)_'
                     r'(?P<schedule>\d+xb\d+-\d+e)_(?P<dataset>[a-z0-9]+(-[a-z0-9]+)*-\d+cls'
                     r'(-[a-z0-9-]+)?)(_[a-z0-9-]+)?\.py')


def _config_files():
    return sorted(osp.relpath(p, CONFIGS) for p in glob.glob(osp.join(CONFIGS, '**', '*.py'),
                                                             recursive=True)
                  if not osp.relpath(p, CONFIGS).startswith('_base_'))


@pytest.mark.parametrize('task', sorted(TASKS))
@pytest.mark.parametrize('kind', ['mer_clip', 'baseline'])
def test_task_configs_have_the_paper_settings(task, kind):
    scheme, num_classes, split = TASKS[task]
    path = (osp.join(CONFIGS, f'mer-clip_{PAPER}_{task}.py') if kind == 'mer_clip' else
            osp.join(CONFIGS, 'baselines', f'linear-head_{PAPER}_{task}.py'))
    cfg = Config.fromfile(path)
    model = cfg.model
    assert model.cls_head.num_classes == num_classes
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.class_scheme == scheme
    if split:
        assert cfg.train_dataloader.dataset.split == 'train'
        assert cfg.test_dataloader.dataset.split == split
    bb = model.backbone
    assert (bb.type, bb.width, bb.layers, bb.patch_size, bb.t_size, bb.input_resolution) == \
        ('MERUniFormerV2', 768, 12, 16, 16, 224)
    assert bb.temporal_downsample and bb.return_list == list(range(4, 12)) and bb.n_layers == 8
    assert (bb.backbone_drop_path_rate, bb.drop_path_rate, bb.mlp_dropout) == (0.2, 0.4, [0.5] * 8)
    assert bb.pretrained  # the SSV2 checkpoint path is set
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.lr == 5e-5 and optimizer.weight_decay == 0.05
    assert cfg.train_cfg.max_epochs == 55
    assert model.cls_head.loss_cls == dict(type='SoftmaxFocalLoss', gamma=2.0)
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
    assert 'RNGStateHook' in hooks
    if kind == 'mer_clip':
        assert model.type == 'MERCLIP'
        assert bb.output == 'fused_and_tokens'
        head = model.cls_head
        assert (head.type, head.hidden_dim, head.num_layers, head.num_heads, head.mlp_ratio,
                head.dropout) == ('EmotionTransformerHead', 512, 2, 4, 4.0, 0.1)
        assert model.text_encoder.arch == 'ViT-B-16' and model.text_encoder.frozen
        assert model.align_head.temperature == 0.07 and model.align_head.embed_dim == 512
        assert 'ProgressiveLossHook' in hooks
    else:
        assert model.type == 'Recognizer3D' and bb.output == 'fused'
        assert model.cls_head.type == 'UniFormerHead'
        assert 'ProgressiveLossHook' not in hooks


@pytest.mark.slow
def test_full_size_model_builds_with_paper_sizes():
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(CONFIGS, f'mer-clip_{PAPER}_samm-5cls.py'))
    cfg.model.backbone.pretrained = None
    cfg.model.text_encoder.pretrained = None
    model = MODELS.build(cfg.model)
    n_backbone = sum(p.numel() for p in model.backbone.parameters())
    n_head = sum(p.numel() for p in model.cls_head.parameters())
    # ViT-B/16 (86M) + 12 x 2 local MHRA (19M) + 8 global UniBlocks with their DPE (58M) = 163M
    # (the 115M often quoted for UniFormerV2-B/16 is the 4-global-block Kinetics variant)
    assert 155e6 < n_backbone < 170e6, n_backbone
    assert 5e6 < n_head < 8e6, n_head  # 768->512 projection + 2 blocks of width 512
    assert model.text_encoder.embed_dim == 512
    assert not any(p.requires_grad for p in model.text_encoder.parameters())
    # weight files that are not there: a clear error naming the file, nothing downloaded
    cfg.model.backbone.pretrained = '/nonexistent/uniformerv2_b16_sthv2_u16.pth'
    with pytest.raises(FileNotFoundError, match='uniformerv2_b16_sthv2_u16.pth'):
        MODELS.build(cfg.model.backbone).init_weights()


def _tiny_runner_cfg(path, synthetic_root, tmp_path):
    cfg = Config.fromfile(path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.ann_file = osp.join(synthetic_root, 'annotations.json')
        cfg[loader].dataset.data_prefix = dict(img=osp.join(synthetic_root, 'frames'))
        cfg[loader].dataset.loso_subject = None
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    # one fold of the LOSO: hold out the first subject
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        subject = json.load(f)['data_list'][0]['subject']
    set_fold(cfg, 'subject', subject)
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.work_dir = str(tmp_path)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_last=False,
                                        save_optimizer=False)
    cfg.default_hooks.logger.interval = 1
    return cfg


@pytest.mark.parametrize('config', [SYNTHETIC, SYNTHETIC_BASELINE])
def test_synthetic_configs_train_with_runner(config, synthetic_root, tmp_path):
    from mmengine.runner import Runner
    cfg = _tiny_runner_cfg(osp.join(CONFIGS, config), synthetic_root, tmp_path)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    before = {k: v.detach().clone() for k, v in model.backbone.state_dict().items()}
    runner.train()
    after = model.backbone.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # it trained
    scalars = runner.message_hub.log_scalars
    assert 'train/loss_cls' in scalars
    if 'mer_clip' in config:
        assert 'train/cls_raw' in scalars
        assert 'train/loss_clip' in scalars and 'train/clip_raw' in scalars
        # ProgressiveLossHook (1 epoch schedule): the start weights
        assert model.loss_weights == dict(clip=1.0, cls=0.0)
        total = scalars['train/loss'].current()
        parts = scalars['train/loss_cls'].current() + scalars['train/loss_clip'].current()
        assert total == pytest.approx(parts, rel=1e-5)  # raw values are not in the total
    metrics = runner.test()
    assert {'mer/UF1', 'mer/UAR', 'mer/ACC'} <= set(metrics)


def test_every_config_in_the_tree_parses():
    paths = _config_files()
    assert len(paths) >= 24
    for path in paths:
        Config.fromfile(osp.join(CONFIGS, path))


def test_config_names_follow_one_scheme():
    """{model}_{backbone}_{schedule}_{dataset}-{N}cls[_no-...]: model, backbone, GPUs x batch and
    epochs, dataset and classes; ablations add what they drop."""
    for rel in _config_files():
        name = osp.basename(rel)
        if name in ALIASES:
            continue
        assert NAME_RE.fullmatch(name), (
            f'configs/{rel}: name it {{model}}_{{backbone}}_{{schedule}}_{{dataset}}-{{N}}cls.py, '
            f'e.g. mer-clip_{PAPER}_samm-5cls.py (ablations add _no-<what they drop>)')
        if rel.startswith('ablations/'):
            assert '_no-' in name, f'configs/{rel}: an ablation is named for what it drops'


@pytest.mark.parametrize('alias', sorted(ALIASES))
def test_earlier_names_resolve_to_their_new_config(alias):
    assert Config.fromfile(osp.join(CONFIGS, alias)).to_dict() == \
        Config.fromfile(osp.join(CONFIGS, ALIASES[alias])).to_dict()


def test_metafile_lists_the_configs():
    """Every model in configs/metafile.yml points at an existing config of the same name, and every
    config but the ablations and the aliases is listed."""
    import yaml
    with open(osp.join(CONFIGS, 'metafile.yml'), encoding='utf-8') as f:
        models = yaml.safe_load(f)['Models']
    listed = set()
    for model in models:
        rel = osp.relpath(osp.join(REPO, model['Config']), CONFIGS)
        assert osp.isfile(osp.join(CONFIGS, rel)), model['Config']
        assert model['Name'] == osp.splitext(osp.basename(rel))[0], model['Name']
        listed.add(rel)
    expected = {rel for rel in _config_files()
                if not rel.startswith('ablations/') and osp.basename(rel) not in ALIASES}
    assert listed == expected, (sorted(expected - listed), sorted(listed - expected))


def test_data_and_weight_paths_are_written_once():
    """Each data root, annotation file and weight file appears in one config file only."""
    seen = {}
    for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True):
        with open(path, encoding='utf-8') as f:
            for value in re.findall(r"'((?:data|checkpoints)/[^']+)'", f.read()):
                seen.setdefault(value, set()).add(osp.relpath(path, CONFIGS))
    assert {'data/samm/annotations.json', 'checkpoints/uniformerv2_b16_sthv2_u16.pth',
            'checkpoints/clip_vit_b16_openai.pt'} <= set(seen)
    repeated = {v: sorted(files) for v, files in seen.items() if len(files) > 1}
    assert not repeated, repeated
