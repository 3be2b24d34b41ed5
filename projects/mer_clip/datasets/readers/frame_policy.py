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
==========================  ==========================  ==========================================

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


def repair_frames(onset: int, apex: Optional[int], offset: int) -> FrameRepair:
    """Apply the policy of the module docstring; raises :class:`FrameFault` when unrepairable."""
    if min(onset, offset) < 0 or (apex is not None and apex < 0):
        raise FrameFault(f'negative frame number (onset {onset}, apex {apex}, offset {offset})')
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
