"""The MEGC2019 composite from its official list and the three datasets' canonical records.

:func:`build_megc2019_composite`: SMIC-HS + CASME II + SAMM, 3 classes, 442 samples of 68 subjects
(negative 250, positive 109, surprise 83; SMIC 164, CASME II 145, SAMM 133), from the three
datasets' canonical annotations and the official list ``combined_3_class_gt.csv`` (columns
``data, subject, clip, label``; label 0 negative, 1 positive, 2 surprise; subjects written ``s01`` /
``sub01`` / ``6``). Every listed sample must be in its dataset's annotation (all missing ones are
named in one error). Each sample's raw emotion is checked against the official label through the
``megc2019_3`` scheme; a disagreement keeps the official label (``emotion``; the raw one in
``source_emotion``) and is a warning of the report. Samples of the source annotations that the list
leaves out are counted per emotion (notes). SMIC samples have no AUs (``aus: null``,
``au_list: []``). Records are namespaced by :func:`mer_clip.datasets.composite.namespace_record`.

It reads ids as each dataset's reader writes them (:func:`megc2019_source_ids`, SMIC's through
:func:`.smic.smic_ids`) and reports like the readers, so it lives beside them; the published
derived form of the same composite is :mod:`.megc2019_htnet`.
"""
import csv
import os.path as osp
import re
from collections import Counter
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..annotation import AnnotationError
from ..class_schemes import MEGC2019_CLASSES, get_class_scheme, normalize_emotion
from ..composite import namespace_record, namespaced_id, relocate_paths
from .report import ConversionReport
from .smic import smic_ids

#: the source datasets of the MEGC2019 composite, in the order of the official list
MEGC2019_DATASETS = ('smic', 'casme2', 'samm')


def megc2019_source_ids(dataset: str, subject: str, clip: str) -> Tuple[str, str]:
    """``(source_subject, source_sample_id)`` of one sample of a MEGC2019 list, as the dataset's
    own reader writes them: ``('samm', '6', '006_1_2') -> ('006', '006_1_2')``, ``('casme2',
    'sub01', 'EP02_01f') -> ('sub01', 'sub01_EP02_01f')``, ``('smic', 's1', 's1_ne_01') ->
    ('s01', 's01_ne_01')``. Lists write subjects ``s01`` / ``sub01`` / ``6`` or ``006``; a
    ValueError says what does not fit."""
    subject, clip = str(subject).strip(), str(clip).strip()
    if dataset not in MEGC2019_DATASETS:
        raise ValueError(f'dataset {dataset!r} is not one of {MEGC2019_DATASETS}')
    if not clip:
        raise ValueError('the clip / file name is empty')
    if dataset == 'smic':
        return smic_ids(subject, clip)
    if dataset == 'casme2':
        m = re.fullmatch(r'(?:sub)?0*(\d+)', subject, re.IGNORECASE)
        if m is None:
            raise ValueError(f'CASME II subject {subject!r} is not sub<number>')
        src_subject = f'sub{int(m.group(1)):02d}'
        return src_subject, f'{src_subject}_{clip}'
    if not subject.isdigit():
        raise ValueError(f'SAMM subject {subject!r} is not a number')
    return f'{int(subject):03d}', clip


def read_megc2019_list(path: str) -> List[Dict[str, Any]]:
    """Rows of ``combined_3_class_gt.csv``: ``dataset, subject, clip, label, emotion, row`` plus the
    ``source_subject`` / ``source_sample_id`` the dataset's own reader writes for that sample."""
    if not osp.isfile(path):
        raise AnnotationError(f'{path}: official list not found')
    with open(path, newline='', encoding='utf-8-sig') as f:
        rows = list(csv.reader(f))
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if header[:4] != ['data', 'subject', 'clip', 'label']:
        raise AnnotationError(f'{path}: expected the header "data,subject,clip,label" of the '
                              'MEGC2019 list (combined_3_class_gt.csv), got '
                              f'{rows[0] if rows else []}')
    out, errors = [], []
    for i, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        where = f'{path}, row {i}'
        try:
            dataset, subject, clip, label = (c.strip() for c in row[:4])
            if label not in ('0', '1', '2'):
                raise ValueError(f'label {label!r} is not 0, 1 or 2')
            src_subject, src_id = megc2019_source_ids(dataset, subject, clip)
        except ValueError as e:
            errors.append(f'{where}: {e}')
            continue
        out.append(dict(dataset=dataset, subject=subject, clip=clip, label=int(label),
                        emotion=MEGC2019_CLASSES[int(label)], row=i, source_subject=src_subject,
                        source_sample_id=src_id))
    if errors:
        raise AnnotationError(f'{path}: {len(errors)} bad row(s):\n  ' + '\n  '.join(errors))
    seen = Counter((r['dataset'], r['source_sample_id']) for r in out)
    dup = [k for k, n in seen.items() if n > 1]
    if dup:
        raise AnnotationError(f'{path}: samples listed twice: {dup}')
    return out


def build_megc2019_composite(sources: Mapping[str, Sequence[Dict[str, Any]]], official_list: str,
                             *, frame_roots: Optional[Mapping[str, Optional[str]]] = None,
                             out_root: Optional[str] = None, report=None
                             ) -> List[Dict[str, Any]]:
    """The composite's records, in the order of the official list (see the module docstring).

    Args:
        sources: ``{'smic': records, 'casme2': records, 'samm': records}`` (each dataset's
            canonical records, e.g. ``load_annotations(path)[1]``).
        official_list: path of ``combined_3_class_gt.csv``.
        frame_roots / out_root: with both, each dataset's ``frame_dir`` (and ``clip_cache``) is
            rewritten from relative to ``frame_roots[dataset]`` to relative to ``out_root``.
        report: a :class:`~mer_clip.datasets.readers.ConversionReport` for the findings.
    """
    report = report if report is not None else ConversionReport()
    report.sources.append(official_list)
    listed = read_megc2019_list(official_list)
    missing_ds = sorted({r['dataset'] for r in listed} - set(sources))
    if missing_ds:
        raise AnnotationError(f'{official_list} lists samples of {missing_ds}, but no annotation '
                              f'of {missing_ds} was given')
    scheme = get_class_scheme('megc2019_3')
    by_id = {ds: {r['sample_id']: r for r in recs} for ds, recs in sources.items()}
    out, missing = [], []
    for item in listed:
        ds = item['dataset']
        rec = by_id[ds].get(item['source_sample_id'])
        where = f"{official_list}, row {item['row']}"
        if rec is None:
            missing.append(f"{where}: {ds} {item['subject']}/{item['clip']} "
                           f"(sample_id {item['source_sample_id']!r})")
            continue
        if rec['subject'] != item['source_subject']:
            raise AnnotationError(f"{where}: {ds} sample {item['source_sample_id']!r} has subject "
                                  f"{rec['subject']!r} in the annotation, "
                                  f"{item['source_subject']!r} in the list")
        rec = dict(rec)
        if scheme.class_of(rec['emotion'], ds) != item['emotion']:
            report.warn('label_differs_from_official', where,
                        f"{ds} sample {rec['sample_id']!r} is {rec['emotion']!r} in its "
                        f"annotation, {item['emotion']!r} in the official list",
                        sample_id=namespaced_id(ds, rec['sample_id']), raw=rec['emotion'],
                        action='the official label is kept (source_emotion keeps the other)')
            rec['source_emotion'], rec['emotion'] = rec['emotion'], item['emotion']
        if frame_roots and out_root and frame_roots.get(ds):
            rec = relocate_paths(rec, frame_roots[ds], out_root)
        out.append(namespace_record(rec, ds))
    if missing:
        raise AnnotationError(
            f'{len(missing)} sample(s) of the official list are not in the given annotations:\n  '
            + '\n  '.join(missing) + '\nConvert the matching releases (SMIC-HS folder layout, '
            'CASME II 2019 sheet, SAMM sheet) without dropping rows.')
    for ds, recs in sources.items():
        used = {r['source_sample_id'] for r in listed if r['dataset'] == ds}
        left = Counter(normalize_emotion(r['emotion']) for r in recs if r['sample_id'] not in used)
        if left:
            report.note('not_in_official_list', ds,
                        f'{sum(left.values())} {ds} sample(s) are not in the official list: '
                        + ', '.join(f'{k} {n}' for k, n in sorted(left.items())))
    return out
