"""The AUs the renderer moves, named by what they do, and their intensity at one instant.

:class:`FaceActions` holds one entry per rendered AU, named after its action in the AU table
(:mod:`mer_clip.au.descriptions`: AU 12 "pulling the corners of the lips" -> ``lip_corner_pull``).
Each entry has two values, one per image half: index 0 is the image's left half (the subject's
right side, FACS ``R``), index 1 the image's right half (the subject's left, ``L``). 0 is neutral;
a clip at its apex reaches its amplitude (about 1, see ``ClipSpec``). How each action moves the
face is in :mod:`mer_clip.face_renderer.face`.
"""
from dataclasses import dataclass, field, fields
from typing import Dict, Sequence

import numpy as np

from mer_clip.au.codes import AUCode
from mer_clip.au.descriptions import get_au_description

_ZERO = np.zeros(2)
#: Image half of a FACS side: 0 = image left (subject's right), 1 = image right (subject's left).
_HALVES = {None: [0, 1], 'R': [0], 'L': [1]}


def _au(number: int):
    return field(metadata={'au': number})


@dataclass(frozen=True)
class FaceActions:
    """Per-side intensity of every rendered AU; (2,) arrays, or floats after :meth:`on_side` /
    :meth:`mean_over_sides`."""
    inner_brow_raise: np.ndarray = _au(1)
    outer_brow_raise: np.ndarray = _au(2)
    brow_lower: np.ndarray = _au(4)
    upper_lid_raise: np.ndarray = _au(5)
    cheek_raise: np.ndarray = _au(6)
    lid_tighten: np.ndarray = _au(7)
    nose_wrinkle: np.ndarray = _au(9)
    upper_lip_raise: np.ndarray = _au(10)
    lip_corner_pull: np.ndarray = _au(12)
    dimple: np.ndarray = _au(14)
    lip_corner_depress: np.ndarray = _au(15)
    lower_lip_depress: np.ndarray = _au(16)
    chin_raise: np.ndarray = _au(17)
    lip_stretch: np.ndarray = _au(20)
    lip_tighten: np.ndarray = _au(23)
    lip_press: np.ndarray = _au(24)
    lips_part: np.ndarray = _au(25)
    jaw_drop: np.ndarray = _au(26)
    nostril_dilate: np.ndarray = _au(38)
    eye_close: np.ndarray = _au(43)

    @classmethod
    def at_level(cls, codes: Sequence[AUCode], amplitudes: Dict[AUCode, float],
                 level: float) -> 'FaceActions':
        """The actions of ``codes`` at temporal level ``level`` (0 = neutral, 1 = apex): each code
        acts with ``amplitudes[code] * level`` on its side(s); codes of one AU add up; AUs the
        renderer does not draw are ignored."""
        per_au: Dict[int, np.ndarray] = {}
        for code in codes:
            v = np.zeros(2)
            v[_HALVES[code.side]] = amplitudes[code] * level
            per_au[code.au] = per_au.get(code.au, _ZERO) + v
        return cls(**{name: per_au.get(au, _ZERO) for au, name in ACTION_OF_AU.items()})

    def on_side(self, half: int) -> 'FaceActions':
        """The intensities on one image half (0: image left, 1: image right), as floats."""
        return FaceActions(**{f.name: getattr(self, f.name)[half] for f in fields(self)})

    def mean_over_sides(self) -> 'FaceActions':
        """The intensities averaged over both halves (for the mouth's middle, the jaw, the chin)."""
        return FaceActions(**{f.name: float(getattr(self, f.name).mean()) for f in fields(self)})


#: AU number -> :class:`FaceActions` attribute.
ACTION_OF_AU: Dict[int, str] = {f.metadata['au']: f.name for f in fields(FaceActions)}
#: AUs the renderer moves -> FACS name (from the AU table).
RENDERED_AUS: Dict[int, str] = {au: get_au_description(au).facs_name for au in ACTION_OF_AU}
