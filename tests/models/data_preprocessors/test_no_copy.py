"""NoCopyActionDataPreprocessor: the same batch as ActionDataPreprocessor, without copying the
data samples on the CPU."""
import torch
from mmaction.structures import ActionDataSample
from mmengine.registry import init_default_scope

import mer_clip  # noqa: F401
from mmaction.registry import MODELS

init_default_scope('mmaction')


def test_same_batch_without_copies():
    samples = [ActionDataSample(metainfo=dict(sample_id=f's{i}', au_prompt='brow lowerer'))
               .set_gt_label(i % 3) for i in range(4)]
    data = dict(inputs=[torch.randn(1, 3, 28, 28) for _ in range(4)], data_samples=samples)
    ref = MODELS.build(dict(type='ActionDataPreprocessor', format_shape='NCHW'))(data, True)
    out = MODELS.build(dict(type='NoCopyActionDataPreprocessor', format_shape='NCHW'))(data, True)
    torch.testing.assert_close(out['inputs'], ref['inputs'], rtol=0, atol=0)
    assert out['inputs'].shape == (4, 1, 3, 28, 28)
    assert all(a is b for a, b in zip(out['data_samples'], samples))  # not copied
    assert all(r is not b for r, b in zip(ref['data_samples'], samples))  # mmengine copies
    assert [s.gt_label.item() for s in out['data_samples']] == [0, 1, 2, 0]
    assert out['data_samples'][1].metainfo == ref['data_samples'][1].metainfo
