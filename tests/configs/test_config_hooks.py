"""Every config in configs/ (and each runtime base) trains with the hooks every run needs:
CheckInvalidLossHook (a NaN / inf loss stops the run) and RNGStateHook (exact resume).

``custom_hooks`` is a list, and a list in a child config replaces its base's, so a config that sets
its own hooks must repeat these; this test is what notices one that does not."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
REQUIRED = ('RNGStateHook', 'CheckInvalidLossHook')


def config_files():
    """Every task config, and every runtime base (a config inherits its hooks from one)."""
    paths = glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    rels = sorted(osp.relpath(p, CONFIGS) for p in paths)
    return [r for r in rels if not r.startswith('_base_' + osp.sep)
            or osp.basename(r).endswith('runtime.py')]


@pytest.mark.parametrize('rel', config_files())
def test_config_has_the_required_hooks(rel):
    cfg = Config.fromfile(osp.join(CONFIGS, rel))
    hooks = [h['type'] for h in cfg.get('custom_hooks') or []]
    missing = [h for h in REQUIRED if h not in hooks]
    assert not missing, f'configs/{rel}: custom_hooks {hooks} lack {missing}'


def test_every_config_and_runtime_is_checked():
    files = config_files()
    assert len(files) >= 27
    assert {'_base_/default_runtime.py', '_base_/flow_runtime.py',
            '_base_/mer_clip_runtime.py'} <= set(files)
    assert any(f.startswith('megc2019/') for f in files)
