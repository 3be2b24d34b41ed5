"""The data a LOSO run was trained on, as part of its identity.

``loso_run.json`` records, beside the config hash, a digest of every sample the folds see (its
record as the dataset loads it, label index included), the class scheme's classes and the fold key
(:func:`data_record`). A rerun on changed data is refused with what changed: samples added,
removed, relabelled or otherwise modified, and which folds that touches (:func:`diff_data`,
:func:`affected_folds`). A fold's *training* set changes when a changed sample is outside its
held-out fold (for LOSO: any change outside its own subject), its *test* set when one is inside.

Digests are of the records, not of the image files: a changed image under the same name is not
seen (the frame checks of ``tools/data/check_dataset.py`` are for that).
"""
import hashlib
import json
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

#: fields that mmengine adds per access, not part of a sample
VOLATILE_KEYS = ('sample_idx', )


def _plain(value):
    """JSON form of a loaded record's values (AUCodes as their annotation dicts)."""
    to_dict = getattr(value, 'to_dict', None)
    if to_dict is not None:
        return to_dict()
    raise TypeError(f'cannot digest a {type(value).__name__} in a record')


def sample_digest(record: Dict) -> str:
    """sha256 (16 hex digits) of a loaded record, key order and volatile keys left out."""
    data = {k: v for k, v in record.items() if k not in VOLATILE_KEYS}
    text = json.dumps(data, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


def data_record(records: Iterable[Dict], fold_of: Dict[str, str], classes: Sequence[str],
                fold_key: str) -> Dict:
    """What ``loso_run.json`` keeps of the data: ``{hash, classes, fold_key, samples: {sample_id:
    [fold value (or split), label index, digest]}}``."""
    samples = {str(r['sample_id']): [fold_of[str(r['sample_id'])], int(r['label']),
                                     sample_digest(r)] for r in records}
    text = json.dumps([list(classes), fold_key, sorted(samples.items())])
    return dict(hash=hashlib.sha256(text.encode('utf-8')).hexdigest(), classes=list(classes),
                fold_key=fold_key, samples=samples)


@dataclass
class DataChange:
    """Sample ids added, removed, relabelled (label changed) or modified (other fields), and the
    fold values (or splits) they belong to; ``scheme`` when the classes or fold key changed."""
    added: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)
    relabelled: List[str] = field(default_factory=list)
    modified: List[str] = field(default_factory=list)
    folds: Set[str] = field(default_factory=set)
    scheme: Optional[str] = None

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.relabelled or self.modified or self.scheme)

    def describe(self) -> str:
        if self.scheme:
            return self.scheme
        parts = []
        for name in ('added', 'removed', 'relabelled', 'modified'):
            ids = getattr(self, name)
            if ids:
                more = f', +{len(ids) - 3} more' if len(ids) > 3 else ''
                parts.append(f'{len(ids)} sample(s) {name} ({", ".join(ids[:3])}{more})')
        return '; '.join(parts)


def diff_data(old: Dict, new: Dict) -> DataChange:
    """What changed from the recorded data ``old`` to ``new`` (both :func:`data_record`)."""
    change = DataChange()
    if old.get('classes') != new['classes'] or old.get('fold_key') != new['fold_key']:
        change.scheme = (f"the classes / fold key changed: {old.get('classes')} by "
                         f"{old.get('fold_key')!r}, now {new['classes']} by {new['fold_key']!r}")
        return change
    before, after = old.get('samples', {}), new['samples']
    for sid in sorted(set(after) - set(before)):
        change.added.append(sid)
        change.folds.add(after[sid][0])
    for sid in sorted(set(before) - set(after)):
        change.removed.append(sid)
        change.folds.add(before[sid][0])
    for sid in sorted(set(before) & set(after)):
        (f_old, l_old, d_old), (f_new, l_new, d_new) = before[sid], after[sid]
        if (f_old, l_old, d_old) == (f_new, l_new, d_new):
            continue
        (change.relabelled if l_old != l_new else change.modified).append(sid)
        change.folds.update((f_old, f_new))
    return change


def affected_folds(change: DataChange, folds: Sequence[str], kind: str,
                   train_split: str = 'train') -> Tuple[List[str], List[str]]:
    """``(retrain, retest)``: the folds whose training set changed, and those whose test set alone
    changed. ``folds``: the fold values (LOSO) or the test splits of the one fixed-split fold."""
    if change.scheme:
        return list(folds), []
    if kind == 'fixed':
        if train_split in change.folds:
            return ['fixed_split'], []
        return [], ['fixed_split'] if change.folds & set(folds) else []
    retrain = [f for f in folds if change.folds - {f}]
    retest = [f for f in folds if f in change.folds and f not in retrain]
    return retrain, retest


__all__ = ['DataChange', 'affected_folds', 'data_record', 'diff_data', 'sample_digest']
