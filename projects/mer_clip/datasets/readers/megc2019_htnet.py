"""The MEGC2019 composite as published in derived form with the HTNet code -> canonical records.

The release (Wang et al., HTNet; repository wangzhifengharrison/HTNet) has no video frames, only
per-sample images and one CSV::

    combined_3_class2_for_optical_flow.csv         dataset, sub, filename_o, label, imagename, ...
    datasets/combined_datasets_whole/<imagename>   aligned apex frame, 224 x 224 (JPEG)
    datasets/STSNet_whole_norm_u_v_os/<sub>_<filename_o> .png
                                                   onset-apex flow, 28 x 28, RGB = u, v, strain,
                                                   each min-max normalised (note the space)

442 samples of 68 subjects (SMIC-HS 164, CASME II 145, SAMM 133; negative 250, positive 109,
surprise 83), the rows of the official list ``combined_3_class_gt.csv`` in the same order (its
subjects written ``006`` instead of ``6``). :func:`read_megc2019_htnet` writes one image-only
record per row (``apex_image``, ``flow_image``; onset/apex/offset null), namespaced by
:func:`mer_clip.datasets.composite.namespace_record` (``casme2_sub01``, ``samm_006_1_2``).

**Emotions and AUs.** The CSV gives only the 3-class label. With the CASME II (2019 revision) and
SAMM coding sheets, each CASME II / SAMM sample gets, by id, its AUs (``aus`` and the parsed
``au_list``, flags kept) and its raw emotion (``disgust``, ``Anger``, ...), which must map to the
row's label through the ``megc2019_3`` scheme; if it does not, the official class is kept
(``source_emotion`` keeps the sheet's) and it is a warning. A sample the sheet lacks keeps no AUs
(warning). Without a sheet, and always for SMIC (no AU labels exist), ``emotion`` is the class
name (``negative`` / ``positive`` / ``surprise``, labels of every dataset in ``megc2019_3``) and
``aus`` is null with ``au_list: []``: MER-CLIP's alignment leaves such samples out of its loss
(``GenerateAUPrompt(mask_empty=True)``).

**Checks.** Every image is read in full (:func:`mer_clip.utils.image_io.read_image`: a cut-off
file is an error) and must have its published size; the label must be 0, 1 or 2; ids must parse
and not repeat. All bad rows are listed in one error naming the row and the sample, or, with
``on_error='skip'``, dropped and counted as ``row_skipped`` warnings of the conversion report.
"""
import csv
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

from ..annotation import AnnotationError, make_record
from ..class_schemes import MEGC2019_CLASSES, get_class_scheme
from ..composite import namespace_record
from .casme2 import read_casme2
from .errors import ReaderError
from .me_rows import settle_row_errors
from .megc2019_composite import megc2019_source_ids
from .report import ConversionReport
from .samm import read_samm

CSV_NAME = 'combined_3_class2_for_optical_flow.csv'
APEX_DIR = osp.join('datasets', 'combined_datasets_whole')
FLOW_DIR = osp.join('datasets', 'STSNet_whole_norm_u_v_os')
APEX_SIZE = (224, 224)  # (height, width) of the published apex frames
FLOW_SIZE = (28, 28)  # of the published flow images
COLUMNS = ('dataset', 'sub', 'filename_o', 'label', 'imagename')


def flow_file_name(sub: str, filename_o: str) -> str:
    """The release's flow image name: ``'<sub>_<filename_o> .png'`` (a space before ``.png``)."""
    return f'{sub}_{filename_o} .png'


def _image_shape(path: str) -> Tuple[int, int]:
    from mer_clip.utils.image_io import read_image  # decodes the whole file: cut-off is an error
    return tuple(read_image(path).shape[:2])


def read_megc2019_htnet(root: str, *, casme2_sheet: Optional[str] = None,
                        samm_sheet: Optional[str] = None, image_root: Optional[str] = None,
                        on_error: str = 'raise', strict: bool = False,
                        report: Optional[ConversionReport] = None) -> List[Dict[str, Any]]:
    """Records of the published MEGC2019 composite (see the module docstring).

    Args:
        root: the release folder (holding the CSV and ``datasets/``), or the CSV itself.
        casme2_sheet / samm_sheet: the coding sheets whose AUs and raw emotions are attached.
        image_root: folder the written ``apex_image`` / ``flow_image`` are relative to (the
            config's ``data_prefix``); default: the release folder.
        on_error: ``'raise'`` (list every bad row in one error) or ``'skip'`` (drop them, each a
            ``row_skipped`` warning of ``report``).
        strict: every warning of the report is an error.
    """
    if on_error not in ('raise', 'skip'):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    report = report if report is not None else ConversionReport(strict=strict)
    report.strict = report.strict or strict
    csv_path = root if osp.isfile(root) else osp.join(root, CSV_NAME)
    root = osp.dirname(osp.abspath(csv_path))
    if not osp.isfile(csv_path):
        raise ReaderError(f'{csv_path}: not found; give the folder of the HTNet release (holding '
                          f'{CSV_NAME} and datasets/) or the CSV itself')
    image_root = osp.abspath(image_root) if image_root else root
    report.sources.append(csv_path)
    sheets = _read_sheets(dict(casme2=casme2_sheet, samm=samm_sheet), report)
    scheme = get_class_scheme('megc2019_3')
    with open(csv_path, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise ReaderError(f'{csv_path}: no column(s) {missing} in the header {header}; '
                              f'expected the HTNet release CSV ({", ".join(COLUMNS)})')
        rows = [{k.strip(): (v or '').strip() for k, v in row.items() if k}
                for row in reader]

    records, errors, seen = [], [], {}
    used = {ds: set() for ds in sheets}
    for rownum, row in enumerate(rows, start=2):
        if not any(row.values()):
            continue
        ds, sub, clip, label = (row[c] for c in ('dataset', 'sub', 'filename_o', 'label'))
        where = f'{csv_path}, row {rownum}'
        try:
            try:
                src_subject, src_id = megc2019_source_ids(ds, sub, clip)
            except ValueError as e:
                raise AnnotationError(f'{where} ({ds} {sub}/{clip}): {e}') from None
            sid = f'{ds}_{src_id}'
            where = f'{where} (sample {sid})'
            if label not in ('0', '1', '2'):
                raise AnnotationError(f'{where}: unknown label {label!r}; the release labels are '
                                      '0 negative, 1 positive, 2 surprise')
            if sid in seen:
                raise AnnotationError(f'{where}: listed twice (first in row {seen[sid]})')
            paths = dict(apex_image=(osp.join(root, APEX_DIR, row['imagename']), APEX_SIZE),
                         flow_image=(osp.join(root, FLOW_DIR, flow_file_name(sub, clip)),
                                     FLOW_SIZE))
            for key, (path, size) in paths.items():
                if not row['imagename'] and key == 'apex_image':
                    raise AnnotationError(f'{where}: no imagename (the apex image)')
                if not osp.isfile(path):
                    raise AnnotationError(f'{where}: {key} {path!r} does not exist')
                try:
                    shape = _image_shape(path)
                except ValueError as e:  # ImageReadError: unreadable or cut off
                    raise AnnotationError(f'{where}: {key}: {e}') from None
                if shape != size:
                    raise AnnotationError(f'{where}: {key} {path!r} is {shape[1]} x {shape[0]} '
                                          f'pixels, the release has {size[1]} x {size[0]}')
            cls = MEGC2019_CLASSES[int(label)]
            fields = dict(emotion=cls, aus=None, au_list=[])
            if ds in sheets:
                fields = _from_sheet(sheets[ds], src_id, cls, ds, scheme, where, sid, report)
                used[ds].add(src_id)
            rec = make_record(
                sample_id=src_id, subject=src_subject, where=where, **fields,
                apex_image=osp.relpath(paths['apex_image'][0], image_root),
                flow_image=osp.relpath(paths['flow_image'][0], image_root))
        except AnnotationError as e:
            errors.append((where, str(e)))
            continue
        seen[sid] = rownum
        records.append(namespace_record(rec, ds))

    settle_row_errors(csv_path, errors, report, on_error, kept=len(records))
    for ds, by_id in sheets.items():
        left = len(set(by_id) - used[ds])
        if left:
            report.note('not_in_composite', ds, f'{left} {ds} sample(s) of the sheet are not in '
                        'the composite (the official list leaves them out)')
    for ds in ('casme2', 'samm'):
        if ds not in sheets and any(r['dataset'] == ds for r in records):
            report.note('no_au_sheet', ds, f'no {ds} sheet given: its samples carry no AUs and '
                        'their class name as emotion')
    return records


def _read_sheets(paths: Dict[str, Optional[str]], report: ConversionReport
                 ) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """``{dataset: {source sample id: record}}`` of the given coding sheets."""
    readers = dict(casme2=read_casme2, samm=read_samm)
    out = {}
    for ds, path in paths.items():
        if path:
            out[ds] = {r['sample_id']: r for r in readers[ds](path, report=report)}
            report.sources.append(path)
    return out


def _from_sheet(by_id: Dict[str, Dict[str, Any]], src_id: str, cls: str, ds: str, scheme,
                where: str, sid: str, report: ConversionReport) -> Dict[str, Any]:
    """emotion / aus / au_list of one sample from its dataset's coding sheet."""
    sheet = by_id.get(src_id)
    if sheet is None:
        report.warn('not_in_sheet', where, f'{ds} sample {src_id!r} is not in the {ds} sheet',
                    sample_id=sid, action='kept without AUs, emotion = its class')
        return dict(emotion=cls, aus=None, au_list=[])
    fields = dict(emotion=sheet['emotion'], aus=sheet['aus'], au_list=sheet['au_list'])
    if scheme.class_of(sheet['emotion'], ds) != cls:
        report.warn('label_differs_from_official', where,
                    f"{ds} sample {src_id!r} is {sheet['emotion']!r} in the sheet, {cls!r} in "
                    'the release', sample_id=sid, raw=sheet['emotion'],
                    action='the release label is kept (source_emotion keeps the sheet\'s)')
        fields.update(emotion=cls, source_emotion=sheet['emotion'])
    return fields


def summarise(records: List[Dict[str, Any]]) -> str:
    """One line: samples, subjects, per dataset (with AUs), per class."""
    scheme = get_class_scheme('megc2019_3')
    per = Counter(r['dataset'] for r in records)
    with_aus = Counter(r['dataset'] for r in records if r['au_list'])
    cls = Counter(scheme.class_of(r['emotion'], r['dataset']) for r in records)
    return (f'{len(records)} samples of {len({r["subject"] for r in records})} subjects; '
            + ', '.join(f'{ds} {n} ({with_aus[ds]} with AUs)' for ds, n in sorted(per.items()))
            + '; ' + ', '.join(f'{c} {cls[c]}' for c in MEGC2019_CLASSES))
