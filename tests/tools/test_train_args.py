"""tools/train.py argument handling: LOSO subject, resume, AMP fallback without CUDA."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config, ConfigDict

from mer_clip.apis.config import load_config
from mer_clip.datasets.protocol import set_fold
from tests.conftest import REPO_ROOT, load_tool

SAMM = 'configs/mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py'

@pytest.fixture(scope='module')
def train_tool():
    return load_tool('tools/train.py')


def _args(train_tool, monkeypatch, *argv):
    monkeypatch.setattr('sys.argv', ['train.py', *argv])
    return train_tool.parse_args()


def test_loso_subject_reaches_every_dataloader(train_tool, monkeypatch):
    # the user's own command line, with the earlier name of the SAMM config
    args = _args(train_tool, monkeypatch, 'configs/mer_clip_samm.py', '--loso-subject', '011')
    cfg = load_config(osp.join(REPO_ROOT, args.config), args.cfg_options,
                      loso_subject=args.loso_subject, fold_key=args.fold_key,
                      held_out=args.held_out, strict_labels=args.strict)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.loso_subject == '011'


def test_resume_auto_and_path(train_tool, monkeypatch):
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py'))
    args = _args(train_tool, monkeypatch, 'x.py', '--resume')
    out = train_tool.merge_args(cfg, args)
    assert out.resume is True and out.load_from is None
    args = _args(train_tool, monkeypatch, 'x.py', '--resume', 'ckpt.pth')
    out = train_tool.merge_args(cfg, args)
    assert out.resume is True and out.load_from == 'ckpt.pth'
    assert out.allow_partial_load is False  # the default: a partial checkpoint is refused
    args = _args(train_tool, monkeypatch, 'x.py', '--resume', 'ckpt.pth', '--allow-partial-load')
    assert train_tool.merge_args(cfg, args).allow_partial_load is True


def test_amp_config_falls_back_to_fp32_without_cuda(train_tool, monkeypatch):
    cfg = Config.fromfile(osp.join(REPO_ROOT, SAMM))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.dtype == 'bfloat16'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    out = train_tool.merge_args(cfg, _args(train_tool, monkeypatch, 'x.py'))
    assert out.optim_wrapper.type == 'OptimWrapper'
    assert 'dtype' not in out.optim_wrapper and 'loss_scale' not in out.optim_wrapper
    assert out.optim_wrapper.optimizer.lr == 5e-5  # the rest is untouched
    # with CUDA the AMP wrapper stays, unless --no-amp
    cfg = Config.fromfile(osp.join(REPO_ROOT, SAMM))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert train_tool.merge_args(cfg, _args(train_tool, monkeypatch, 'x.py')
                                 ).optim_wrapper.type == 'AmpOptimWrapper'
    out = train_tool.merge_args(cfg, _args(train_tool, monkeypatch, 'x.py', '--no-amp'))
    assert out.optim_wrapper.type == 'OptimWrapper'


def test_loso_subject_reaches_a_wrapped_dataset():
    inner = dict(type='MicroExpressionDataset', loso_subject=None)
    cfg = ConfigDict(train_dataloader=dict(dataset=dict(
        type='RepeatDataset', times=2, dataset=dict(type='ClassBalancedDataset', dataset=inner))))
    set_fold(cfg, 'subject', 7)
    assert cfg.train_dataloader.dataset.dataset.dataset.loso_subject == '7'
    assert 'loso_subject' not in cfg.train_dataloader.dataset  # the wrapper is left alone
