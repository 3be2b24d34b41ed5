"""mer_clip.apis.config: the config a tool runs (--cfg-options, fold options, --strict)."""
import os.path as osp

import pytest
from mmengine.config import Config

from mer_clip.apis.config import apply_cfg_options, load_config
from tests.conftest import REPO_ROOT

SAMM = osp.join(REPO_ROOT, 'configs/mer_clip_samm.py')


def test_cfg_options_loso_subject_reaches_every_dataloader():
    """The documented ``--cfg-options loso_subject=006`` (tools/train.py docstring) used to set
    only the top-level variable, which no dataset reads any more."""
    cfg = Config.fromfile(SAMM)
    apply_cfg_options(cfg, ['loso_subject=006', 'train_dataloader.batch_size=3'])
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.loso_subject == '006'  # verbatim, not the number 6
    assert cfg.train_dataloader.batch_size == 3 and cfg.loso_subject == '006'


def test_load_config_applies_options_fold_and_strict_labels():
    cfg = load_config(SAMM, ['train_dataloader.batch_size=3'], fold_key='sex', held_out='F',
                      strict_labels=True)
    assert cfg.train_dataloader.batch_size == 3
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[key].dataset
        assert (ds.fold_key, ds.held_out, ds.loso_subject) == ('sex', 'F', None)
        assert ds.strict_labels is True
    with pytest.raises(ValueError, match='not both'):
        load_config(SAMM, loso_subject='006', held_out='F')


def test_cfg_options_framing_reaches_every_dataloader():
    """``--cfg-options framing=NAME`` (the framing check's remedy) sets every dataset's framing;
    the top-level variable alone would reach none."""
    cfg = Config.fromfile(SAMM)
    assert {cfg[k].dataset.framing for k in ('train_dataloader', 'test_dataloader')} == {
        'mer_clip'}
    apply_cfg_options(cfg, ['framing=megc2019_samm'])
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.framing == 'megc2019_samm'
    assert cfg.framing == 'megc2019_samm'
