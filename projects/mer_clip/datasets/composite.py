"""Annotations that join several datasets: every record namespaced by its source dataset.

A joint annotation holds the records of several source datasets in one canonical file. Subjects of
different datasets must never share a LOSO fold, and ids repeat across datasets, so every record is
namespaced by :func:`namespace_record` (the one place that does it; converters of derived data call
it too):

=====================  ===========================  =====================================
field                  example                      meaning
=====================  ===========================  =====================================
``dataset``            ``'casme2'``                 source dataset (groups per-dataset reports)
``subject``            ``'casme2_sub01'``           ``f'{dataset}_{source_subject}'``
``sample_id``          ``'casme2_sub01_EP02_01f'``  ``f'{dataset}_{source_sample_id}'``
``source_subject``     ``'sub01'``                  the id the dataset's own reader writes
``source_sample_id``   ``'sub01_EP02_01f'``         the id the dataset's own reader writes
=====================  ===========================  =====================================

The MEGC2019 composite, built from its official list with these fields, is
:mod:`mer_clip.datasets.readers.megc2019_composite`.
"""
import os.path as osp
import re
from typing import Any, Dict, Mapping

#: record fields that are paths relative to the frames root
PATH_KEYS = ('frame_dir', 'clip_cache', 'video')
_DATASET_RE = re.compile(r'[a-z][a-z0-9]*')


def namespaced_id(dataset: str, source_id: str) -> str:
    """``('casme2', 'sub01') -> 'casme2_sub01'``."""
    return f'{dataset}_{source_id}'


def namespace_record(record: Mapping[str, Any], dataset: str) -> Dict[str, Any]:
    """A copy of one source dataset's record for a joint annotation (fields in the module doc).

    ``dataset`` is a lower-case name (``'smic'``, ``'casme2'``, ``'samm'``, ...). A record that is
    already namespaced (it has ``source_subject``) is an error, so ids are never prefixed twice.
    """
    if not isinstance(dataset, str) or not _DATASET_RE.fullmatch(dataset):
        raise ValueError(f'dataset must be a lower-case name like "casme2", got {dataset!r}')
    if 'source_subject' in record or 'source_sample_id' in record:
        raise ValueError(f'record {record.get("sample_id")!r} is already namespaced '
                         f'(source_subject={record.get("source_subject")!r})')
    if record.get('dataset') not in (None, dataset):
        raise ValueError(f'record {record.get("sample_id")!r} is of dataset '
                         f'{record["dataset"]!r}, not {dataset!r}')
    out = dict(record)
    out.update(dataset=dataset, subject=namespaced_id(dataset, record['subject']),
               sample_id=namespaced_id(dataset, record['sample_id']),
               source_subject=record['subject'], source_sample_id=record['sample_id'])
    return out


def relocate_paths(record: Dict[str, Any], from_root: str, to_root: str) -> Dict[str, Any]:
    """``frame_dir`` / ``clip_cache`` / ``video`` of a record made relative to ``to_root`` (they
    were relative to ``from_root``), so one ``data_prefix`` serves every dataset."""
    out = dict(record)
    for key in PATH_KEYS:
        value = out.get(key)
        if value and not osp.isabs(value):
            out[key] = osp.relpath(osp.join(from_root, value), to_root)
    return out
