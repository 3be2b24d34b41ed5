import numpy as np
import pytest

from mer_clip.datasets.transforms import MESampleFrames, sample_me_indices


@pytest.mark.parametrize('onset,apex,offset,clip_len', [
    (0, 10, 40, 16), (100, 101, 160, 16), (5, 60, 61, 16), (1, 1, 50, 16), (1, 50, 50, 16),
    (3, 7, 12, 16), (0, 3, 15, 16), (10, 20, 30, 8), (0, 0, 0, 16), (0, 200, 900, 16)])
def test_keeps_onset_apex_offset_and_length(onset, apex, offset, clip_len):
    inds = sample_me_indices(onset, apex, offset, clip_len)
    assert inds.dtype == np.int64 and inds.shape == (clip_len, )
    assert inds[0] == onset and inds[-1] == offset and apex in inds
    assert np.all(np.diff(inds) >= 0)
    assert inds.min() >= onset and inds.max() <= offset
    if offset - onset + 1 >= clip_len:
        assert len(np.unique(inds)) == clip_len  # long clips: no frame repeated
    else:
        assert set(range(onset, offset + 1)) <= set(inds.tolist())  # short clips: every frame kept


def test_frames_spread_in_proportion_to_segments():
    # onset->apex is 1/4 of the clip, so about 1/4 of the free frames go there
    inds = sample_me_indices(0, 25, 100, 16)
    before = np.sum((inds > 0) & (inds < 25))
    after = np.sum((inds > 25) & (inds < 100))
    assert (before, after) == (3, 10)
    assert np.all(np.diff(inds[inds <= 25]) >= 6) and np.all(np.diff(inds[inds >= 25]) >= 6)


def test_unknown_apex_is_uniform():
    inds = sample_me_indices(1, None, 16, 16)
    assert inds.tolist() == list(range(1, 17))
    inds = sample_me_indices(0, None, 30, 4)
    assert inds.tolist() == [0, 10, 20, 30]


@pytest.mark.parametrize('args,msg', [((10, 5, 20), 'apex'), ((10, None, 5), 'offset'),
                                      ((0, 50, 40), 'apex')])
def test_bad_annotations_raise(args, msg):
    with pytest.raises(ValueError, match=msg):
        sample_me_indices(*args, clip_len=16)


def test_transform_sets_keys_and_names_sample_on_error():
    out = MESampleFrames(clip_len=8)(dict(onset=10, apex=14, offset=30, sample_id='s1'))
    assert out['frame_inds'][0] == 10 and out['onset_index'] == 0
    assert out['frame_inds'][out['apex_index']] == 14
    assert out['clip_len'] == 8 and out['num_clips'] == 1
    with pytest.raises(ValueError, match='sample bad_one'):
        MESampleFrames()(dict(onset=10, apex=3, offset=30, sample_id='bad_one'))
