"""Which folds an experiment has: one per value of the protocol's fold key (LOSO subjects by
default, datasets for leave-one-dataset-out; :mod:`mer_clip.datasets.protocol`), or the fixed
splits of a DFME-style dataset.

The folds are read from the dataset the config's *test* dataloader builds, with the pipeline removed
(no image is opened) and the fold / split selection switched off, so every sample in the class
scheme is seen. A dataset whose records carry a ``split`` field has a fixed protocol (DFME: train on
``train``, report ``test_a`` and ``test_b``) and is not split into folds.
"""
import copy
import hashlib
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from mmengine.registry import init_default_scope

from mmaction.registry import DATASETS

from ..datasets.protocol import FoldProtocol, fold_value, fold_values, get_protocol, natural_key
from ..utils import inner_dataset_cfg
from .data_identity import data_record

#: splits reported for fixed-split datasets, in this order, when present
FIXED_TEST_SPLITS = ('test_a', 'test_b', 'test')


@dataclass
class FoldList:
    """The folds of an experiment (what :func:`detect_folds` finds in its dataset).

    kind: ``'loso'`` (one fold per value of ``fold_key``, predictions pooled; ``fold_key`` is
    ``'subject'`` for LOSO, ``'dataset'`` for leave-one-dataset-out) or ``'fixed'`` (train once on
    ``train_split``, test on each of ``test_splits``). ``subjects`` lists every subject of the class
    scheme either way; ``folds`` the fold values. ``sample_datasets`` maps sample ids to their
    ``dataset`` field when the records come from several datasets (per-dataset reports);
    ``sample_folds`` to their fold value (their split, for fixed splits); ``data`` is what the
    run's identity keeps of the records (:func:`~.data_identity.data_record`).
    """
    kind: str
    subjects: List[str]
    classes: List[str]
    test_splits: List[str] = field(default_factory=list)
    train_split: str = 'train'
    num_samples: int = 0
    fold_key: str = 'subject'
    folds: List[str] = field(default_factory=list)
    name: str = 'loso'
    title: str = 'leave-one-subject-out'
    sample_datasets: Dict[str, str] = field(default_factory=dict)
    sample_folds: Dict[str, str] = field(default_factory=dict)
    data: Dict = field(default_factory=dict)

    def fold_samples(self, value: str) -> List[str]:
        """The sample ids a fold tests: those of fold value (or fixed split) ``value``."""
        return [sid for sid, v in self.sample_folds.items() if v == value]


def build_index_dataset(cfg):
    """The config's test dataset without pipeline, fold or split: every sample's record."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if loader is None:
        raise KeyError('the config has no test_dataloader (nor val_dataloader) to read the '
                       'subjects from')
    ds_cfg = copy.deepcopy(inner_dataset_cfg(loader['dataset']))
    ds_cfg = ds_cfg.to_dict() if hasattr(ds_cfg, 'to_dict') else dict(ds_cfg)
    ds_cfg.update(pipeline=[], loso_subject=None, split='all', test_mode=True)
    for key in ('fold_key', 'held_out'):
        ds_cfg.pop(key, None)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    ann = ds_cfg.get('ann_file')
    if ann and not osp.exists(ann):
        raise FileNotFoundError(
            f'annotation file {ann!r} (test_dataloader.dataset.ann_file) does not exist; prepare '
            'the data first (tools/data/prepare_dataset.py, or tools/data/make_synthetic.py '
            'for the synthetic set) or point the config at it with --cfg-options')
    return DATASETS.build(ds_cfg)


def detect_folds(cfg, protocol='loso') -> FoldList:
    """Folds by the protocol's key (``'loso'``: subjects, ``'lodo'``: datasets, or a record field),
    or the fixed splits when the records carry a ``split`` field."""
    proto: FoldProtocol = get_protocol(protocol)
    dataset = build_index_dataset(cfg)
    records = [dataset.get_data_info(i) for i in range(len(dataset))]
    classes = list(dataset.metainfo['classes'])
    subjects = sorted({str(r['subject']) for r in records}, key=natural_key)
    splits = sorted({str(r['split']) for r in records if r.get('split')})
    if splits and proto.key != 'subject':
        raise ValueError(f'{dataset.ann_file}: the records carry fixed splits {splits}; the '
                         f'{proto.title} protocol applies to datasets without a split field')
    if splits:
        missing = [i for i, r in enumerate(records) if not r.get('split')]
        if missing:
            raise ValueError(f'{dataset.ann_file}: {len(missing)} records have no split field '
                             f'while others do (e.g. sample '
                             f'{records[missing[0]].get("sample_id")}); a '
                             'dataset is either fixed-split (every record) or LOSO (none)')
        if 'train' not in splits:
            raise ValueError(f'{dataset.ann_file}: fixed splits {splits} have no "train" split')
        tests = [s for s in FIXED_TEST_SPLITS if s in splits]
        if not tests:
            raise ValueError(f'{dataset.ann_file}: fixed splits {splits} have no test split '
                             f'(expected one of {FIXED_TEST_SPLITS})')
        split_of = {str(r['sample_id']): str(r['split']) for r in records}
        return FoldList('fixed', subjects, classes, test_splits=tests, num_samples=len(records),
                        sample_folds=split_of,
                        data=data_record(records, split_of, classes, 'split'))
    folds = fold_values(records, proto.key, dataset.ann_file)
    if len(folds) < 2:
        what = 'subjects' if proto.key == 'subject' else f'values of {proto.key!r}'
        raise ValueError(f'{dataset.ann_file}: {proto.title} needs at least 2 {what}, found '
                         f'{folds}')
    by_ds = {str(r['sample_id']): str(r['dataset']) for r in records if r.get('dataset')}
    if len(set(by_ds.values())) < 2:
        by_ds = {}
    fold_of = {str(r['sample_id']): fold_value(r, proto.key) for r in records}
    return FoldList('loso', subjects, classes, num_samples=len(records), fold_key=proto.key,
                    folds=folds, name=proto.name, title=proto.title, sample_datasets=by_ds,
                    sample_folds=fold_of, data=data_record(records, fold_of, classes, proto.key))


def select_subjects(all_subjects: Sequence[str], wanted: Optional[Sequence[str]]) -> List[str]:
    """The requested subset in dataset order; unknown names are an error listing the valid ones."""
    if not wanted:
        return list(all_subjects)
    wanted = [str(s).strip() for s in wanted]  # subject ids are stripped at load
    unknown = [s for s in wanted if s not in all_subjects]
    if unknown:
        raise ValueError(f'unknown subjects {unknown}; the dataset has {list(all_subjects)}')
    return [s for s in all_subjects if s in set(wanted)]


def fold_dirname(subject: str) -> str:
    """``fold_<subject>``, one folder per subject (injective).

    A subject made only of path-safe characters (letters, digits, ``_ . -``) keeps its name;
    otherwise the unsafe characters become ``_`` and ``~`` plus 8 hex digits of the subject's
    sha256 are appended (``'s 2'`` -> ``fold_s_2~1c9f...``, never the folder of ``'s_2'``: a
    safe name cannot contain ``~``).
    """
    subject = str(subject)
    safe = re.sub(r'[^A-Za-z0-9_.-]', '_', subject)
    if safe == subject and subject not in ('', '.', '..'):
        return 'fold_' + subject
    digest = hashlib.sha256(subject.encode('utf-8')).hexdigest()[:8]
    return f'fold_{safe}~{digest}'
