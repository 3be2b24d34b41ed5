"""FaceActions: one named action per rendered AU (FACS names from the AU table), per image half."""
import numpy as np
import pytest

from mer_clip.au import describe_au, get_au_description
from mer_clip.au.codes import AUCode
from mer_clip.face_renderer import ACTION_OF_AU, RENDERED_AUS, FaceActions


def test_rendered_aus_are_named_by_their_action():
    assert list(RENDERED_AUS) == [1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 16, 17, 20, 23, 24, 25, 26,
                                  38, 43]
    assert RENDERED_AUS == {au: get_au_description(au).facs_name for au in ACTION_OF_AU}
    assert RENDERED_AUS[12] == 'Lip Corner Puller' and ACTION_OF_AU[12] == 'lip_corner_pull'
    # the attribute is the AU's action: its verb stem appears in the table's action phrase
    for au, name in ACTION_OF_AU.items():
        stem = name.split('_')[-1].rstrip('e')
        assert stem in describe_au(au), (au, name, describe_au(au))


def test_sides_levels_and_sums():
    amps = {AUCode(12, 'R'): 0.8, AUCode(4): 1.0, AUCode(6, 'L'): 0.5, AUCode(6, 'R'): 0.25,
            AUCode(51): 1.0}
    act = FaceActions.at_level(list(amps), amps, 0.5)
    # R (the subject's right) is the image's left half, index 0
    assert np.array_equal(act.lip_corner_pull, [0.4, 0.0])
    assert np.array_equal(act.brow_lower, [0.5, 0.5])
    assert np.array_equal(act.cheek_raise, [0.125, 0.25])  # L and R codes of one AU add up
    assert np.array_equal(act.jaw_drop, [0.0, 0.0])  # AU 51 is not rendered: ignored
    left = act.on_side(1)
    assert left.lip_corner_pull == 0.0 and left.cheek_raise == 0.25
    assert act.mean_over_sides().lip_corner_pull == pytest.approx(0.2)
    neutral = FaceActions.at_level(list(amps), amps, 0.0)
    assert all(not np.any(getattr(neutral, n)) for n in ACTION_OF_AU.values())
