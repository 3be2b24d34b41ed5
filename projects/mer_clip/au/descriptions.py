"""AU descriptions: the paper's Table II and the other AUs the micro-expression datasets use.

Every AU has a FACS name ("Lip Corner Puller"), an action-oriented description ("pulling the corners
of the lips", the paper's text for the CLIP encoder) and, for AUs that can be unilateral, how one
side is said ("pulling the {side} corner of the lips"), one line each in ``au_table.txt``. Table II
(18 AUs) comes from the paper; the other entries reuse the wording of the MER-CLIP authors' AU
lists (``data/*/AUlabel_map*.txt``) where they have it ("dropping the jaw", "closing the eyes",
"dilating the nostrils", "raising the chin to the right", "stretching the lips down and to the
left", ...) and otherwise follow the FACS manual in the same "-ing the ..." style.

Unknown AUs (not in FACS, e.g. 3 or 70) fall back to ``"action unit N"`` (style ``'action'``) or
``"AU N"`` (style ``'facs'``), with one warning per AU; pass ``fallback='error'`` to refuse them.
:func:`register_au` adds or replaces entries (e.g. a dataset's own codes).

``au_table.txt`` is the one AU table of the package. A *vocabulary* is the table with a few
entries worded differently (a ``[vocabulary NAME]`` section of the file): ``vocabulary='merclip'``
is the wording of the MER-CLIP authors' lists (:data:`MERCLIP_WORDING`), which their list reader
(:mod:`mer_clip.datasets.readers.merclip_lists`) parses with, and which :func:`describe_au` /
:func:`~mer_clip.au.prompts.au_prompt` render on request.

Note on AU 13: the FACS manual (2002) names it "Sharp Lip Puller"; some tables (and the authors'
SAMM list, which says "Cheek Puffer ... inflating the cheeks by exerting pressure from within the
mouth") use the 1978 name. The table follows the manual (13 = sharp lip puller, 34 = cheek puff with
the authors' phrase); the ``'merclip'`` vocabulary says what the authors say (13 = cheek puffer). It
is the only AU of their lists that the two render differently
(``tests/au/test_descriptions.py::test_authors_lists_render_as_before``).
"""
import logging
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

logger = logging.getLogger(__name__)

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


#: The AU table: FACS name, action and one-side form of each AU, and the vocabularies' entries.
TABLE_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'au_table.txt')


def read_au_table(path: str = TABLE_FILE) -> Dict[str, List[AUDescription]]:
    """Section name -> its AUs, in file order (see the head of ``au_table.txt`` for the format)."""
    sections: Dict[str, List[AUDescription]] = {}
    section = None
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('[') and line.endswith(']'):
                section = sections.setdefault(line[1:-1], [])
                continue
            fields = [field.strip() for field in line.split('|')]
            if section is None or len(fields) != 4 or not fields[0].isdigit():
                raise ValueError(f'{path}, line {n}: expected "AU | FACS name | action | one side '
                                 f'or -" inside a [section], got {line!r}')
            au, facs_name, action, sided = fields
            sided = None if sided == '-' else sided
            if sided is not None and '{side}' not in sided:
                raise ValueError(f'{path}, line {n}: the one-side form needs "{{side}}"')
            in_table = section is sections.get('table II')
            section.append(AUDescription(int(au), facs_name, action, sided, in_table))
    return sections


_SECTIONS = read_au_table()
#: AU numbers of the paper's Table II, in table order.
TABLE_II_AUS = tuple(desc.au for desc in _SECTIONS['table II'])
#: The MER-CLIP authors' wording (``data/*/AUlabel_map*.txt``) where it differs from the table:
#: every other AU of their lists reads as in the table, sides included (AU 13, see above).
MERCLIP_WORDING: Dict[int, AUDescription] = {d.au: d for d in _SECTIONS['vocabulary merclip']}
#: Vocabulary name -> entries that replace the table's (None: the table itself).
VOCABULARIES: Dict[Optional[str], Dict[int, AUDescription]] = {None: {}}
VOCABULARIES.update({name[len('vocabulary '):]: {d.au: d for d in descs}
                     for name, descs in _SECTIONS.items() if name.startswith('vocabulary ')})

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


for _desc in _SECTIONS['table II'] + _SECTIONS['other']:
    register_au(_desc.au, _desc.facs_name, _desc.action, _desc.sided, in_table=_desc.in_table)
del _desc
