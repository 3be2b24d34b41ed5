"""Evaluation protocols with folds: hold out one value of one record field at a time.

One fold per value of the **fold key**; the fold trains on every record whose key has another
value and tests on the records with the held-out value; predictions of all folds are pooled.

==============================  ===============  ==============================================
protocol (``--protocol``)       fold key         folds
==============================  ===============  ==============================================
``loso`` (default)              ``subject``      one per subject (68 on the MEGC2019 composite)
``lodo``                        ``dataset``      train on the other datasets, test on one
any record field, e.g. ``sex``  that field       one per value of the field
==============================  ===============  ==============================================

This module is the one place that knows it: :class:`MicroExpressionDataset` selects a fold's
samples with :func:`select_fold`, :func:`mer_clip.loso.detect_folds` enumerates the folds with
:func:`fold_values`, ``tools/train.py`` / ``tools/test.py`` / the LOSO runner point a config at a
fold with :func:`set_fold`. ``loso_subject=X`` (``--loso-subject X``) is the subject protocol's
spelling of ``fold_key='subject', held_out=X`` and keeps working as it always did.
"""
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence

from ..utils.config import dataloader_datasets, inner_dataset_cfg

#: protocol name -> fold key
PROTOCOLS = {'loso': 'subject', 'lodo': 'dataset'}
_ALIASES = {'leave-one-subject-out': 'loso', 'subject': 'loso',
            'leave-one-dataset-out': 'lodo', 'dataset': 'lodo'}
#: record fields that cannot define folds (ids, labels, frames, the fixed-split field)
NOT_FOLD_KEYS = frozenset({'sample_id', 'emotion', 'label', 'aus', 'au_list', 'onset', 'apex',
                           'offset', 'frame_dir', 'filename_tmpl', 'video', 'clip_cache', 'split',
                           'total_frames'})
SPLITS = ('train', 'test', 'all')


@dataclass(frozen=True)
class FoldProtocol:
    """``name`` (``'loso'``, ``'lodo'`` or the field) and the record field that defines folds."""
    name: str
    key: str

    @property
    def title(self) -> str:
        return {'subject': 'leave-one-subject-out',
                'dataset': 'leave-one-dataset-out'}.get(self.key, f'leave-one-{self.key}-out')


def get_protocol(spec: Any = 'loso') -> FoldProtocol:
    """``'loso'`` / ``'lodo'`` / a record field name (or a :class:`FoldProtocol`)."""
    if isinstance(spec, FoldProtocol):
        return spec
    if spec is None:
        spec = 'loso'
    name = _ALIASES.get(str(spec).strip().lower(), str(spec).strip())
    if name in PROTOCOLS:
        return FoldProtocol(name, PROTOCOLS[name])
    if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', name) or name in NOT_FOLD_KEYS:
        raise ValueError(f'protocol {spec!r}: use loso (folds by subject), lodo (by dataset) or '
                         f'the name of a record field; {sorted(NOT_FOLD_KEYS)} cannot define folds')
    return FoldProtocol(name, name)


def natural_key(name: str):
    """'sub2' < 'sub10' (numbers compared as numbers)."""
    return [(0, int(t), '') if t.isdigit() else (1, 0, t) for t in re.split(r'(\d+)', str(name))
            if t != '']


def fold_value(record: Dict[str, Any], key: str, where: str = '') -> str:
    """The record's value of the fold key, as a string; a missing value is an error."""
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f'{where}{": " if where else ""}record {record.get("sample_id")!r} has no '
                         f'{key!r} field, so it cannot be split into folds by {key}')
    return str(value)


def fold_values(records: Iterable[Dict[str, Any]], key: str, where: str = '') -> List[str]:
    """Every value of ``key`` in ``records``, naturally sorted (the folds)."""
    return sorted({fold_value(r, key, where) for r in records}, key=natural_key)


def select_fold(records: Sequence[Dict[str, Any]], key: str, held_out: Any, split: str,
                where: str = '') -> List[Dict[str, Any]]:
    """``split='train'``: records whose ``key`` is not ``held_out``; ``'test'``: those whose it
    is; ``'all'``: every record. ``held_out`` must be a value of ``key`` in ``records``."""
    if split not in SPLITS:
        raise ValueError(f'with a held-out {key}, split must be one of {SPLITS}, got {split!r}')
    held_out = str(held_out)
    values = fold_values(records, key, where)
    if held_out not in values:
        raise ValueError(f'{where}{": " if where else ""}held-out {key} {held_out!r} has no '
                         f'sample; the values with samples are {values}')
    if split == 'all':
        return list(records)
    return [r for r in records if (str(r[key]) == held_out) == (split == 'test')]


def set_fold(cfg, key: str, held_out: Any) -> None:
    """Point every dataloader of ``cfg`` at the fold that holds out ``held_out`` of ``key``.

    The subject key sets ``loso_subject`` (as ``--loso-subject`` always did); other keys set
    ``fold_key`` and ``held_out``. mmengine resolves config variables when the file is read, so the
    fields of the datasets themselves are set.
    """
    datasets = list(dataloader_datasets(cfg))
    if not datasets:
        raise KeyError(f'the config has no train/val/test dataloader to set the held-out {key} on')
    for ds in datasets:
        if key == 'subject':
            ds['loso_subject'] = str(held_out).strip()
            for k in ('fold_key', 'held_out'):
                ds.pop(k, None)
        else:
            ds.update(fold_key=key, held_out=str(held_out).strip(), loso_subject=None)
    if key == 'subject':
        cfg.loso_subject = str(held_out).strip()


def protocol_of_dataset(loso_subject: Optional[Any], fold_key: Optional[str],
                        held_out: Optional[Any]):
    """``(key, held_out)`` of a dataset's arguments (``loso_subject`` is the subject key's
    spelling), or ``(None, None)`` without a fold; contradictory arguments are an error."""
    if loso_subject is not None:
        if fold_key not in (None, 'subject') or (held_out is not None
                                                 and str(held_out).strip()
                                                 != str(loso_subject).strip()):
            raise ValueError(f'loso_subject={loso_subject!r} holds out a subject; it cannot be '
                             f'combined with fold_key={fold_key!r}, held_out={held_out!r}')
        return 'subject', str(loso_subject).strip()
    if held_out is not None:
        return get_protocol(fold_key or 'subject').key, str(held_out).strip()
    if fold_key is not None:
        get_protocol(fold_key)  # validates the name
    return None, None


def apply_fold(cfg, loso_subject: Optional[Any] = None, fold_key: Optional[str] = None,
               held_out: Optional[Any] = None) -> None:
    """The tools' ``--loso-subject S`` or ``[--fold-key K] --held-out V``: :func:`set_fold`, with
    contradictory or incomplete options as a ValueError naming the flags."""
    if loso_subject is not None and held_out is not None:
        raise ValueError('give either --loso-subject or --fold-key/--held-out, not both')
    if fold_key is not None and held_out is None:
        raise ValueError('--fold-key needs --held-out VALUE (the fold to hold out)')
    if loso_subject is not None:
        set_fold(cfg, 'subject', loso_subject)
    elif held_out is not None:  # without --fold-key: the config's fold_key, else subject
        key = get_protocol(fold_key).key if fold_key else protocol_of_config(cfg).key
        set_fold(cfg, key, held_out)


def protocol_of_config(cfg) -> FoldProtocol:
    """The protocol a config names: its test (or val) dataset's ``fold_key``, else LOSO."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    ds = inner_dataset_cfg(loader['dataset']) if 'dataset' in loader else {}
    return get_protocol(ds.get('fold_key') or 'loso')
