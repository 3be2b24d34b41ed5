"""mer_clip.utils.config: --cfg-options as the tools apply them."""
import os.path as osp

from mmengine.config import Config

from mer_clip.utils import apply_cfg_options
from tests.conftest import REPO_ROOT


def test_cfg_options_loso_subject_reaches_every_dataloader():
    """The documented ``--cfg-options loso_subject=006`` (tools/train.py docstring) used to set
    only the top-level variable, which no dataset reads any more."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/mer_clip_samm.py'))
    apply_cfg_options(cfg, ['loso_subject=006', 'train_dataloader.batch_size=3'])
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.loso_subject == '006'  # verbatim, not the number 6
    assert cfg.train_dataloader.batch_size == 3 and cfg.loso_subject == '006'
