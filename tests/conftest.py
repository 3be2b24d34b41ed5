"""Shared fixtures: repository paths and a small synthetic ME dataset generated once per session."""
import os
import os.path as osp

import pytest

import mer_clip  # noqa: F401  (compat first, registries filled)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_LISTS = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'merclip_official_lists')


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic set (4 subjects x 6 clips, 32 px): `<root>/annotations.json`, `frames/`."""
    from mer_clip.datasets.synthetic import make_synthetic_dataset
    root = tmp_path_factory.mktemp('synthetic')
    make_synthetic_dataset(str(root), num_subjects=4, clips_per_subject=6, size=32, seed=0)
    return str(root)


def pytest_configure(config):
    # keep the 2-core CI machine responsive: one intra-op thread per test process
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    import torch
    torch.set_num_threads(1)
