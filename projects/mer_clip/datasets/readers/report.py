"""The conversion report: every non-standard cell and every repaired row of a release sheet.

Readers add one entry per finding, with the file/row/column it came from:

* **notes**: conventions the release uses and that were read completely (SAMM's ``A12``,
  ``ref(6)``, ``L12 or L14``; CASME II's apex ``/``; ``Others`` beside ``others``). Listed, never
  an error.
* **warnings**: something was changed or could not be read (trailing free text in an AU cell, an
  apex outside [onset, offset], a row the dataset authors list as wrongly labelled, a skipped row).
  With ``strict=True`` (``--strict``) every warning is an error instead.

``tools/data/convert_annotations.py`` prints :meth:`ConversionReport.summary` (counts per kind)
and writes the whole report beside the JSON (:meth:`ConversionReport.write`).
"""
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

from ...utils.atomic_write import atomic_write_json, atomic_write_text
from .errors import ReaderError

LEVELS = ('note', 'warning')


class ConversionReport:
    """Findings of one conversion (one or more files). See the module docstring."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.entries: List[Dict[str, Any]] = []
        self.sources: List[str] = []

    def add(self, kind: str, where: str, message: str, *, level: str = 'warning',
            sample_id: Optional[str] = None, raw: Any = None, action: Optional[str] = None) -> None:
        """One finding; a warning raises :class:`ReaderError` in strict mode."""
        if level not in LEVELS:
            raise ValueError(f'level must be one of {LEVELS}, got {level!r}')
        if level == 'warning' and self.strict:
            without = f'; without --strict: {action}' if action else ''
            raise ReaderError(f'{where}: {message} [{kind}] (an error because of --strict'
                              f'{without})')
        self.entries.append(dict(kind=kind, level=level, where=where, sample_id=sample_id,
                                 raw=_jsonable(raw), message=message, action=action))

    def note(self, kind: str, where: str, message: str, **kwargs) -> None:
        self.add(kind, where, message, level='note', **kwargs)

    def warn(self, kind: str, where: str, message: str, **kwargs) -> None:
        self.add(kind, where, message, level='warning', **kwargs)

    # ------------------------------------------------------------------------------------------
    def counts(self, level: Optional[str] = None) -> Dict[str, int]:
        """``{kind: number of entries}`` (of one level, or of all)."""
        c = Counter(e['kind'] for e in self.entries if level is None or e['level'] == level)
        return dict(sorted(c.items()))

    def summary(self) -> str:
        """One line per level: ``warnings (n): kind n, ...``."""
        lines = []
        for level in ('warning', 'note'):
            c = self.counts(level)
            total = sum(c.values())
            body = ', '.join(f'{k} {n}' for k, n in c.items()) if c else 'none'
            lines.append(f'{level}s ({total}): {body}')
        return '\n'.join(lines)

    def to_dict(self) -> Dict[str, Any]:
        return dict(sources=list(self.sources), strict=self.strict,
                    warnings=self.counts('warning'), notes=self.counts('note'),
                    entries=list(self.entries))

    def markdown(self, title: str = 'Conversion report') -> str:
        lines = [f'# {title}', '']
        if self.sources:
            lines.append('Sources: ' + ', '.join(f'`{s}`' for s in self.sources))
            lines.append('')
        lines += ['| level | kind | count |', '| --- | --- | ---: |']
        for level in ('warning', 'note'):
            lines += [f'| {level} | {k} | {n} |' for k, n in self.counts(level).items()]
        lines += ['', '| level | kind | where | sample | cell | what was done |',
                  '| --- | --- | --- | --- | --- | --- |']
        for e in sorted(self.entries, key=lambda e: (e['level'] != 'warning', e['kind'])):
            raw = '' if e['raw'] is None else f"`{e['raw']}`"
            lines.append(f"| {e['level']} | {e['kind']} | {e['where']} | {e['sample_id'] or ''} | "
                         f"{raw} | {(e['action'] or e['message']).replace('|', '/')} |")
        return '\n'.join(lines) + '\n'

    def write(self, out_json: str) -> Tuple[str, str]:
        """Write ``<stem>.conversion.json`` and ``<stem>.conversion.md`` beside ``out_json``."""
        stem = osp.splitext(out_json)[0]
        paths = (stem + '.conversion.json', stem + '.conversion.md')
        atomic_write_json(paths[0], self.to_dict(), indent=1, end='\n', ensure_ascii=False)
        atomic_write_text(paths[1], self.markdown(f'Conversion report: {osp.basename(out_json)}'))
        return paths


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)
