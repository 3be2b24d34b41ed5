"""stacked_model_class: the stacked module for a config, or the refusal naming the reason."""
import pytest
from mmengine.config import Config

from mer_clip.loso.batched.stacked_model import BatchingUnsupported, check_batchable, \
    stacked_model_class
from mer_clip.loso.batched.stacked_off_apexnet import StackedOFFApexNet
from mer_clip.loso.batched.stacked_ststnet import StackedSTSTNet
from tests.conftest import REPO_ROOT


def _model(path):
    return Config.fromfile(f'{REPO_ROOT}/{path}').model


def test_unstackable_configs_are_refused_with_the_reason():
    video = _model('configs/megc2019/mer-clip_uniformerv2-b16_2xb8-55e_megc2019-3cls.py')
    with pytest.raises(BatchingUnsupported, match="'MERUniFormerV2', a video model"):
        check_batchable(video)
    heads = 'configs/megc2019/mer-clip_ststnet-flow-28px_1xb32-40e_megc2019-3cls'
    for suffix, named, absent in [('', ['emotion transformer head', 'AU-text alignment'], []),
                                  ('_linear-head', ['UniFormerHead classifier', 'alignment'],
                                   ['transformer']),
                                  ('_wo-align', ['emotion transformer head'], ['alignment'])]:
        with pytest.raises(BatchingUnsupported, match='MER-CLIP heads on STSTNet are not '
                           'stacked yet') as e:
            check_batchable(_model(heads + suffix + '.py'))
        assert 'SoftmaxFocalLoss' in str(e.value)
        assert all(n in str(e.value) for n in named) and not any(a in str(e.value)
                                                                for a in absent), suffix
    off = _model('configs/megc2019/off-apexnet_flow-28px_1xb32-40e_megc2019-3cls.py')
    assert stacked_model_class(off) is StackedOFFApexNet
    with pytest.raises(BatchingUnsupported, match="OFF-ApexNet's output is not 'fc'"):
        check_batchable(dict(off, backbone=dict(off.backbone, output='feature_map')))
    with pytest.raises(BatchingUnsupported, match="'HTNet'; the fold-batched mode stacks"):
        check_batchable(_model('configs/megc2019/htnet_flow-28px_1xb32-40e_megc2019-3cls.py'))
    ok = _model('configs/_base_/models/ststnet_flow.py')
    assert stacked_model_class(ok) is StackedSTSTNet
    with pytest.raises(BatchingUnsupported, match='dropout_ratio'):
        check_batchable(dict(ok, cls_head=dict(ok.cls_head, dropout_ratio=0.5)))
