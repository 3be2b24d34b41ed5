"""MicroExpressionDataset: canonical ME annotations, class schemes, folds (LOSO,
leave-one-dataset-out, any record key; :mod:`.protocol`) and fixed splits."""
import os.path as osp
from collections import Counter
from typing import Callable, Dict, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger
from mmaction.registry import DATASETS

from .annotation import au_list_from_json, load_annotations
from .class_schemes import get_class_scheme
from .framing_check import check_framing
from .protocol import protocol_of_dataset, select_fold

#: splits that select by the record's own ``split`` field (fixed-split datasets such as DFME)
FIXED_SPLITS = ('train', 'test', 'test_a', 'test_b', 'val')
#: record fields holding a path, joined with ``data_prefix['img']`` when relative
PATH_KEYS = ('frame_dir', 'video', 'clip_cache', 'apex_image', 'flow_image')


@DATASETS.register_module()
class MicroExpressionDataset(BaseDataset):
    """Micro-expression clips from a canonical annotation JSON (see docs/design.md).

    A data info's ``au_list`` is a list of :class:`~mer_clip.au.codes.AUCode` (the record's JSON
    dicts read once, here), which ``MEFlip`` and ``GenerateAUPrompt`` take.

    Args:
        ann_file: the canonical annotation JSON.
        class_scheme: a name from :data:`mer_clip.datasets.class_schemes.CLASS_SCHEMES`
            (e.g. ``'samm_5'``), a ``dict(classes=[...], members={raw: class})``, or None to use
            ``metainfo['classes']`` of the file with raw emotions equal to class names. Samples whose
            emotion is outside the scheme are dropped and counted in the log.
        loso_subject: the held-out subject of a Leave-One-Subject-Out fold. With it, ``split='train'``
            keeps every other subject and ``split='test'`` keeps only this subject.
        fold_key, held_out: the general form (:mod:`mer_clip.datasets.protocol`): hold out the
            records whose field ``fold_key`` (``'dataset'`` for leave-one-dataset-out) equals
            ``held_out``. ``loso_subject=X`` is ``fold_key='subject', held_out=X``.
        split: ``'all'``; ``'train'``/``'test'`` with a held-out subject / value; or a fixed split
            stored in the records (``'train'``, ``'test_a'``, ``'test_b'`` for DFME) otherwise.
        data_prefix: ``dict(img=ROOT)`` prepended to relative ``frame_dir``, ``video``,
            ``clip_cache``, ``apex_image`` and ``flow_image`` paths.
        strict_labels: an emotion label that is none of the scheme's known emotions (a typo such
            as ``Hapiness``, or another dataset's label) raises instead of being dropped with a
            warning. Known emotions outside the scheme are always dropped (logged at INFO).
        framing: the face framing the config expects (``framing`` of the dataset configs),
            compared with the annotation's ``metainfo.prepared.framing`` at load time
            (:mod:`.framing_check`: a mismatch raises, an unrecorded one is a logged warning);
            None: not checked. The recorded framing is ``metainfo['framing']``.
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 class_scheme: Union[str, dict, None] = None,
                 loso_subject: Optional[Union[str, int]] = None,
                 split: str = 'all',
                 fold_key: Optional[str] = None,
                 held_out: Optional[Union[str, int]] = None,
                 data_prefix: Optional[dict] = None,
                 test_mode: bool = False,
                 strict_labels: bool = False,
                 framing: Optional[str] = None,
                 **kwargs) -> None:
        self.class_scheme_cfg = class_scheme
        self.framing = framing
        self.strict_labels = strict_labels
        self.loso_subject = None if loso_subject is None else str(loso_subject).strip()
        self.fold_key, self.held_out = protocol_of_dataset(loso_subject, fold_key, held_out)
        self.split = split
        self._all_subjects: List[str] = []
        if self.held_out is not None and split not in ('train', 'test', 'all'):
            name = 'loso_subject' if self.loso_subject is not None else 'held_out'
            raise ValueError(f"with {name}, split must be 'train', 'test' or 'all', "
                             f'got {split!r}')
        super().__init__(ann_file=ann_file, pipeline=list(pipeline),
                         data_prefix=data_prefix or dict(img=''), test_mode=test_mode, **kwargs)

    # ------------------------------------------------------------------------------------------
    def _scheme(self, file_meta: dict):
        if self.class_scheme_cfg is not None:
            return get_class_scheme(self.class_scheme_cfg)
        classes = file_meta.get('classes')
        if not classes:
            raise ValueError(f'{self.ann_file}: no class_scheme given and the file has no '
                             "metainfo['classes']; pass class_scheme='samm_5' (or another scheme)")
        return get_class_scheme(dict(name='file', classes=classes))

    def _join(self, path: str) -> str:
        root = self.data_prefix.get('img', '') or ''
        return path if (not root or osp.isabs(path)) else osp.join(root, path)

    def load_data_list(self) -> List[dict]:
        logger = MMLogger.get_current_instance()
        file_meta, records = load_annotations(self.ann_file)
        recorded = check_framing(self.ann_file, file_meta, self.framing, len(records), logger)
        scheme = self._scheme(file_meta)
        self._metainfo.update(classes=tuple(scheme.classes), class_scheme=scheme.name,
                              framing=recorded)

        kept, dropped, unknown = [], Counter(), Counter()
        for rec in records:
            # per-dataset mappings (megc2019_3): the record's dataset, else the file's
            label = scheme.label_of(rec['emotion'], rec.get('dataset') or
                                    file_meta.get('dataset_name'))
            if label is None:
                (dropped if scheme.is_known(rec['emotion']) else unknown)[str(rec['emotion'])] += 1
                continue
            info = dict(rec)
            info['subject'] = str(rec['subject']).strip()
            info['label'] = label
            info['au_list'] = au_list_from_json(rec['au_list'], f"sample {rec['sample_id']}")
            for key in PATH_KEYS:
                if info.get(key):
                    info[key] = self._join(info[key])
            kept.append(info)
        if dropped:
            logger.info(f'{osp.basename(self.ann_file)}: dropped {sum(dropped.values())} samples '
                        f'outside class scheme {scheme.name!r}: {dict(sorted(dropped.items()))}')
        if unknown:
            self._report_unknown_labels(unknown, scheme, logger)
        if not kept:
            raise ValueError(f'{self.ann_file}: no sample falls in class scheme {scheme.name!r} '
                             f'(emotions present: {sorted(set(dropped) | set(unknown))})')
        self._all_subjects = sorted({r['subject'] for r in kept})
        selected = self._select(kept)
        counts = Counter(r['label'] for r in selected)
        logger.info(f'{osp.basename(self.ann_file)} [{self._describe()}]: {len(selected)} samples, '
                    + ', '.join(f'{c}={counts.get(i, 0)}' for i, c in enumerate(scheme.classes)))
        return selected

    def _report_unknown_labels(self, unknown: Counter, scheme, logger) -> None:
        """Labels that are no known emotion of the scheme's datasets: a warning with the count
        (and the likely intended emotion), or an error with ``strict_labels``."""
        hints = {raw: scheme.closest_known(raw) for raw in unknown}
        listed = ', '.join(f'{raw!r} x{n}' + (f' (did you mean {hints[raw]!r}?)' if hints[raw]
                                               else '') for raw, n in sorted(unknown.items()))
        msg = (f'{self.ann_file}: {sum(unknown.values())} sample(s) have an emotion label that is '
               f'no known emotion of class scheme {scheme.name!r}: {listed}. They are left out '
               '(unlike the documented out-of-scheme emotions, this is probably a typo): fix the '
               "annotation file, or add the label to the scheme's known emotions. "
               + ('strict_labels=True makes this an error.' if not self.strict_labels else ''))
        if self.strict_labels:
            raise ValueError(msg.strip() + ' (strict_labels / --strict)')
        logger.warning(msg.strip())

    def _describe(self) -> str:
        if self.loso_subject is not None:
            return f'LOSO subject {self.loso_subject}, {self.split}'
        if self.held_out is not None:
            return f'held-out {self.fold_key} {self.held_out}, {self.split}'
        return f'split {self.split}'

    def _select(self, records: List[dict]) -> List[dict]:
        if self.loso_subject is not None:
            if self.loso_subject not in self._all_subjects:
                raise ValueError(f'{self.ann_file}: loso_subject {self.loso_subject!r} has no sample '
                                 f'in class scheme {self.metainfo["class_scheme"]!r}; subjects '
                                 f'with samples are {self._all_subjects}')
            out = select_fold(records, 'subject', self.loso_subject, self.split, self.ann_file)
        elif self.held_out is not None:
            out = select_fold(records, self.fold_key, self.held_out, self.split,
                              f'{self.ann_file} (class scheme {self.metainfo["class_scheme"]!r})')
        elif self.split == 'all':
            out = records
        elif self.split in FIXED_SPLITS:
            present = sorted({str(r.get('split')) for r in records})
            out = [r for r in records if r.get('split') == self.split]
            if not out:
                raise ValueError(f'{self.ann_file}: split {self.split!r} selects no sample; '
                                 f'splits in the file: {present}. For LOSO datasets pass '
                                 'loso_subject=... with split="train"/"test".')
        else:
            raise ValueError(f'unknown split {self.split!r}; use all, train/test (with '
                             f'loso_subject) or one of {FIXED_SPLITS}')
        if not out:
            raise ValueError(f'{self.ann_file}: {self._describe()} is empty')
        return out

    # ------------------------------------------------------------------------------------------
    @property
    def subjects(self) -> List[str]:
        """All subjects of the annotation file within the class scheme (the LOSO folds)."""
        return list(self._all_subjects)

    def get_cat_ids(self, idx: int) -> List[int]:
        return [self.get_data_info(idx)['label']]

    def class_counts(self) -> Dict[str, int]:
        counts = Counter(self.get_data_info(i)['label'] for i in range(len(self)))
        return {c: counts.get(i, 0) for i, c in enumerate(self.metainfo['classes'])}
