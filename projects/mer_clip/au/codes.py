"""FACS action-unit codes as the ME releases write them, parsed into :class:`AUCode` lists.

The releases write AUs as FACS strings that differ from sheet to sheet: ``R12``, ``L14``,
``4+7``, ``12B``, ``R12A``, ``AU12``, ``1+2+R4``, ``4+L10``, ``014``, ``12(A)``, ``12?``, ``(43)``,
``12/14``, commas or spaces instead of ``+``, blanks, ``None``; SAMM adds the conventions its key
block documents (``A12``, ``L12 or L14``, ``ref(6)``, ``10A/B``). :func:`parse_au_string` turns all
of them into a list of :class:`AUCode` sorted by AU number then side, and rejects anything else
with an :class:`AUParseError` naming where the string came from. :func:`parse_au_cell` is the
lenient form the dataset readers use: it keeps what it can read and says what it could not.

Decisions (each one tested in ``tests/au/test_codes.py``):

* Grammar of one code: ``[side] [AU] number [intensity] [?]``, optionally wrapped in parentheses.
  Codes are separated by ``+``, ``,``, ``;``, ``&`` or white space; two codes written together
  without a separator (``12B28``) are rejected.
* Side prefix ``L``/``R`` (the subject's left/right, as in FACS) is kept. ``U`` (unilateral, side
  not given), ``T`` (top) and ``B`` (bottom) prefixes are accepted and dropped: :class:`AUCode`
  only has left/right; the raw string, which every record keeps, still has them.
* ``A`` prefix (SAMM's key: "A2 = asymmetric AU 2, occurs on both sides of the face but stronger
  on one side"): **asymmetric is not a side**. The code keeps ``side=None`` (both sides move) and
  gets ``asymmetric=True``; the stronger side is not written in the sheet.
* Intensity ``A``..``E`` directly after the number (``12B``) or in parentheses (``12(B)``);
  lower case is accepted and stored upper case. Intensity alternatives (``10A/B``: A or B) are not
  one intensity, so the intensity is left unset (the raw string keeps both).
* Uncertainty is kept as a flag, never dropped silently: ``ref(N)`` and the alternatives
  ``X or Y`` / ``X/Y`` (SAMM's key: ``"/" = or``; ``(R6 or R12)``) keep **every** code they name,
  each with ``uncertain=True``, as the authors' sentences keep both ("pulling the corner of the lips
  or creating the dimple"). Side alternatives ``A/L12`` mean ``A12 or L12`` (two uncertain codes).
  SAMM's key block does not define ``ref(...)``; it marks a code the coder qualified, which we
  treat as uncertain.
* ``12?`` and ``(12)`` are kept **without** a flag: in SAMM's key ``?`` means "the AU continues and
  its offset is unclear" (the AU is there), and the MER-CLIP authors' prompts keep such AUs. A lone
  ``?`` (AUs unknown) parses to an empty list; a lone ``?`` token beside codes (``4+?``) adds
  nothing.
* Empty cell, ``None``, NaN, ``none``, ``n/a``, ``-`` parse to ``[]`` (a sample without coded AUs).
* Numbers: leading zeros are ignored (``014`` == ``14``); an integer or integral float cell
  (Excel's ``12.0``) is one AU. AU numbers must lie in 1..99 (FACS codes, head and eye codes
  included); ``0`` or ``120`` are rejected.
* Exact duplicates (``12+12``) are kept once; ``L12+R12`` stays two codes.
* Text that is not a code (SAMM's ``R14+17+soft focus``): :func:`parse_au_string` rejects the
  cell; :func:`parse_au_cell` keeps the codes it read (``R14``, ``17``) and returns the rest as
  ``unparsed`` with a ``free_text`` (words) or ``unparseable`` note, for the conversion report.
"""
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Optional, Tuple

SIDES = ('L', 'R')
INTENSITIES = ('A', 'B', 'C', 'D', 'E')
EMPTY_MARKERS = frozenset({'', 'none', 'n/a', 'na', 'nan', 'null', '-', '?'})
_SIDE_ORDER = {None: 0, 'L': 1, 'R': 2}

# One code: side / AU prefixes (``L AU12``, ``AU R12``, ``A12``, ``A/L12``), number, intensity
# (``12B``, ``12(B)``, ``10A/B``), "?".
_CODE_RE = re.compile(
    r'(?P<side1>[LRUTB](?=\s*AU))?\s*'
    r'(?:AU\s*)?'
    r'(?P<pre>(?:[ALRUTB]\s*/?\s*)*[ALRUTB])?\s*'
    r'(?P<num>\d{1,3})'
    r'(?:(?P<int1>[A-E](?:\s*/\s*[A-E])*)(?![0-9A-Z])|\s*\(\s*(?P<int2>[A-E])\s*\))?'
    r'(?P<q>\s*\?)?', re.IGNORECASE)
_SEP_RE = re.compile(r'\s*[+,;&]+\s*|\s+')
_ALT_RE = re.compile(r'\s*/\s*|\s+or\s+', re.IGNORECASE)
_REF_RE = re.compile(r'ref\s*\(\s*', re.IGNORECASE)
_TOP_SEP = '+,;&'
_WORDS_RE = re.compile(r"[A-Za-z][A-Za-z .'-]*")

#: kinds of :attr:`AUCell.notes` (the conversion report counts them)
NOTE_KINDS = ('asymmetric', 'ref', 'alternatives', 'side_alternatives', 'intensity_alternatives',
              'free_text', 'unparseable')


class AUParseError(ValueError):
    """An AU string that is not a FACS code list; the message says where it came from."""


@dataclass(frozen=True)
class AUCode:
    """One FACS action unit: number, side (``'L'``/``'R'``/None), intensity (``'A'``..``'E'``),
    ``asymmetric`` (both sides, stronger on one; side stays None) and ``uncertain`` (``ref(...)``,
    or one of alternatives ``X or Y``)."""
    au: int
    side: Optional[str] = None
    intensity: Optional[str] = None
    asymmetric: bool = False
    uncertain: bool = False

    def __post_init__(self):
        if isinstance(self.au, bool) or not isinstance(self.au, int) or not 1 <= self.au <= 99:
            raise ValueError(f'AUCode.au must be an int in 1..99, got {self.au!r}')
        if self.side not in (None, ) + SIDES:
            raise ValueError(f"AUCode.side must be 'L', 'R' or None, got {self.side!r}")
        if self.intensity not in (None, ) + INTENSITIES:
            raise ValueError(f"AUCode.intensity must be one of 'A'..'E' or None, "
                             f'got {self.intensity!r}')
        for flag in ('asymmetric', 'uncertain'):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f'AUCode.{flag} must be a bool, got {getattr(self, flag)!r}')
        if self.asymmetric and self.side is not None:
            raise ValueError('an asymmetric AU moves on both sides: side must be None, got '
                             f'{self.side!r}')

    def __str__(self) -> str:
        """FACS notation, e.g. ``R12A``, ``A12B``, ``ref(7B)``;
        ``parse_au_string(str(c)) == [c]``."""
        core = f"{'A' if self.asymmetric else ''}{self.side or ''}{self.au}{self.intensity or ''}"
        return f'ref({core})' if self.uncertain else core

    @property
    def sort_key(self):
        return (self.au, _SIDE_ORDER[self.side], self.intensity or '', self.asymmetric,
                self.uncertain)

    def flipped(self) -> 'AUCode':
        """The same AU on the other side of the face (horizontal image flip)."""
        return replace(self, side={'L': 'R', 'R': 'L'}.get(self.side))

    def to_dict(self) -> Dict[str, Any]:
        """``{au, side, intensity}``, plus ``asymmetric`` / ``uncertain`` only when true (so files
        without those conventions are unchanged)."""
        out = {'au': self.au, 'side': self.side, 'intensity': self.intensity}
        if self.asymmetric:
            out['asymmetric'] = True
        if self.uncertain:
            out['uncertain'] = True
        return out

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> 'AUCode':
        if not isinstance(d, dict) or 'au' not in d:
            raise ValueError(f"an AU entry must be a dict with key 'au', got {d!r}")
        extra = set(d) - {'au', 'side', 'intensity', 'asymmetric', 'uncertain'}
        if extra:
            raise ValueError(f'unknown keys {sorted(extra)} in AU entry {d!r}')
        return cls(d['au'], d.get('side'), d.get('intensity'), bool(d.get('asymmetric', False)),
                   bool(d.get('uncertain', False)))


@dataclass
class AUCell:
    """What :func:`parse_au_cell` read from one cell: the codes, one ``(kind, text)`` note per
    non-standard construct (kinds: :data:`NOTE_KINDS`) and the text it could not read."""
    codes: List[AUCode] = field(default_factory=list)
    notes: List[Tuple[str, str]] = field(default_factory=list)
    unparsed: List[str] = field(default_factory=list)


def sort_codes(codes) -> List[AUCode]:
    """Sorted by AU number, then side (none, L, R), then intensity; exact duplicates removed."""
    return sorted(set(codes), key=lambda c: c.sort_key)


def require_codes(items: Iterable, where: str = '') -> List[AUCode]:
    """``items`` as a list, each one checked to be an :class:`AUCode`.

    An AU label has one form in memory: the dataset turns the annotation's JSON dicts into
    AUCodes when it loads them, so the transforms and the prompts take nothing else.
    """
    codes = list(items)
    for item in codes:
        if not isinstance(item, AUCode):
            loc = f'{where}: ' if where else ''
            raise TypeError(
                f'{loc}an AU label must be an AUCode (mer_clip.au.codes.AUCode), got '
                f'{type(item).__name__} {item!r}; write AUCode(12, "R") or parse_au_string("R12") '
                '(an annotation dict is read by mer_clip.datasets.annotation.au_list_from_json)')
    return codes


class _Fail(Exception):
    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def _error(raw, where: str, why: str) -> AUParseError:
    loc = f'{where}: ' if where else ''
    return AUParseError(
        f'{loc}cannot parse AU string {raw!r}: {why}. Expected FACS codes such as "4+R12A", '
        f'"AU1, AU2", "12B", "(43)", "A12", "L12 or L14", "ref(6)" separated by + , ; or spaces '
        f'(empty/"none" for no AUs). Fix the cell (the dataset readers keep such a sample with '
        f'the AUs they can read and list the cell in the conversion report).')


class _Parser:
    """Recursive descent over one AU string (grammar in the module docstring)."""

    def __init__(self, text: str):
        self.text, self.pos = text, 0
        self.notes: List[Tuple[str, str]] = []

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def alternatives(self) -> List[AUCode]:
        start = self.pos
        units = [self.unit()]
        while True:
            m = _ALT_RE.match(self.text, self.pos)
            if not m or m.end() >= len(self.text):
                break
            self.pos = m.end()
            units.append(self.unit())
        if len(units) == 1:
            return units[0]
        self.notes.append(('alternatives', self.text[start:self.pos].strip()))
        return [replace(c, uncertain=True) for unit in units for c in unit]

    def unit(self) -> List[AUCode]:
        text, start = self.text, self.pos
        m = _REF_RE.match(text, self.pos)
        if m:
            self.pos = m.end()
            inner = self.alternatives()
            self._close(start)
            self.notes.append(('ref', text[start:self.pos]))
            return [replace(c, uncertain=True) for c in inner]
        if text.startswith('(', self.pos):
            self.pos += 1
            while self.pos < len(text) and text[self.pos].isspace():
                self.pos += 1
            inner = self.alternatives()
            self._close(start)
            return inner
        if text.startswith('?', self.pos):  # a lone "?" token: more AUs the coder could not name
            self.pos += 1
            return []
        return self.code()

    def _close(self, start: int) -> None:
        m = re.compile(r'\s*\)').match(self.text, self.pos)
        if not m:
            raise _Fail(f'unbalanced parenthesis in {self.text[start:self.pos].strip()!r}')
        self.pos = m.end()

    def code(self) -> List[AUCode]:
        text, pos = self.text, self.pos
        m = _CODE_RE.match(text, pos)
        if not m or m.end() == pos or m.group('num') is None:
            raise _Fail(f'unexpected {text[pos:]!r} at position {pos}')
        token = m.group(0).strip()
        pre = re.sub(r'[\s/]', '', m.group('pre') or '').upper()
        if (m.group('side1') and pre) or (m.group('pre') or '').count('/') < len(pre) - 1:
            raise _Fail(f'two side prefixes in {token!r}')
        au = int(m.group('num'))
        if not 1 <= au <= 99:
            raise _Fail(f'AU number {au} in {token!r} is outside 1..99')
        intensity = (m.group('int1') or m.group('int2') or '').upper()
        intensity = re.sub(r'\s', '', intensity)
        if '/' in intensity:
            self.notes.append(('intensity_alternatives', token))
            intensity = ''
        prefixes = list(pre) or [(m.group('side1') or '').upper()]
        codes = []
        for p in prefixes:
            side = p if p in SIDES else None  # U / T / B: no left/right information
            codes.append(AUCode(au, side, intensity or None, asymmetric=p == 'A',
                                uncertain=len(prefixes) > 1))
        if 'A' in prefixes:
            self.notes.append(('asymmetric', token))
        if len(prefixes) > 1:
            self.notes.append(('side_alternatives', token))
        self.pos = m.end()
        return codes

    def separator(self) -> None:
        """Consume the separator after an item (there must be one unless at the end)."""
        if self.at_end():
            return
        if self.text[self.pos] == ')':
            raise _Fail(f'unbalanced parenthesis at position {self.pos}')
        m = _SEP_RE.match(self.text, self.pos)
        if not m or m.end() == self.pos:
            raise _Fail(f'no separator before {self.text[self.pos:]!r} at position {self.pos}')
        self.pos = m.end()

    def skip_item(self) -> str:
        """Lenient recovery: the text up to the next top-level + , ; & (it is not a code)."""
        depth, end = 0, self.pos
        while end < len(self.text):
            ch = self.text[end]
            depth += ch == '('
            depth -= ch == ')'
            if depth <= 0 and ch in _TOP_SEP:
                break
            end += 1
        segment = self.text[self.pos:end].strip()
        self.pos = end
        return segment


def _numeric(raw, where: str) -> Optional[List[AUCode]]:
    """A non-string cell as codes; None for strings."""
    if raw is None:
        return []
    if isinstance(raw, bool):
        raise _error(raw, where, 'a boolean is not an AU code')
    if isinstance(raw, float):
        if math.isnan(raw):
            return []
        if not raw.is_integer():
            raise _error(raw, where, 'a fractional number is not an AU code')
        raw = int(raw)
    elif isinstance(raw, str):
        return None
    elif not isinstance(raw, int):
        raise _error(raw, where, f'unsupported type {type(raw).__name__}')
    if not 1 <= raw <= 99:
        raise _error(raw, where, f'AU number {raw} is outside 1..99')
    return [AUCode(raw)]


def _parse(raw: Any, where: str, lenient: bool) -> AUCell:
    try:
        codes = _numeric(raw, where)
    except AUParseError:
        if not lenient:
            raise
        return AUCell([], [('unparseable', str(raw))], [str(raw)])
    if codes is not None:
        return AUCell(codes)
    text = raw.strip()
    if text.lower() in EMPTY_MARKERS:
        return AUCell()
    p = _Parser(text)
    m = _SEP_RE.match(text, 0)
    p.pos = m.end() if m else 0
    codes, unparsed = [], []
    while not p.at_end():
        start, n_notes = p.pos, len(p.notes)
        try:
            codes.extend(p.alternatives())
            start, n_notes = p.pos, len(p.notes)  # a bad separator: skip what follows the item
            p.separator()
        except _Fail as f:
            if not lenient:
                raise _error(raw, where, f.why) from None
            del p.notes[n_notes:]  # notes of a construct that did not parse
            p.pos = start
            segment = p.skip_item() or text[start:start + 1]
            p.pos = max(p.pos, start + 1)
            unparsed.append(segment)
            kind = 'free_text' if _WORDS_RE.fullmatch(segment) and len(segment) > 2 else \
                'unparseable'
            p.notes.append((kind, segment))
            m = _SEP_RE.match(text, p.pos)
            if m:
                p.pos = m.end()
    return AUCell(sort_codes(codes), p.notes, unparsed)


def parse_au_string(raw: Any, *, where: str = '') -> List[AUCode]:
    """Parse a release's AU cell into sorted :class:`AUCode` s (rules in the module docstring).

    ``where`` (e.g. ``"CASME2-coding.xlsx, row 17, column 'Action Units'"``) is put in the error.
    """
    return _parse(raw, where, lenient=False).codes


def parse_au_cell(raw: Any, *, where: str = '') -> AUCell:
    """Lenient :func:`parse_au_string`: never raises for a cell's content. Returns the codes it
    could read, a note per non-standard construct and the text it could not read (for the
    conversion report); unsupported Python types still raise :class:`AUParseError`."""
    if not isinstance(raw, (str, int, float, type(None))):
        raise _error(raw, where, f'unsupported type {type(raw).__name__}')
    return _parse(raw, where, lenient=True)


def format_au_list(codes) -> str:
    """FACS string of a code list, e.g. ``"4+R12A"`` (inverse of :func:`parse_au_string`)."""
    return '+'.join(str(c) for c in sort_codes(codes))
