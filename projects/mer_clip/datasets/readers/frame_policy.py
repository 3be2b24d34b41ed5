"""What a reader does with onset / apex / offset numbers that contradict each other.

The canonical format needs ``onset <= apex <= offset`` (apex may be unknown). Real sheets break it:
CAS(ME)^3 part A v2 has an apex before the onset, an onset after the offset and two offsets of 0.
The policy keeps the sample and changes the **one number that disagrees with the other two**,
replacing it by the nearest frame that is known to lie inside the micro-expression:

==========================  ==========================  ==========================================
fault (report kind)          example (onset/apex/offset)  repair
==========================  ==========================  ==========================================
``apex_outside``             112 / 83 / 358               apex unknown (null): the sampler spreads
                                                          frames uniformly over onset..offset
``offset_before_onset``      1812 / 1824 / 0              offset := apex (the last known ME frame)
``onset_after_offset``       3647 / 2668 / 2694           onset := apex (the first known ME frame)
``onset_offset_swapped``     400 / 350 / 300              onset and offset exchanged
``before_first_frame``       0 / 0 / 25 (frames from 1)   onset := first frame, apex unknown
==========================  ==========================  ==========================================

``before_first_frame`` applies only where the reader knows the release's first frame number
(CAS(ME)^3's JPEG indices start at 1: its spNO.216 e row has onset and apex 0; the MER-CLIP authors
name that sample ``spNO.216_e_0001`` with 25 frames, i.e. frames 1..25).

Onset after offset with an unknown apex (nothing tells which number is wrong) and negative frame
numbers cannot be repaired: the row is an error (``--on-error skip`` drops it, counted). Each
repair is a warning of the conversion report (``--strict`` stops at it instead) and the record
keeps ``frame_repair = {kind, sheet: [onset, apex, offset]}``. Where the dataset ships its own
list of faulty samples (CAS(ME)^3), the reader applies it too (see ``casme3.py``).
"""
from dataclasses import dataclass
from typing import Optional

from mer_clip.datasets.annotation import AnnotationError

#: fault kind -> (what is wrong, what the policy does)
FRAME_FAULTS = {
    'apex_outside': ('apex {apex} is outside [onset, offset] = [{onset}, {offset}]',
                     'apex set to unknown (null): frames are sampled uniformly between onset and '
                     'offset'),
    'offset_before_onset': ('offset {offset} is before onset {onset} and apex {apex}',
                            'offset set to the apex ({apex}), the last frame known to be inside '
                            'the ME'),
    'onset_after_offset': ('onset {onset} is after apex {apex} and offset {offset}',
                           'onset set to the apex ({apex}), the first frame known to be inside '
                           'the ME'),
    'onset_offset_swapped': ('onset {onset} > apex {apex} > offset {offset}',
                             'onset and offset exchanged'),
    'before_first_frame': ('onset {onset} / apex {apex} before the first frame {first} of the '
                           'release', 'onset set to the first frame, an apex before it to unknown'),
}


class FrameFault(AnnotationError):
    """Frame numbers that no rule of the policy can repair."""


@dataclass(frozen=True)
class FrameRepair:
    onset: int
    apex: Optional[int]
    offset: int
    kind: Optional[str] = None      # None: nothing to repair
    problem: str = ''
    action: str = ''


def repair_frames(onset: int, apex: Optional[int], offset: int,
                  first_frame: Optional[int] = None) -> FrameRepair:
    """Apply the policy of the module docstring; raises :class:`FrameFault` when unrepairable.
    ``first_frame``: the release's first frame number, when the reader knows it."""
    if min(onset, offset) < 0 or (apex is not None and apex < 0):
        raise FrameFault(f'negative frame number (onset {onset}, apex {apex}, offset {offset})')
    if first_frame is not None and onset < first_frame <= offset:
        problem, action = (t.format(onset=onset, apex=apex, first=first_frame)
                           for t in FRAME_FAULTS['before_first_frame'])
        fixed_apex = None if apex is not None and apex < first_frame else apex
        inner = repair_frames(first_frame, fixed_apex, offset)
        if inner.kind is not None:  # a second fault in the same row: report both
            problem, action = f'{problem}; {inner.problem}', f'{action}; {inner.action}'
        return FrameRepair(inner.onset, inner.apex, inner.offset, kind='before_first_frame',
                           problem=problem, action=action)
    if onset <= offset:
        if apex is None or onset <= apex <= offset:
            return FrameRepair(onset, apex, offset)
        kind, fixed = 'apex_outside', (onset, None, offset)
    elif apex is None:
        raise FrameFault(f'onset {onset} > offset {offset} and no apex to tell which of the two is '
                         'wrong; fix the cell')
    elif onset <= apex:
        kind, fixed = 'offset_before_onset', (onset, apex, apex)
    elif apex <= offset:
        kind, fixed = 'onset_after_offset', (apex, apex, offset)
    else:
        kind, fixed = 'onset_offset_swapped', (offset, apex, onset)
    problem, action = (t.format(onset=onset, apex=apex, offset=offset) for t in FRAME_FAULTS[kind])
    return FrameRepair(*fixed, kind=kind, problem=problem, action=action)
