"""Fixtures of the LOSO tests: the synthetic config and options pointing it at a data folder."""
import os.path as osp

import pytest

from tests.conftest import SYNTHETIC_CONFIG


def _data_options(root: str, ann_file: str = None):
    """--cfg-options pointing every dataloader of the synthetic config at ``root``."""
    ann = ann_file or osp.join(root, 'annotations.json')
    opts = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.ann_file={ann}',
                 f'{loader}.dataset.data_prefix.img={osp.join(root, "frames")}']
    return opts


@pytest.fixture(scope='session')
def data_options():
    return _data_options


@pytest.fixture(scope='session')
def synthetic_config():
    return SYNTHETIC_CONFIG


@pytest.fixture
def in_repo(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
