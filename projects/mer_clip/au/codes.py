"""FACS action-unit codes as the ME releases write them, parsed into :class:`AUCode` lists.

The releases write AUs as FACS strings that differ from sheet to sheet: ``R12``, ``L14``,
``4+7``, ``12B``, ``R12A``, ``AU12``, ``1+2+R4``, ``4+L10``, ``014``, ``12(A)``, ``12?``, ``(43)``,
``12/14``, commas or spaces instead of ``+``, blanks, ``None``. :func:`parse_au_string` turns all of
them into a list of :class:`AUCode` sorted by AU number then side, and rejects anything else with an
:class:`AUParseError` naming where the string came from.

Decisions (each one tested in ``tests/au/test_codes.py``):

* Grammar of one code: ``[side] [AU] number [intensity] [?]``, optionally wrapped in parentheses.
  Codes are separated by ``+``, ``,``, ``;``, ``/``, ``&`` or white space; two codes written
  together without a separator (``12B28``) are rejected.
* Side prefix ``L``/``R`` (the subject's left/right, as in FACS) is kept. ``U`` (unilateral, side
  not given), ``T`` (top) and ``B`` (bottom) prefixes are accepted and dropped: :class:`AUCode`
  only has left/right; the raw string, which every record keeps, still has them.
* Intensity ``A``..``E`` directly after the number (``12B``) or in parentheses (``12(B)``);
  lower case is accepted and stored upper case.
* Uncertain codes, ``12?`` or ``(12)``, are **kept** (without a flag): the coder saw the movement,
  and the MER-CLIP authors' prompts keep such AUs too ("... might be present"). The raw string
  keeps the marker. A lone ``?`` (AUs unknown) parses to an empty list; a lone ``?`` token beside
  codes (``4+?``) adds nothing.
* Alternatives ``12/14`` ("12 or 14", as in SAMM) keep **both** codes, as the authors' sentences do
  ("pulling the corner of the lips or creating the dimple").
* Empty cell, ``None``, NaN, ``none``, ``n/a``, ``-`` parse to ``[]`` (a sample without coded AUs).
* Numbers: leading zeros are ignored (``014`` == ``14``); an integer or integral float cell
  (Excel's ``12.0``) is one AU. AU numbers must lie in 1..99 (FACS codes, head and eye codes
  included); ``0`` or ``120`` are rejected.
* Exact duplicates (``12+12``) are kept once; ``L12+R12`` stays two codes.
"""
import math
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

SIDES = ('L', 'R')
INTENSITIES = ('A', 'B', 'C', 'D', 'E')
EMPTY_MARKERS = frozenset({'', 'none', 'n/a', 'na', 'nan', 'null', '-', '?'})
_SIDE_ORDER = {None: 0, 'L': 1, 'R': 2}

# One code: optional "(", side/AU prefixes, number, intensity, "?", optional ")".
_CODE_RE = re.compile(
    r'(?P<open>\(\s*)?'
    r'(?P<side1>[LRUTB])?\s*'
    r'(?:AU\s*)?'
    r'(?P<side2>[LRUTB])?'
    r'(?P<num>\d{1,3})'
    r'(?:(?P<int1>[A-E])(?![0-9A-Z])|\s*\(\s*(?P<int2>[A-E])\s*\))?'
    r'(?P<q>\s*\?)?'
    r'(?P<close>\s*\))?', re.IGNORECASE)
_SEP_RE = re.compile(r'[\s+,;/&]+')


class AUParseError(ValueError):
    """An AU string that is not a FACS code list; the message says where it came from."""


@dataclass(frozen=True)
class AUCode:
    """One FACS action unit: number, side (``'L'``/``'R'``/None), intensity (``'A'``..``'E'``)."""
    au: int
    side: Optional[str] = None
    intensity: Optional[str] = None

    def __post_init__(self):
        if isinstance(self.au, bool) or not isinstance(self.au, int) or not 1 <= self.au <= 99:
            raise ValueError(f'AUCode.au must be an int in 1..99, got {self.au!r}')
        if self.side not in (None, ) + SIDES:
            raise ValueError(f"AUCode.side must be 'L', 'R' or None, got {self.side!r}")
        if self.intensity not in (None, ) + INTENSITIES:
            raise ValueError(f"AUCode.intensity must be one of 'A'..'E' or None, "
                             f'got {self.intensity!r}')

    def __str__(self) -> str:
        """FACS notation, e.g. ``R12A``; ``parse_au_string(str(code)) == [code]``."""
        return f"{self.side or ''}{self.au}{self.intensity or ''}"

    @property
    def sort_key(self):
        return (self.au, _SIDE_ORDER[self.side], self.intensity or '')

    def flipped(self) -> 'AUCode':
        """The same AU on the other side of the face (horizontal image flip)."""
        side = {'L': 'R', 'R': 'L'}.get(self.side)
        return AUCode(self.au, side, self.intensity)

    def to_dict(self) -> Dict[str, Any]:
        return {'au': self.au, 'side': self.side, 'intensity': self.intensity}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> 'AUCode':
        if not isinstance(d, dict) or 'au' not in d:
            raise ValueError(f"an AU entry must be a dict with key 'au', got {d!r}")
        extra = set(d) - {'au', 'side', 'intensity'}
        if extra:
            raise ValueError(f'unknown keys {sorted(extra)} in AU entry {d!r}')
        return cls(d['au'], d.get('side'), d.get('intensity'))


def sort_codes(codes) -> List[AUCode]:
    """Sorted by AU number, then side (none, L, R), then intensity; exact duplicates removed."""
    return sorted(set(codes), key=lambda c: c.sort_key)


def _fail(raw, where: str, why: str) -> AUParseError:
    loc = f'{where}: ' if where else ''
    return AUParseError(
        f'{loc}cannot parse AU string {raw!r}: {why}. Expected FACS codes such as "4+R12A", '
        f'"AU1, AU2", "12B", "(43)" or "14?" separated by + , ; / or spaces (empty/"none" for no '
        f'AUs). Fix the cell, or convert with on_error="skip" to drop this sample.')


def _skip_separators(text: str, pos: int) -> int:
    sep = _SEP_RE.match(text, pos)
    return sep.end() if sep else pos


def _parse_one(text: str, pos: int, raw, where: str) -> AUCode:
    m = _CODE_RE.match(text, pos)
    if not m or m.end() == pos:
        raise _fail(raw, where, f'unexpected {text[pos:]!r} at position {pos}')
    token = m.group(0).strip()
    if bool(m.group('open')) != bool(m.group('close')):
        raise _fail(raw, where, f'unbalanced parenthesis in {token!r}')
    if m.group('side1') and m.group('side2'):
        raise _fail(raw, where, f'two side prefixes in {token!r}')
    au = int(m.group('num'))
    if not 1 <= au <= 99:
        raise _fail(raw, where, f'AU number {au} in {token!r} is outside 1..99')
    side = (m.group('side1') or m.group('side2') or '').upper() or None
    if side not in SIDES:  # U / T / B prefixes carry no left/right information (module docstring)
        side = None
    intensity = (m.group('int1') or m.group('int2') or '').upper() or None
    return AUCode(au, side, intensity)


def parse_au_string(raw: Any, *, where: str = '') -> List[AUCode]:
    """Parse a release's AU cell into sorted :class:`AUCode` s (rules in the module docstring).

    ``where`` (e.g. ``"CASME2-coding.xlsx, row 17, column 'Action Units'"``) is put in the error.
    """
    if raw is None:
        return []
    if isinstance(raw, bool):
        raise _fail(raw, where, 'a boolean is not an AU code')
    if isinstance(raw, float):
        if math.isnan(raw):
            return []
        if not raw.is_integer():
            raise _fail(raw, where, 'a fractional number is not an AU code')
        raw_int = int(raw)
    elif isinstance(raw, int):
        raw_int = raw
    elif isinstance(raw, str):
        raw_int = None
    else:
        raise _fail(raw, where, f'unsupported type {type(raw).__name__}')
    if raw_int is not None:
        if not 1 <= raw_int <= 99:
            raise _fail(raw, where, f'AU number {raw_int} is outside 1..99')
        return [AUCode(raw_int)]

    text = raw.strip()
    if text.lower() in EMPTY_MARKERS:
        return []
    codes = []
    pos = _skip_separators(text, 0)
    while pos < len(text):
        if text[pos] == '?':  # a lone "?" token: more AUs the coder could not name
            pos += 1
        else:
            codes.append(_parse_one(text, pos, raw, where))
            pos += len(_CODE_RE.match(text, pos).group(0))
        if pos < len(text):
            nxt = _skip_separators(text, pos)
            if nxt == pos:
                raise _fail(raw, where, f'no separator before {text[pos:]!r} at position {pos}')
            pos = nxt
    return sort_codes(codes)


def format_au_list(codes) -> str:
    """FACS string of a code list, e.g. ``"4+R12A"`` (inverse of :func:`parse_au_string`)."""
    return '+'.join(str(c) for c in sort_codes(codes))
