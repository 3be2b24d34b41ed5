"""What a pretrained-weight load did, as one line of the run log.

Every loader of pretrained weights (:class:`~mer_clip.models.text.CLIPTextEncoder`,
:class:`~mer_clip.models.backbones.MERUniFormerV2`) fills a :class:`WeightLoadReport` and logs it
with mmengine's logger (``print_log(..., logger='current')``), so the run log (``work_dir/*.log``)
names the file, its content (a sha256 prefix) and the tensors loaded, left at their initialisation
(missing from the file) and unused (in the file, loaded nowhere). Missing and unused tensors are
listed in full, with runs of layer indices folded (``resblocks.{0-11}.ln_1.weight``), so a file
that does not fully fit shows exactly where.
"""
import hashlib
import logging
import os
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Sequence, Tuple

from mmengine.logging import print_log

SHA_PREFIX = 16  # hex digits of the sha256 in the log line
_SHA_CACHE: Dict[Tuple[str, int, int], str] = {}


def file_sha256(path: str) -> str:
    """The sha256 hex digest of a file, computed once per (path, size, mtime) and process.

    Costs one full read of the file (about a second per GB): the loaders call it once per weight
    file and run, and a second call for an unchanged file is free.
    """
    real = os.path.realpath(path)
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns)
    digest = _SHA_CACHE.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(real, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                h.update(block)
        digest = _SHA_CACHE[key] = h.hexdigest()
    return digest


def _fold(items: List[List[str]], pos: int) -> List[List[str]]:
    """Merge items that differ only in the integer part at ``pos`` into one ``{a-b,c}`` part."""
    groups: Dict[tuple, List[int]] = {}
    order: List[tuple] = []
    kept: List[List[str]] = []
    for parts in items:
        if pos >= len(parts) or not parts[pos].isdigit():
            kept.append(parts)
            continue
        key = (len(parts), tuple(parts[:pos]), tuple(parts[pos + 1:]))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(int(parts[pos]))
    for key in order:
        values = sorted(set(groups[key]))
        _, before, after = key
        part = str(values[0]) if len(values) == 1 else '{' + _ranges(values) + '}'
        kept.append(list(before) + [part] + list(after))
    return kept


def _ranges(values: Sequence[int]) -> str:
    out, start = [], values[0]
    for prev, cur in zip(values, list(values[1:]) + [None]):
        if cur != prev + 1:
            out.append(str(start) if start == prev else f'{start}-{prev}')
            start = cur
    return ','.join(out)


def compact_names(names: Iterable[str]) -> str:
    """Tensor names, every one, with runs of layer indices folded: ``'a.{0-3}.w, b'``.

    Exact: a folded entry stands for precisely the names it expands to (one integer part is
    folded at a time, among names equal everywhere else).
    """
    items = [name.split('.') for name in sorted(set(names))]
    if not items:
        return 'none'
    for pos in range(max(len(p) for p in items) - 1, -1, -1):
        items = _fold(items, pos)
    return ', '.join(sorted('.'.join(p) for p in items))


@dataclass
class WeightLoadReport:
    """One load of a weight file into a model (see the module docstring).

    Args:
        component: who loaded (``'CLIPTextEncoder'``, ``'MERUniFormerV2 (UniFormerV2)'``).
        path: the weight file.
        total: how many tensors the model (part) being loaded has.
        loaded: model tensor names that got a value from the file.
        missing: model tensor names the file did not provide (left at their initialisation).
        unused: file tensor names that went nowhere.
        notes: what else was done or found (prefix, conversions, the file's source).
    """
    component: str
    path: str
    total: int
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unused: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def line(self) -> str:
        sha = file_sha256(self.path)[:SHA_PREFIX]
        text = (f'{self.component}: loaded {len(self.loaded)}/{self.total} tensors from '
                f'{self.path} (sha256 {sha}); left at init {len(self.missing)}: '
                f'{compact_names(self.missing)}; unused in the file {len(self.unused)}: '
                f'{compact_names(self.unused)}')
        if self.notes:
            text += '; ' + '; '.join(self.notes)
        return text

    def log(self) -> str:
        """Write :meth:`line` to the run log (mmengine's current logger); returns it."""
        text = self.line()
        print_log(text, logger='current', level=logging.INFO)
        return text


__all__ = ['WeightLoadReport', 'compact_names', 'file_sha256']
