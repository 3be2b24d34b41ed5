"""The framing check: a dataset config's ``framing`` against the framing its clips were prepared
with (``metainfo.prepared.framing``, written by ``tools/data/prepare_dataset.py --framing``).

A model trained on one framing sees a differently scaled face with another (see
:mod:`mer_clip.preprocessing.framing`), and nothing else would notice: the clips load, train and
test as usual. So the dataset compares the two names when it loads the annotation file:

- the same name: nothing to say;
- another name: :class:`FramingMismatchError`, naming the file, both framings and the two ways out
  (re-prepare with ``--framing``, or set the config's ``framing``);
- no recorded framing (an annotation not written by ``prepare_dataset.py``, or by an older one):
  accepted, with one logged warning per file and process; :data:`UNRECORDED` counts the datasets
  loaded from each such file.
"""
import os.path as osp
from collections import Counter
from typing import Optional

from mer_clip.preprocessing.framing import FRAMINGS

#: framing names a config may give: the presets, a custom one (--eye-distance / --eye-y), and the
#: published MEGC2019 crops (one framing per source dataset, not ours)
CONFIG_FRAMINGS = (*FRAMINGS, 'custom', 'megc2019_released')
#: annotation file (absolute path) -> datasets loaded from it without a recorded framing
UNRECORDED: Counter = Counter()


class FramingMismatchError(ValueError):
    """The clips were prepared with another framing than the config expects."""


def recorded_framing(file_meta: dict) -> Optional[str]:
    """The framing an annotation's clips were prepared with, or None when not recorded."""
    return (file_meta.get('prepared') or {}).get('framing')


def check_framing(ann_file: str, file_meta: dict, expected: Optional[str], num_samples: int,
                  logger) -> Optional[str]:
    """Compare the config's framing ``expected`` with the annotation's; returns the recorded one.

    ``expected=None``: no check (a dataset built without a config's framing). Raises
    :class:`FramingMismatchError` on a mismatch, ``ValueError`` on an unknown config framing.
    """
    if expected is None:
        return recorded_framing(file_meta)
    if expected not in CONFIG_FRAMINGS:
        raise ValueError(f'dataset of {ann_file}: unknown framing {expected!r} in the config; '
                         f'known: {list(CONFIG_FRAMINGS)} (mer_clip/preprocessing/framing.py)')
    recorded = recorded_framing(file_meta)
    if recorded is None:
        key = osp.abspath(ann_file)
        UNRECORDED[key] += 1
        if UNRECORDED[key] == 1:
            remedy = ('Convert the HTNet release again with tools/data/convert_annotations.py '
                      'megc2019_htnet' if expected == 'megc2019_released' else
                      f'Re-prepare the clips with prepare_dataset.py --framing {expected}')
            logger.warning(
                f'{ann_file}: no framing recorded (metainfo.prepared.framing; {num_samples} '
                'samples): not written by tools/data/prepare_dataset.py, or by an older version, '
                f"so the config's framing {expected!r} cannot be checked. {remedy} to record it "
                '(warned once per file).')
        return None
    if recorded != expected:
        cfg = (file_meta.get('prepared') or {}).get('config') or {}
        values = (f" (eye_distance {cfg['eye_distance']}, eye_y {cfg['eye_y']})"
                  if 'eye_distance' in cfg and 'eye_y' in cfg else '')
        raise FramingMismatchError(
            f"{ann_file}: the clips were prepared with framing {recorded!r}{values}, the config "
            f"expects {expected!r}: a model would see differently scaled faces. Re-prepare the "
            f'clips with tools/data/prepare_dataset.py --framing {expected} (a new OUT_ROOT), or '
            f"set framing = {recorded!r} in the config (--cfg-options framing={recorded}) if "
            'the model is meant for these clips.')
    return recorded
