"""AU descriptions: the paper's Table II and the other AUs the micro-expression datasets use.

Every AU has a FACS name ("Lip Corner Puller"), an action-oriented description ("pulling the corners
of the lips", the paper's text for the CLIP encoder) and, for AUs that can be unilateral, how one
side is said ("pulling the {side} corner of the lips"). Table II (18 AUs) comes from the paper;
the other entries reuse the wording of the MER-CLIP authors' AU lists
(``data/*/AUlabel_map*.txt``) where they have it ("dropping the jaw", "closing the eyes",
"dilating the nostrils", "raising the chin to the right", "stretching the lips down and to the
left", ...) and otherwise follow the FACS manual in the same "-ing the ..." style.

Unknown AUs (not in FACS, e.g. 3 or 70) fall back to ``"action unit N"`` (style ``'action'``) or
``"AU N"`` (style ``'facs'``), with one warning per AU; pass ``fallback='error'`` to refuse them.
:func:`register_au` adds or replaces entries (e.g. a dataset's own codes).

This is the one AU table of the package. A *vocabulary* is the table with a few entries worded
differently: ``vocabulary='merclip'`` is the wording of the MER-CLIP authors' lists
(:data:`MERCLIP_WORDING`), which their list reader (:mod:`mer_clip.datasets.readers.merclip_lists`)
parses with, and which :func:`describe_au` / :func:`~mer_clip.au.prompts.au_prompt` render on
request.

Note on AU 13: the FACS manual (2002) names it "Sharp Lip Puller"; some tables (and the authors'
SAMM list, which says "Cheek Puffer ... inflating the cheeks by exerting pressure from within the
mouth") use the 1978 name. The table follows the manual (13 = sharp lip puller, 34 = cheek puff with
the authors' phrase); the ``'merclip'`` vocabulary says what the authors say (13 = cheek puffer). It
is the only AU of their lists that the two render differently
(``tests/au/test_descriptions.py::test_authors_lists_render_as_before``).
"""
import logging
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

logger = logging.getLogger(__name__)

SIDE_WORDS = {'L': 'left', 'R': 'right'}


@dataclass(frozen=True)
class AUDescription:
    """Text of one AU.

    Args:
        au: AU number.
        facs_name: FACS name, title case ("Lip Corner Puller").
        action: action-oriented description of the bilateral/unsided AU.
        sided: the same with a ``{side}`` placeholder ("left"/"right"), or None for AUs that have no
            side (their side, if annotated, is ignored: e.g. 17 "raising the chin" has a sided form,
            51 "turning the head to the left" has none).
        in_table: True for the 18 AUs of the paper's Table II.
    """
    au: int
    facs_name: str
    action: str
    sided: Optional[str] = None
    in_table: bool = False

    def render(self, side: Optional[str] = None, style: str = 'action') -> str:
        """Phrase of this AU, with its side rendered when ``side`` is 'L' or 'R'."""
        if style not in ('action', 'facs'):
            raise ValueError(f"style must be 'action' or 'facs', got {style!r}")
        side_word = _side_word(side)
        if style == 'facs':
            # the authors' short lists: "Left Lip Corner Puller"
            return self.facs_name if side_word is None or self.sided is None else \
                f'{side_word.capitalize()} {self.facs_name}'
        if side_word is None or self.sided is None:
            return self.action
        return self.sided.format(side=side_word)


def _side_word(side: Optional[str]) -> Optional[str]:
    if side is None:
        return None
    key = str(side).strip().upper()
    if key in ('', 'NONE'):
        return None
    if key in ('L', 'LEFT'):
        return 'left'
    if key in ('R', 'RIGHT'):
        return 'right'
    raise ValueError(f"AU side must be 'L', 'R' or None, got {side!r}")


# (au, FACS name, action, sided form or None)
_TABLE_II = [
    (1, 'Inner Brow Raiser', 'raising the inner part of the brows',
     'raising the inner part of the {side} brow'),
    (2, 'Outer Brow Raiser', 'raising the outer part of the brows',
     'raising the outer part of the {side} brow'),
    (4, 'Brow Lowerer', 'lowering the brows', 'lowering the {side} brow'),
    (5, 'Upper Lid Raiser', 'raising the upper lids', 'raising the {side} upper lid'),
    (6, 'Cheek Raiser', 'raising the cheeks', 'raising the {side} cheek'),
    (7, 'Lid Tightener', 'tightening the lids', 'tightening the {side} lid'),
    (9, 'Nose Wrinkler', 'wrinkling the nose', 'wrinkling the {side} side of the nose'),
    (10, 'Upper Lip Raiser', 'raising the upper lip', 'raising the {side} upper lip'),
    (12, 'Lip Corner Puller', 'pulling the corners of the lips',
     'pulling the {side} corner of the lips'),
    (14, 'Dimpler', 'creating the dimples', 'creating the {side} dimple'),
    (15, 'Lip Corner Depressor', 'depressing the corners of the lips',
     'depressing the {side} corner of the lips'),
    (16, 'Lower Lip Depressor', 'depressing the lower lip',
     'depressing the {side} side of the lower lip'),
    (17, 'Chin Raiser', 'raising the chin', 'raising the chin to the {side}'),
    (20, 'Lip Stretcher', 'stretching the lips', 'stretching the lips down and to the {side}'),
    (23, 'Lip Tightener', 'tightening the lips', 'tightening the {side} side of the lips'),
    (24, 'Lip Presser', 'pressing the lips', 'pressing the {side} side of the lips'),
    (25, 'Lips Part', 'parting the lips', 'parting the lips on the {side} side'),
    (28, 'Lip Suck', 'sucking the lips', 'sucking the {side} side of the lips'),
]

# AUs outside Table II: FACS manual codes seen in SAMM, CASME II, CAS(ME)^3 and DFME annotations.
_EXTRA = [
    (8, 'Lips Toward Each Other', 'pulling the lips towards each other',
     'pulling the lips towards each other on the {side} side'),
    (11, 'Nasolabial Deepener', 'deepening the nasolabial furrows',
     'deepening the {side} nasolabial furrow'),
    (13, 'Sharp Lip Puller', 'sharply pulling up the corners of the lips',
     'sharply pulling up the {side} corner of the lips'),
    (18, 'Lip Pucker', 'puckering the lips', 'puckering the lips to the {side}'),
    (19, 'Tongue Show', 'showing the tongue', None),
    (21, 'Neck Tightener', 'tightening the neck', 'tightening the {side} side of the neck'),
    (22, 'Lip Funneler', 'pursing the lips into a funnel shape',
     'pursing the lips into a funnel shape to the {side}'),
    (26, 'Jaw Drop', 'dropping the jaw', 'dropping the jaw to the {side}'),
    (27, 'Mouth Stretch', 'stretching the mouth wide open', None),
    (29, 'Jaw Thrust', 'thrusting the jaw forward', None),
    (30, 'Jaw Sideways', 'moving the jaw sideways', 'moving the jaw to the {side}'),
    (31, 'Jaw Clencher', 'clenching the jaw', 'clenching the jaw on the {side} side'),
    (32, 'Lip Bite', 'biting the lip', 'biting the {side} side of the lip'),
    (33, 'Cheek Blow', 'blowing out the cheeks', 'blowing out the {side} cheek'),
    (34, 'Cheek Puff', 'inflating the cheeks by exerting pressure from within the mouth',
     'inflating the {side} cheek by exerting pressure from within the mouth'),
    (35, 'Cheek Suck', 'sucking in the cheeks', 'sucking in the {side} cheek'),
    (36, 'Tongue Bulge', 'bulging the cheek with the tongue',
     'bulging the {side} cheek with the tongue'),
    (37, 'Lip Wipe', 'wiping the lips with the tongue', None),
    (38, 'Nostril Dilator', 'dilating the nostrils', 'dilating the {side} nostril'),
    (39, 'Nostril Compressor', 'compressing the nostrils', 'compressing the {side} nostril'),
    (41, 'Lid Droop', 'drooping the upper lids', 'drooping the {side} upper lid'),
    (42, 'Slit', 'narrowing the eyes to a slit', 'narrowing the {side} eye to a slit'),
    (43, 'Eyes Closed', 'closing the eyes', 'closing the {side} eye'),
    (44, 'Squint', 'squinting the eyes', 'squinting the {side} eye'),
    (45, 'Blink', 'blinking the eyes', 'blinking the {side} eye'),
    (46, 'Wink', 'winking an eye', 'winking the {side} eye'),
    # head and eye positions: the direction is part of the code, so no side form
    (51, 'Head Turn Left', 'turning the head to the left', None),
    (52, 'Head Turn Right', 'turning the head to the right', None),
    (53, 'Head Up', 'moving the head up', None),
    (54, 'Head Down', 'moving the head down', None),
    (55, 'Head Tilt Left', 'tilting the head to the left', None),
    (56, 'Head Tilt Right', 'tilting the head to the right', None),
    (57, 'Head Forward', 'moving the head forward', None),
    (58, 'Head Back', 'moving the head back', None),
    (61, 'Eyes Turn Left', 'turning the eyes to the left', None),
    (62, 'Eyes Turn Right', 'turning the eyes to the right', None),
    (63, 'Eyes Up', 'turning the eyes up', None),
    (64, 'Eyes Down', 'turning the eyes down', None),
]

#: AU numbers of the paper's Table II, in table order.
TABLE_II_AUS = tuple(row[0] for row in _TABLE_II)

#: The MER-CLIP authors' wording (``data/*/AUlabel_map*.txt``) where it differs from the table:
#: every other AU of their lists reads as in the table, sides included. AU 13 is the 1978 FACS
#: "Cheek Puffer" there (see the module note); they never give it a side.
MERCLIP_WORDING: Dict[int, AUDescription] = {
    13: AUDescription(13, 'Cheek Puffer',
                      'inflating the cheeks by exerting pressure from within the mouth'),
}
#: Vocabulary name -> entries that replace the table's (None: the table itself).
VOCABULARIES: Dict[Optional[str], Dict[int, AUDescription]] = {None: {}, 'merclip': MERCLIP_WORDING}

_REGISTRY: Dict[int, AUDescription] = {}
_WARNED_UNKNOWN = set()


def register_au(au: int,
                facs_name: str,
                action: str,
                sided: Optional[str] = None,
                overwrite: bool = False,
                in_table: bool = False) -> AUDescription:
    """Add (or, with ``overwrite=True``, replace) the description of an AU.

    ``sided`` must contain ``{side}`` if given. Returns the stored :class:`AUDescription`.
    """
    au = _au_number(au)
    if not facs_name or not action:
        raise ValueError(f'AU {au}: facs_name and action must be non-empty strings')
    if sided is not None and '{side}' not in sided:
        raise ValueError(f'AU {au}: the sided form must contain "{{side}}", got {sided!r}')
    if au in _REGISTRY and not overwrite:
        raise KeyError(f'AU {au} is already described as {_REGISTRY[au].action!r}; '
                       'pass overwrite=True to replace it')
    desc = AUDescription(au, facs_name, action, sided, in_table)
    _REGISTRY[au] = desc
    return desc


def _au_number(au) -> int:
    try:
        number = int(au)
    except (TypeError, ValueError):
        raise ValueError(f'AU number must be an integer, got {au!r}') from None
    if number < 0 or (isinstance(au, float) and number != au):
        raise ValueError(f'AU number must be a non-negative integer, got {au!r}')
    return number


def fallback_description(au: int) -> AUDescription:
    """Description used for an AU nobody registered: "action unit N" / "AU N", no side form."""
    au = _au_number(au)
    return AUDescription(au, f'AU {au}', f'action unit {au}', None, False)


def is_known_au(au: int) -> bool:
    return _au_number(au) in _REGISTRY


def _overrides(vocabulary: Optional[str]) -> Dict[int, AUDescription]:
    if vocabulary not in VOCABULARIES:
        raise ValueError(f'vocabulary must be one of {list(VOCABULARIES)}, got {vocabulary!r}')
    return VOCABULARIES[vocabulary]


def get_au_description(au: int, fallback: str = 'generic',
                       vocabulary: Optional[str] = None) -> AUDescription:
    """The :class:`AUDescription` of an AU.

    Args:
        au: AU number.
        fallback: 'generic' (default) returns :func:`fallback_description` for unknown AUs and
            warns once per AU; 'error' raises KeyError.
        vocabulary: None (the table) or a key of :data:`VOCABULARIES` ('merclip': the MER-CLIP
            authors' wording).
    """
    number = _au_number(au)
    desc = _overrides(vocabulary).get(number) or _REGISTRY.get(number)
    if desc is not None:
        return desc
    if fallback == 'error':
        raise KeyError(f'AU {number} has no description; known AUs: {sorted(_REGISTRY)}. '
                       'Add one with mer_clip.au.register_au().')
    if fallback != 'generic':
        raise ValueError(f"fallback must be 'generic' or 'error', got {fallback!r}")
    if number not in _WARNED_UNKNOWN:
        _WARNED_UNKNOWN.add(number)
        logger.warning('AU %d has no description; the prompt uses "action unit %d". '
                       'Register one with mer_clip.au.register_au().', number, number)
    return fallback_description(number)


def describe_au(au: int, side: Optional[str] = None, style: str = 'action',
                fallback: str = 'generic', vocabulary: Optional[str] = None) -> str:
    """Phrase of one AU: ``describe_au(12, 'L')`` -> "pulling the left corner of the lips"."""
    return get_au_description(au, fallback, vocabulary).render(side, style)


def known_aus(vocabulary: Optional[str] = None) -> Dict[int, AUDescription]:
    """A copy of the registry (AU number -> description), with a vocabulary's entries applied."""
    return dict(sorted({**_REGISTRY, **_overrides(vocabulary)}.items()))


def au_phrases(vocabulary: Optional[str] = None) -> Dict[str, Tuple[int, Optional[str]]]:
    """Every phrase a vocabulary renders, lower case -> ``(au, side)``: the inverse of
    :func:`describe_au` over both styles and sides, for reading sentences back into AUs.

    A phrase that two AUs share belongs to the vocabulary's own entry (the authors' AU 13 phrase is
    also the table's AU 34 phrase; in their lists it means 13); any other shared phrase is an error.
    """
    overrides = _overrides(vocabulary)
    table: Dict[str, Tuple[int, Optional[str]]] = {}
    for desc in known_aus(vocabulary).values():
        for side in (None, 'L', 'R') if desc.sided else (None, ):
            for style in ('action', 'facs'):
                phrase = desc.render(side, style).lower()
                other = table.get(phrase)
                if other is not None and other[0] != desc.au:
                    if other[0] in overrides:
                        continue
                    if desc.au not in overrides:
                        raise ValueError(f'AU {other[0]} and AU {desc.au} both read {phrase!r}')
                table[phrase] = (desc.au, side)
    return table


for _row in _TABLE_II:
    register_au(*_row, in_table=True)
for _row in _EXTRA:
    register_au(*_row)
del _row
