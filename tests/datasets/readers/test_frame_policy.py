"""The frame-fault policy: the one number that disagrees with the other two is repaired."""
import pytest

from mer_clip.datasets.readers.frame_policy import FrameFault, repair_frames


@pytest.mark.parametrize('sheet, fixed, kind', [
    ((10, 15, 20), (10, 15, 20), None), ((10, None, 20), (10, None, 20), None),
    ((112, 83, 358), (112, None, 358), 'apex_outside'),
    ((1812, 1824, 0), (1812, 1824, 1824), 'offset_before_onset'),
    ((3647, 2668, 2694), (2668, 2668, 2694), 'onset_after_offset'),
    ((400, 350, 300), (300, 350, 400), 'onset_offset_swapped'),
])
def test_repairs(sheet, fixed, kind):
    fix = repair_frames(*sheet)
    assert (fix.onset, fix.apex, fix.offset, fix.kind) == fixed + (kind, )
    if kind:
        assert fix.problem and fix.action


def test_first_frame_and_unrepairable():
    fix = repair_frames(0, 0, 25, first_frame=1)
    assert (fix.onset, fix.apex, fix.offset, fix.kind) == (1, None, 25, 'before_first_frame')
    assert repair_frames(0, 0, 25).kind is None  # without knowing the first frame: fine
    with pytest.raises(FrameFault, match='no apex to tell'):
        repair_frames(355, None, 300)
    with pytest.raises(FrameFault, match='negative'):
        repair_frames(-1, None, 3)
