"""onset_index of the samples' metainfo: one int or one per view, checked against the clip."""
import pytest
import torch
from mmaction.structures import ActionDataSample

from mer_clip.models.data_preprocessors.onset_index import onset_indices


def _samples(*values):
    out = []
    for i, v in enumerate(values):
        meta = dict(sample_id=f's{i}')
        if v is not None:
            meta['onset_index'] = v
        out.append(ActionDataSample(metainfo=meta))
    return out


def test_one_int_per_sample_or_per_view_and_zero_when_absent():
    out = onset_indices(_samples(3, None, [1, 2]), 3, 2, 8, 'Test')
    assert out.dtype == torch.long and out.tolist() == [[3, 3], [0, 0], [1, 2]]
    assert onset_indices(None, 2, 1, 8, 'Test').tolist() == [[0], [0]]


@pytest.mark.parametrize('value', [8, -1, [1, 2, 3]])
def test_out_of_range_or_wrong_count_names_owner_and_sample(value):
    with pytest.raises(ValueError, match=rf"Mixer: sample s1: onset_index={value!r}".replace(
            '[', r'\[').replace(']', r'\]')):
        onset_indices(_samples(0, value), 2, 2, 8, 'Mixer')
