"""Framing presets: where an aligned face sits in the crop (eye distance and eye-line height).

A preset is (``eye_distance``, ``eye_y``): the distance between the two eye centres as a fraction
of the output width, and the height of the eye line as a fraction of the output height (the eye
midpoint is always centred horizontally). A model trained on one framing sees a differently
scaled face with another, so a dataset config names the framing it expects
(``framing = '...'`` in ``configs/_base_/datasets/*.py``) and ``prepare_dataset.py --framing``
writes it into ``prepare_config.json`` and the annotation's ``metainfo.prepared``.

- ``mer_clip`` (the default): eyes 0.32 x 224 = 72 px apart at y = 0.38. The whole face with
  the brows, the chin and the cheeks' outline fits into the crop with a margin, which leaves room
  for the training pipeline's random crop and rotation without cutting off AU regions (brows:
  AU1/2/4, chin: AU17); the eye line at 0.38 puts the face's vertical middle (eyes to chin) near
  the crop's centre.
- ``megc2019_<source>``: the published crops of the MEGC2019 composite (224 x 224 apex frames of
  the HTNet release), measured with the five-point landmarks (median over the source's samples;
  bench/framing_megc2019.py): a tighter, higher framing than ours, and not one framing but one per
  source dataset.
"""
from typing import Dict, Tuple

#: name -> (eye_distance, eye_y); the megc2019 ones measured on the 442 composite apex frames
FRAMINGS: Dict[str, Tuple[float, float]] = {
    'mer_clip': (0.32, 0.38),
    # median (IQR) over the source's samples, of 224 px:
    'megc2019_casme2': (0.545, 0.280),  # 122 px (119-125), y 0.276-0.286; 145 samples
    'megc2019_smic': (0.521, 0.272),    # 117 px (114-119), y 0.267-0.275; 164 samples
    'megc2019_samm': (0.454, 0.384),    # 102 px (99-105),  y 0.371-0.395; 133 samples
}
DEFAULT_FRAMING = 'mer_clip'


def framing(name: str) -> Tuple[float, float]:
    """(eye_distance, eye_y) of a preset; a clear error lists the presets."""
    if name not in FRAMINGS:
        raise ValueError(f'unknown framing {name!r}; presets: {sorted(FRAMINGS)} (or give '
                         '--eye-distance / --eye-y)')
    return FRAMINGS[name]


def framing_name(eye_distance: float, eye_y: float) -> str:
    """The preset with these values, or ``'custom'``."""
    for name, (d, y) in FRAMINGS.items():
        if abs(d - eye_distance) < 1e-9 and abs(y - eye_y) < 1e-9:
            return name
    return 'custom'
