"""Framing presets: the values, their names, the error for an unknown one."""
import pytest

from mer_clip.preprocessing.framing import FRAMINGS, framing, framing_name
from mer_clip.preprocessing.prepare import PrepareConfig


def test_presets_and_names():
    assert framing('mer_clip') == (0.32, 0.38) == (PrepareConfig().eye_distance,
                                                   PrepareConfig().eye_y)
    assert PrepareConfig().framing == 'mer_clip'
    d, y = framing('megc2019_casme2')
    assert PrepareConfig(eye_distance=d, eye_y=y).framing == 'megc2019_casme2'
    assert PrepareConfig(eye_distance=0.4, eye_y=0.38).framing == 'custom'
    assert all(0.2 < d < 0.7 and 0.2 < y < 0.5 for d, y in FRAMINGS.values())
    assert framing_name(*FRAMINGS['megc2019_samm']) == 'megc2019_samm'
    with pytest.raises(ValueError, match="unknown framing 'tight'.*megc2019_smic"):
        framing('tight')


def test_every_dataset_config_names_its_framing():
    import glob
    import os.path as osp

    from mmengine.config import Config
    root = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')
    for path in sorted(glob.glob(osp.join(root, '*.py'))):
        if osp.basename(path) in ('me_pipelines.py', 'me_loso.py'):
            continue
        name = Config.fromfile(path).get('framing')
        assert name in FRAMINGS or name == 'megc2019_released', (path, name)
