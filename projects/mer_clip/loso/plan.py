"""The plan of a LOSO experiment and its identity.

:class:`LOSOPlan` reads the config once, finds the folds in its dataset (:mod:`.folds`) and makes a
:class:`~.fold_job.FoldJob` for each. Its identity, ``work_dir/loso_run.json`` (config hash, seed,
checkpoint rule, protocol, per-fold options, the CPU mode and its pins), is recorded at the first
start; a restart that asks for another experiment is refused, so folds of two experiments are never
mixed, and ``--report-only`` reports the folds as they were trained.

**Per-fold options** (``fold_cfg_options``, ``tools/loso.py --fold-cfg-options FILE``): extra
``--cfg-options`` for the folds of some subjects, e.g. the schedule chosen for each fold without its
test subject (:mod:`.selection`); part of the identity, and each fold's last checkpoint is that of
its own ``max_epochs``.
"""
import copy
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence

from ..apis.config import load_config
from ..datasets.protocol import get_protocol, protocol_of_config
from ..utils.atomic_write import atomic_write_json, atomic_write_text
from ..utils.config import DATASET_WRAPPERS, set_dataset_option
from ..utils.reproducible import mode_record
from .data_identity import affected_folds, diff_data
from .fold_files import retire_fold
from .fold_job import KEEP_CHECKPOINTS, RULE_BEST_ON_TEST_FOLD, RULE_LAST, FoldJob
from .folds import FoldList, detect_folds, fold_dirname, select_subjects
from .reports import config_hash

CHECKPOINT_RULE_LAST = 'last epoch (no selection on the test fold)'
CHECKPOINT_RULE_UNSAFE = ('UNSAFE: epoch with the best UF1 on the held-out test subject / test '
                          'split (the MER-CLIP authors\' protocol; selection on the test fold '
                          'inflates results)')
UNSAFE_TRAIN_OPTIONS = ['default_hooks.checkpoint.save_best=mer/UF1',
                        'default_hooks.checkpoint.rule=greater', 'train_cfg.val_interval=1']
FOLD_MODES = ('subprocess', 'inprocess', 'batched')
RUN_FILE = 'loso_run.json'


class RunStateMismatch(RuntimeError):
    """The command contradicts how the folds in the work dir were trained (loso_run.json)."""


class DataChanged(RunStateMismatch):
    """The annotation's samples differ from those the folds were trained on."""


class LOSOPlan:
    """The folds of one config as fold jobs, and the experiment's identity.

    Args: see :class:`~.runner.LOSOExperiment`, which holds one.
    """

    def __init__(self, config: str, work_dir: str, cfg_options: Optional[Sequence[str]] = None,
                 seed: Optional[int] = None, subjects: Optional[Sequence[str]] = None,
                 select_on_test_fold_unsafe: bool = False, keep_checkpoints: str = 'tested',
                 protocol: Optional[str] = None, strict_labels: bool = False,
                 fold_mode: Optional[str] = None,
                 fold_cfg_options: Optional[Dict[str, Sequence[str]]] = None,
                 retrain_changed: bool = False, reproducible: bool = False) -> None:
        self.config = config
        self.reproducible = reproducible
        self.retrain_changed = retrain_changed
        self.work_dir = work_dir
        self.cfg_options = list(cfg_options or [])
        self.fold_cfg_options = {str(k): list(v) for k, v in (fold_cfg_options or {}).items()}
        self.cfg = load_config(config, self.cfg_options)
        self.protocol_spec = (get_protocol(protocol) if protocol is not None else
                              protocol_of_config(self.cfg))
        self.seed = int(seed if seed is not None else (self.cfg.get('randomness') or {}).get(
            'seed', 0) or 0)
        self.requested_subjects = subjects
        self.unsafe = select_on_test_fold_unsafe
        if keep_checkpoints not in KEEP_CHECKPOINTS:
            raise ValueError(f'keep_checkpoints must be one of {KEEP_CHECKPOINTS}, got '
                             f'{keep_checkpoints!r}')
        self.keep_checkpoints = keep_checkpoints
        self.strict_labels = strict_labels
        self.fold_mode = fold_mode or self.cfg.get('loso_fold_mode') or 'subprocess'
        if self.fold_mode not in FOLD_MODES:
            raise ValueError(f'fold mode must be one of {FOLD_MODES}, got {self.fold_mode!r} '
                             '(--fold-mode / loso_fold_mode)')
        self.folds_found: Optional[FoldList] = None
        self.data_change = None
        self.jobs: List[FoldJob] = []
        self.config_text = self.cfg.dump() if hasattr(self.cfg, 'dump') else self.cfg.pretty_text
        self.config_hash = config_hash(self.config_text)
        train_cfg = self.cfg.get('train_cfg') or {}
        self.max_epochs = train_cfg.get('max_iters' if 'max_iters' in train_cfg else 'max_epochs')

    # ------------------------------------------------------------------------------- the folds
    def plan(self) -> List[FoldJob]:
        """Find the folds (reads annotations only, no images) and make their jobs."""
        cfg = self.cfg
        if self.strict_labels:
            cfg = copy.deepcopy(self.cfg)
            set_dataset_option(cfg, 'strict_labels', True)
        found = self.folds_found = detect_folds(cfg, self.protocol_spec)
        if found.kind == 'loso':
            values = select_subjects(found.folds, self.requested_subjects)
            unknown = sorted(set(self.fold_cfg_options) - set(found.folds))
            if unknown:
                raise ValueError(f'fold options name folds that the dataset does not have: '
                                 f'{unknown[:10]}; its folds are {found.folds[:10]}...')
            self.jobs = [self._job(fold_dirname(v), held_out=v, fold_key=found.fold_key)
                         for v in values]
            check_fold_dirs(self.jobs)
        else:
            if self.requested_subjects or self.fold_cfg_options:
                raise ValueError('--subjects and per-fold options apply to LOSO datasets; this '
                                 f'dataset has fixed splits ({found.test_splits})')
            self.jobs = [self._job('fixed_split', tests=list(found.test_splits),
                                   train_options=self._split_options(found))]
        return self.jobs

    def _job(self, dirname: str, held_out: Optional[str] = None, fold_key: str = 'subject',
             tests=(None, ), train_options: Sequence[str] = ()) -> FoldJob:
        return FoldJob(
            config=osp.abspath(self.config), work_dir=osp.abspath(osp.join(self.work_dir,
                                                                             dirname)),
            seed=self.seed, fold_key=fold_key, held_out=held_out, tests=list(tests),
            cfg_options=self.cfg_options + self.fold_cfg_options.get(held_out, []),
            train_options=list(train_options) + (UNSAFE_TRAIN_OPTIONS if self.unsafe else []),
            strict_labels=self.strict_labels,
            checkpoint_rule=RULE_BEST_ON_TEST_FOLD if self.unsafe else RULE_LAST,
            keep_checkpoints=self.keep_checkpoints, fold_mode=self.fold_mode, cwd=os.getcwd(),
            reproducible=self.reproducible)

    def _split_options(self, found: FoldList) -> List[str]:
        """Fixed-split protocol: train on ``train``, validate (monitoring only) on the first test
        split, whatever split the config's LOSO-style dataloaders name."""
        opts = []
        for loader, split in (('train_dataloader', found.train_split),
                              ('val_dataloader', found.test_splits[0])):
            ds = (self.cfg.get(loader) or {}).get('dataset') or {}
            if ds and ds.get('type') not in DATASET_WRAPPERS:
                opts.append(f'{loader}.dataset.split={split}')
        return opts

    def write_jobs(self, jobs: Optional[Sequence[FoldJob]] = None) -> List[str]:
        """Each job to its ``fold_<value>/fold_job.json``; returns the paths."""
        return [job.save() for job in (self.jobs if jobs is None else jobs)]

    # ------------------------------------------------------------------------------- identity
    def run_state(self) -> Dict:
        """What identifies the experiment this command asks for (``loso_run.json``)."""
        state = dict(config=self.config, config_hash=self.config_hash, seed=self.seed,
                     cfg_options=self.cfg_options,
                     checkpoint_rule=CHECKPOINT_RULE_UNSAFE if self.unsafe else
                     CHECKPOINT_RULE_LAST, protocol=self.protocol_spec.name,
                     cpu_mode=mode_record(self.reproducible))
        if self.fold_cfg_options:
            state['fold_cfg_options'] = self.fold_cfg_options
        if self.folds_found is not None:
            state['data'] = self.folds_found.data
        return state

    def recorded_run_state(self) -> Optional[Dict]:
        """``loso_run.json`` of the work dir, checked against this command; None if absent.

        Raises RunStateMismatch when the command asks for another config (hash), seed,
        checkpoint rule, protocol or per-fold options than the folds were trained with.
        """
        path = osp.join(self.work_dir, RUN_FILE)
        if not osp.exists(path):
            return None
        try:
            with open(path, encoding='utf-8') as f:
                old = json.load(f)
            if not isinstance(old, dict):
                raise ValueError('not a JSON object')
        except (ValueError, OSError) as e:  # JSONDecodeError, UnicodeDecodeError: ValueErrors
            raise RunStateMismatch(
                f'{path}: cannot be read ({e}); it records which experiment the folds in '
                f'{self.work_dir} belong to (cut off by a full disk or a kill?). If they are of '
                'this config and options, delete it and run the same command again (it is '
                'written anew), otherwise use another --work-dir.') from None
        old.setdefault('protocol', 'loso')  # runs from before protocols were selectable
        old.setdefault('cpu_mode', mode_record(False))  # runs from before the reproducible mode
        state = self.run_state()
        for key, option in (('config_hash', 'the config / --cfg-options'), ('seed', '--seed'),
                            ('checkpoint_rule', '--select-on-test-fold-UNSAFE'),
                            ('protocol', '--protocol'),
                            ('fold_cfg_options', '--fold-cfg-options'),
                            ('cpu_mode', '--reproducible and its pins')):
            if old.get(key) != state.get(key):
                raise RunStateMismatch(
                    f'{self.work_dir} holds folds of another experiment: {key} was '
                    f'{old.get(key)!r}, now {state.get(key)!r} (from {option}). Resuming would mix '
                    'two experiments and a report would misstate how the folds were trained; '
                    'drop the option that changes it, or use another --work-dir.')
        self._check_data(old, state)
        return old

    def _check_data(self, old: Dict, state: Dict) -> None:
        """Refuse data that changed since the folds were trained (:mod:`.data_identity`)."""
        if 'data' not in old or 'data' not in state or old['data']['hash'] == state['data']['hash']:
            return
        found = self.folds_found
        change = diff_data(old['data'], state['data'])
        tests = found.folds if found.kind == 'loso' else found.test_splits
        retrain, retest = affected_folds(change, tests, found.kind, found.train_split)
        planned = {job.name for job in self.jobs}
        retrain = [f for f in retrain if f in planned]
        retest = [f for f in retest if f in planned]
        self.data_change = (change, retrain, retest)
        if not self.retrain_changed:
            raise DataChanged(
                f'{self.work_dir}: the data changed since its folds were trained: '
                f'{change.describe()}; {len(retrain)} fold(s) train on it'
                + (f', {len(retest)} only test on it ({", ".join(retest[:5])})' if retest else '')
                + '. Rerun with --retrain-changed to retrain (or re-test) exactly those folds, or '
                'use another --work-dir.')

    def prepare_work_dir(self) -> None:
        """Create the work dir and record ``loso_run.json`` and ``config.py`` there, or check
        the recorded ones against this experiment (:meth:`recorded_run_state`)."""
        os.makedirs(self.work_dir, exist_ok=True)
        self.data_change = None
        if self.recorded_run_state() is not None:
            if self.data_change is None:
                return
            self._retire_changed_folds()
        atomic_write_text(osp.join(self.work_dir, 'config.py'), self.config_text)
        atomic_write_json(osp.join(self.work_dir, RUN_FILE), self.run_state())

    def _retire_changed_folds(self) -> None:
        """``--retrain-changed``: the folds whose data changed go to ``stale_<time>/`` (those
        whose training set changed whole, the others' predictions only), then run again."""
        change, retrain, retest = self.data_change
        stale = osp.join(self.work_dir, time.strftime('stale_%Y%m%d_%H%M%S'))
        by_name = {job.name: job for job in self.jobs}
        for name in retrain:
            retire_fold(by_name[name], stale, training=True)
        for name in retest:
            retire_fold(by_name[name], stale, training=False)
        sys.stderr.write(f'[loso] the data changed ({change.describe()}): {len(retrain)} fold(s) '
                         f'retrain, {len(retest)} re-test; their old files are in {stale}\n')

    def warn_if_not_resumable(self, log=lambda m: sys.stderr.write(m + '\n')) -> None:
        hooks = [h.get('type') for h in (self.cfg.get('custom_hooks') or [])]
        if 'RNGStateHook' not in hooks:
            log('[loso] warning: the config has no RNGStateHook in custom_hooks, so a fold resumed '
                'after an interruption will not equal an uninterrupted one; keep '
                "dict(type='RNGStateHook') from configs/_base_/default_runtime.py.")


def check_fold_dirs(jobs: Sequence[FoldJob]) -> None:
    """Every fold needs a folder of its own, also on case-insensitive file systems."""
    seen: Dict[str, str] = {}
    for job in jobs:
        key = osp.basename(job.work_dir).casefold()
        if key in seen:
            raise ValueError(f'subjects {seen[key]!r} and {job.name!r} would share the fold '
                             f'folder {osp.basename(job.work_dir)!r} (names equal up to case); '
                             'rename one of them in the annotation file')
        seen[key] = job.name


__all__ = ['CHECKPOINT_RULE_LAST', 'CHECKPOINT_RULE_UNSAFE', 'DataChanged', 'FOLD_MODES',
           'LOSOPlan', 'RunStateMismatch', 'UNSAFE_TRAIN_OPTIONS', 'check_fold_dirs']
