"""Where a dataset release keeps its labels and frames, and its records.

A release is unpacked as its authors ship it (``SAMM/``, ``CASME2-RAW/``, ``part_A/data/...``).
:data:`RELEASES` says, per dataset, how its label sheet(s) are named (:func:`find_annotation`)
and how its frame folders are used; the sheet is read by the dataset's reader in
:data:`mer_clip.datasets.readers.READERS` (:func:`read_records`), and :func:`find_frame_root`
finds the folder the records' ``frame_dir`` are relative to.
"""
import fnmatch
import glob
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from mer_clip.datasets.readers import READERS
from mer_clip.datasets.readers.dfme import split_of_file


@dataclass(frozen=True)
class ReleaseLayout:
    """How a release names its label sheet(s) and uses its frame folders."""
    # annotation sheet(s) of the release, searched under RAW_ROOT (case-insensitive, in this order
    # of preference)
    ann_globs: Tuple[str, ...]
    # True when one frame folder holds a whole recording with several MEs (CAS(ME)^3): only
    # onset..offset is then written by default.
    shared_folders: bool = False
    multi_file: bool = False       # the reader takes several sheets (DFME: one per split)
    ann_exclude: Tuple[str, ...] = ()  # names that match ann_globs but are not the label sheet
    layout: bool = False           # no sheet: the labels are the folder layout (SMIC-HS)


#: dataset name (a key of ``READERS``, whose reader reads the sheet) -> its release layout
RELEASES: Dict[str, ReleaseLayout] = {
    'samm': ReleaseLayout(('SAMM_Micro_FACS_Codes*.xlsx', '*SAMM*.xlsx')),
    # the 2019 revision is the one behind Table III; the 2014 sheet is used when it is the only one
    'casme2': ReleaseLayout(('CASME2-coding-20190701*.xlsx', 'CASME2-coding*.xlsx',
                             '*CASME2*.xlsx')),
    # the official name is lower case; the release's list of wrongly labelled MEs sits beside it
    'casme3': ReleaseLayout(('cas(me)3_part_A_ME_label*.xlsx', '*part_A*ME_label*.xlsx',
                             '*ME_label*.xlsx', '*CAS(ME)*3*.xlsx'),
                            shared_folders=True, ann_exclude=('*wrong*', )),
    'dfme': ReleaseLayout(('*.xlsx', '*.csv'), multi_file=True),
    'smic': ReleaseLayout((), layout=True),
}


def release_layout(dataset: str) -> ReleaseLayout:
    """The layout of ``dataset``; an unknown name is an error listing the known ones."""
    if dataset not in RELEASES:
        raise ValueError(f'unknown dataset {dataset!r}; choose from {sorted(RELEASES)}')
    return RELEASES[dataset]


def _glob_down(root: str, pattern: str, depth: int = 2,
               exclude: Sequence[str] = ()) -> List[str]:
    """Files matching ``pattern`` (case-insensitively) in ``root`` and ``depth`` levels below."""
    hits = []
    for d in range(depth + 1):
        sub = osp.join(*(['*'] * d)) if d else ''
        names = sorted(glob.glob(osp.join(glob.escape(root), sub, '*')))
        hits += [h for h in names if osp.isfile(h)
                 and fnmatch.fnmatch(osp.basename(h).lower(), pattern.lower())
                 and not any(fnmatch.fnmatch(osp.basename(h).lower(), x.lower())
                             for x in exclude)]
    return [h for h in hits if not osp.basename(h).startswith('~$')]  # Excel lock files


def find_annotation(dataset: str, raw_root: str) -> List[str]:
    """The release's annotation sheet(s) under ``raw_root`` (searched two levels deep).

    One file for SAMM / CASME II / CAS(ME)^3; for DFME every .xlsx/.csv whose name tells its split
    (train, test A, test B), one per split; for SMIC (no sheet) the release folder itself.
    """
    spec = release_layout(dataset)
    if spec.layout:
        return [raw_root]
    if spec.multi_file:
        by_split = {}
        for pattern in spec.ann_globs:
            for h in _glob_down(raw_root, pattern):
                try:
                    by_split.setdefault(split_of_file(h), h)
                except ValueError:
                    continue
        if by_split:
            return [by_split[k] for k in sorted(by_split)]
    else:
        for pattern in spec.ann_globs:
            hits = _glob_down(raw_root, pattern, exclude=spec.ann_exclude)
            if hits:
                return hits[:1]
    raise FileNotFoundError(
        f'no {dataset} annotation sheet ({", ".join(spec.ann_globs)}) found under {raw_root}; '
        'pass it with --ann (see docs/prepare_data.md for the expected release layout)')


def read_records(dataset: str, ann_files: Sequence[str], **reader_kwargs) -> List[dict]:
    """Canonical records of the release sheet(s), read by the dataset's reader in ``READERS``."""
    spec = release_layout(dataset)
    if isinstance(ann_files, str):
        ann_files = [ann_files]
    if not spec.multi_file and len(ann_files) != 1:
        raise ValueError(f'{dataset} has one annotation sheet, got {list(ann_files)}')
    return list(READERS[dataset](*ann_files, **reader_kwargs))


def find_frame_root(raw_root: str, records: Sequence[dict], max_depth: int = 4) -> str:
    """The folder of ``raw_root`` (itself or below) that the records' ``frame_dir`` are relative to.

    Releases are unpacked with different wrappers (``SAMM/``, ``CASME2-RAW/``, ``part_A/data/...``),
    so the first folder (breadth-first) under which most of the first records' frame folders exist
    is taken.
    """
    probe = [r['frame_dir'] for r in records[:20]]
    if not probe:
        raise ValueError('no records to prepare')
    level = [raw_root]
    for _ in range(max_depth + 1):
        best = None
        for d in level:
            n = sum(osp.isdir(osp.join(d, p)) for p in probe)
            if n and (best is None or n > best[0]):
                best = (n, d)
        if best is not None:
            return best[1]
        nxt = []
        for d in level:
            try:
                nxt += [osp.join(d, e.name) for e in sorted(os.scandir(d), key=lambda e: e.name)
                        if e.is_dir() and not e.name.startswith('.')]
            except OSError:
                pass
        level = nxt
    raise FileNotFoundError(
        f'none of the frame folders of the annotation (e.g. {probe[0]!r}) exists under {raw_root} '
        f'(searched {max_depth} levels deep); pass the folder that holds them with --frame-root')


__all__ = ['RELEASES', 'ReleaseLayout', 'find_annotation', 'find_frame_root', 'read_records',
           'release_layout']
