"""The LOSO experiment runner behind ``tools/loso.py``.

One fold per subject (or per value of the protocol's fold key: ``protocol='lodo'`` holds out one
dataset at a time; :mod:`mer_clip.datasets.protocol`), each in ``work_dir/fold_<value>/``:
``tools/train.py`` (or
``tools/dist_train.sh`` for DDP per fold) then ``tools/test.py`` on the **last** checkpoint, each a
subprocess (mmengine keeps global state per process; folds can then run side by side, one per
device group). The folds' ``predictions.csv`` are pooled into the reports (:mod:`.reports`).

Resuming is by files, so a run killed at any moment can be started again with the same command:

- ``fold_<s>/predictions.csv`` exists: the fold is done (skipped). It is written under a temporary
  name and renamed, so it exists only complete.
- ``fold_<s>/train_done.json`` exists and the checkpoint it names passes
  :func:`mer_clip.checkpoint.verify_checkpoint` (the sha256 written when it was saved): training
  finished; only the test runs again. A damaged final checkpoint is removed with the marker, and
  training resumes from the newest complete checkpoint.
- otherwise training runs with ``--resume``: mmengine continues from the checkpoint named in
  ``last_checkpoint`` (checkpoints are written atomically with a sha256 sidecar; anything damaged
  is removed first, :func:`mer_clip.engine.resume.repair_resume_point`), or starts fresh if there is
  none. Together with ``RNGStateHook`` (per-epoch seeding) and the batch-independent prompt
  features of ``CLIPTextEncoder``, the resumed fold's predictions are byte-identical to an
  uninterrupted one's.

**Fold modes.** ``subprocess`` (default): each step is a process of its own, as above.
``inprocess`` (``fold_mode='inprocess'``, ``--fold-mode inprocess``, or ``loso_fold_mode =
'inprocess'`` in the config): one worker process per slot runs its share of the folds, each fold
with the same steps, files and checks, the tools' ``run()`` called in the worker
(:mod:`.inprocess`); for small models whose folds take seconds, where process start-up and
imports would cost more than the training. DDP folds always use subprocesses.

Every step (in-process: every worker) runs under :mod:`.watchdog`, so no process of a fold
(torchrun's ranks included) outlives ``tools/loso.py``, whether it is stopped by SIGTERM, SIGINT or
SIGKILL, and the work dir stays locked until the last one is gone. DDP folds get a rendezvous port
that is free at launch (``PORT`` + slot when the user sets ``PORT``).

**Per-fold options** (``fold_cfg_options``, ``tools/loso.py --fold-cfg-options FILE``): extra
``--cfg-options`` for the folds of some subjects, e.g. the schedule chosen for each fold without its
test subject (:mod:`.selection`, ``tools/select_schedule.py`` writes them as ``fold_settings``).
They are part of the experiment's identity (``loso_run.json``, the reports); each fold's last
checkpoint is the one of its own ``max_epochs``.

``work_dir/loso_run.json`` records the config hash, seed and checkpoint rule of the first start; a
restart with a different config refuses to mix folds of two experiments, and so does
``--report-only``: reports always carry the provenance of the folds as they were trained.

Checkpoint rule: the last epoch. The MER-CLIP authors keep the epoch with the best UF1 on the
validation set, which in their LOSO scripts *is the test subject*: that is selection on the test
fold and inflates the numbers. It is available only as ``select_on_test_fold_unsafe=True``
(``--select-on-test-fold-UNSAFE``) for reproducing their tables, and is labelled so in every report.
"""
import copy
import ctypes
import fcntl
import glob
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Deque, Dict, List, Optional, Sequence

from ..apis.config import load_config
from ..checkpoint import CheckpointError, remove_checkpoint, verify_checkpoint
from ..datasets.protocol import get_protocol, protocol_of_config
from ..engine.resume import repair_resume_point
from ..utils.config import DATASET_WRAPPERS, set_dataset_option
from .folds import Protocol, detect_protocol, fold_dirname, select_subjects
from .progress import Progress
from .reports import check_pooling, config_hash, load_fold_predictions, write_reports
from .summary import LOSOSummary, build_summary

CHECKPOINT_RULE_LAST = 'last epoch (no selection on the test fold)'
CHECKPOINT_RULE_UNSAFE = ('UNSAFE: epoch with the best UF1 on the held-out test subject / test '
                          'split (the MER-CLIP authors\' protocol; selection on the test fold '
                          'inflates results)')
UNSAFE_TRAIN_OPTIONS = ['default_hooks.checkpoint.save_best=mer/UF1',
                        'default_hooks.checkpoint.rule=greater', 'train_cfg.val_interval=1']
FOLD_MODES = ('subprocess', 'inprocess')
TOOLS_DIR = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..', 'tools'))
WATCHDOG = osp.join(osp.dirname(osp.abspath(__file__)), 'watchdog.py')


@dataclass
class Fold:
    """One training and its test(s). ``tests``: ``[None]`` for a LOSO fold (its held-out subject,
    or held-out value ``held_out`` of ``fold_key``), the split names for a fixed-split protocol."""
    name: str
    work_dir: str
    seed: int
    subject: Optional[str] = None
    tests: List[Optional[str]] = field(default_factory=lambda: [None])
    fold_key: str = 'subject'
    held_out: Optional[str] = None

    def __post_init__(self):
        if self.held_out is None and self.subject is not None:
            self.held_out = self.subject

    def fold_args(self) -> List[str]:
        """The train/test tools' options selecting this fold (``--loso-subject S`` for LOSO)."""
        if self.held_out is None:
            return []
        if self.fold_key == 'subject':
            return ['--loso-subject', self.held_out]
        return ['--fold-key', self.fold_key, '--held-out', self.held_out]

    def prediction_file(self, split: Optional[str]) -> str:
        name = 'predictions.csv' if split is None else f'predictions_{split}.csv'
        return osp.join(self.work_dir, name)

    @property
    def done(self) -> bool:
        return all(osp.exists(self.prediction_file(s)) for s in self.tests)

    @property
    def trained(self) -> bool:
        return osp.exists(osp.join(self.work_dir, 'train_done.json'))


@dataclass
class Step:
    name: str
    cmd: List[str]
    env: Dict[str, str]
    log_file: str
    on_success: Callable[[], None] = lambda: None
    before: Callable[[], Optional[str]] = lambda: None  # returns a message to log, if any


def _set_pdeathsig():  # runs in the child between fork and exec (single-threaded parent)
    try:
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class FoldFailed(RuntimeError):
    pass


class RunStateMismatch(RuntimeError):
    """The command contradicts how the folds in the work dir were trained (loso_run.json)."""


def launch_port(slot: int = 0) -> int:
    """The DDP rendezvous port of a fold starting now in ``slot``: ``PORT + slot`` when the user
    set ``PORT`` (checked to be free), otherwise a port the OS reports free."""
    base = os.environ.get('PORT')
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if base:
            port = int(base) + slot
            try:
                sock.bind(('', port))
            except OSError as e:
                raise FoldFailed(f'PORT={base}: port {port} (PORT + slot {slot}) is in use ({e}); '
                                 'another job on this node? Set PORT to a free port, or unset it '
                                 'to let tools/loso.py pick free ones') from None
            return port
        sock.bind(('', 0))
        return sock.getsockname()[1]


def check_fold_dirs(folds: Sequence[Fold]) -> None:
    """Every fold needs a folder of its own, also on case-insensitive file systems."""
    seen: Dict[str, str] = {}
    for fold in folds:
        key = osp.basename(fold.work_dir).casefold()
        if key in seen:
            raise ValueError(f'subjects {seen[key]!r} and {fold.name!r} would share the fold '
                             f'folder {osp.basename(fold.work_dir)!r} (names equal up to case); '
                             'rename one of them in the annotation file')
        seen[key] = fold.name


class LOSOExperiment:
    """Plan, run (resumably) and report the folds of one config. See the module docstring.

    Args:
        config: config file.
        work_dir: experiment folder (folds in ``fold_<subject>/``, reports at the top).
        cfg_options: ``key=value`` strings passed to every train/test call.
        seed: base seed; every fold trains with this seed (``randomness.seed``).
        subjects: a subset of folds to run and report (default: all folds; fold values, i.e.
            subjects for LOSO, datasets for ``protocol='lodo'``).
        device_groups: one entry per parallel slot: a list of device ids (CUDA_VISIBLE_DEVICES) or
            ``None`` for a CPU slot. A group of several devices trains its fold with DDP.
        select_on_test_fold_unsafe: the authors' protocol (see module docstring). Off by default.
        keep_checkpoints: 'tested' (default) deletes a finished fold's other checkpoints; 'all'.
        protocol: ``'loso'`` (folds by subject), ``'lodo'`` (by dataset) or a record field
            (:func:`mer_clip.datasets.protocol.get_protocol`); None: the config's ``fold_key``
            (its test dataset's), else ``'loso'``.
        strict_labels: an emotion label that is no known emotion of the class scheme stops the
            run (``--strict`` of the tools) instead of a warning; not part of the experiment's
            identity (it changes no result, only whether a typo is an error).
        fold_mode: ``'subprocess'`` or ``'inprocess'`` (module docstring); None: the config's
            ``loso_fold_mode``, else ``'subprocess'``. Not part of the experiment's identity
            either (the same steps give the same predictions); each fold.json records it.
        fold_cfg_options: ``{fold value: [key=value, ...]}``, options of those folds only, after
            ``cfg_options`` (module docstring); folds not listed use ``cfg_options`` alone.
    """

    def __init__(self, config: str, work_dir: str, cfg_options: Optional[Sequence[str]] = None,
                 seed: Optional[int] = None, subjects: Optional[Sequence[str]] = None,
                 device_groups: Optional[Sequence[Optional[Sequence[str]]]] = None,
                 select_on_test_fold_unsafe: bool = False, python: str = sys.executable,
                 tools_dir: str = TOOLS_DIR, poll_interval: float = 1.0,
                 progress_stream=None, keep_checkpoints: str = 'tested',
                 protocol: Optional[str] = None, strict_labels: bool = False,
                 fold_mode: Optional[str] = None,
                 fold_cfg_options: Optional[Dict[str, Sequence[str]]] = None) -> None:
        self.config = config
        self.work_dir = work_dir
        self.cfg_options = list(cfg_options or [])
        self.fold_cfg_options = {str(k): list(v) for k, v in (fold_cfg_options or {}).items()}
        self._fold_max_epochs: Dict[str, int] = {}
        self.cfg = load_config(config, self.cfg_options)
        self.protocol_spec = (get_protocol(protocol) if protocol is not None else
                              protocol_of_config(self.cfg))
        self.seed = int(seed if seed is not None else (self.cfg.get('randomness') or {}).get(
            'seed', 0) or 0)
        self.requested_subjects = subjects
        self.device_groups = list(device_groups) if device_groups else [None]
        self.unsafe = select_on_test_fold_unsafe
        self.python = python
        self.tools_dir = tools_dir
        self.poll_interval = poll_interval
        self.progress_stream = progress_stream
        if keep_checkpoints not in ('tested', 'all'):
            raise ValueError(f"keep_checkpoints must be 'tested' or 'all', got {keep_checkpoints!r}")
        self.keep_checkpoints = keep_checkpoints
        self.strict_labels = strict_labels
        self.fold_mode = fold_mode or self.cfg.get('loso_fold_mode') or 'subprocess'
        if self.fold_mode not in FOLD_MODES:
            raise ValueError(f'fold mode must be one of {FOLD_MODES}, got {self.fold_mode!r} '
                             '(--fold-mode / loso_fold_mode)')
        if self.fold_mode == 'inprocess' and any(g is not None and len(g) > 1
                                                 for g in self.device_groups):
            raise ValueError('--fold-mode inprocess runs one device per fold; DDP folds '
                             '(--launcher-gpus-per-fold > 1) need --fold-mode subprocess')
        self.protocol: Optional[Protocol] = None
        self.folds: List[Fold] = []
        self._procs: Dict[str, subprocess.Popen] = {}
        self._lock_fd: Optional[int] = None
        self.config_text = self.cfg.dump() if hasattr(self.cfg, 'dump') else self.cfg.pretty_text
        self.config_hash = config_hash(self.config_text)
        train_cfg = self.cfg.get('train_cfg') or {}
        self.by_epoch = 'max_iters' not in train_cfg
        self.max_epochs = train_cfg.get('max_epochs' if self.by_epoch else 'max_iters')

    # ---------------------------------------------------------------------------------- planning
    def plan(self) -> List[Fold]:
        """Detect the protocol and list the folds (reads annotations only, no images)."""
        cfg = self.cfg
        if self.strict_labels:
            cfg = copy.deepcopy(self.cfg)
            set_dataset_option(cfg, 'strict_labels', True)
        self.protocol = detect_protocol(cfg, self.protocol_spec)
        if self.protocol.kind == 'loso':
            key = self.protocol.fold_key
            values = select_subjects(self.protocol.folds, self.requested_subjects)
            self.folds = [Fold(name=v, subject=v if key == 'subject' else None, seed=self.seed,
                               work_dir=osp.join(self.work_dir, fold_dirname(v)), fold_key=key,
                               held_out=v)
                          for v in values]
            check_fold_dirs(self.folds)
            unknown = sorted(set(self.fold_cfg_options) - set(self.protocol.folds))
            if unknown:
                raise ValueError(f'fold options name folds that the dataset does not have: '
                                 f'{unknown[:10]}; its folds are {self.protocol.folds[:10]}...')
        else:
            if self.requested_subjects or self.fold_cfg_options:
                raise ValueError('--subjects and per-fold options apply to LOSO datasets; this '
                                 f'dataset has fixed splits ({self.protocol.test_splits})')
            self.folds = [Fold(name='fixed_split', seed=self.seed, tests=self.protocol.test_splits,
                               work_dir=osp.join(self.work_dir, 'fixed_split'))]
        return self.folds

    def run_state(self) -> Dict:
        """What identifies the experiment this command asks for (``loso_run.json``)."""
        state = dict(config=self.config, config_hash=self.config_hash, seed=self.seed,
                     cfg_options=self.cfg_options,
                     checkpoint_rule=CHECKPOINT_RULE_UNSAFE if self.unsafe else
                     CHECKPOINT_RULE_LAST, protocol=self.protocol_spec.name)
        if self.fold_cfg_options:
            state['fold_cfg_options'] = self.fold_cfg_options
        return state

    def recorded_run_state(self) -> Optional[Dict]:
        """``loso_run.json`` of the work dir, checked against this command; None if absent.

        Raises RunStateMismatch when the command asks for another config (hash), seed or
        checkpoint rule than the folds were trained with: resuming would mix two experiments, and
        a report would claim a provenance the folds do not have.
        """
        path = osp.join(self.work_dir, 'loso_run.json')
        if not osp.exists(path):
            return None
        with open(path) as f:
            old = json.load(f)
        old.setdefault('protocol', 'loso')  # runs from before protocols were selectable
        state = self.run_state()
        for key, option in (('config_hash', 'the config / --cfg-options'), ('seed', '--seed'),
                            ('checkpoint_rule', '--select-on-test-fold-UNSAFE'),
                            ('protocol', '--protocol'),
                            ('fold_cfg_options', '--fold-cfg-options')):
            if old.get(key) != state.get(key):
                raise RunStateMismatch(
                    f'{self.work_dir} holds folds of another experiment: {key} was '
                    f'{old.get(key)!r}, now {state.get(key)!r} (from {option}). Resuming would mix '
                    'two experiments and a report would misstate how the folds were trained; '
                    'drop the option that changes it, or use another --work-dir.')
        return old

    def prepare_work_dir(self) -> None:
        """Create the work dir and record ``loso_run.json`` there (or check it against this
        experiment, :meth:`recorded_run_state`)."""
        os.makedirs(self.work_dir, exist_ok=True)
        self._check_run_state()

    def _check_run_state(self) -> None:
        """Refuse to mix folds of different experiments in one work_dir."""
        path = osp.join(self.work_dir, 'loso_run.json')
        if self.recorded_run_state() is not None:
            return
        state = self.run_state()
        with open(path, 'w') as f:
            json.dump(state, f, indent=2)
        with open(osp.join(self.work_dir, 'config.py'), 'w') as f:
            f.write(self.config_text)

    def _warn_if_not_resumable(self, log) -> None:
        hooks = [h.get('type') for h in (self.cfg.get('custom_hooks') or [])]
        if 'RNGStateHook' not in hooks:
            log('[loso] warning: the config has no RNGStateHook in custom_hooks, so a fold resumed '
                'after an interruption will not equal an uninterrupted one; keep '
                "dict(type='RNGStateHook') from configs/_base_/default_runtime.py.")

    # ---------------------------------------------------------------------------------- steps
    def _fold_options(self, fold: Fold, extra: Sequence[str] = ()) -> List[str]:
        opts = list(self.cfg_options) + self.fold_cfg_options.get(fold.name, []) + list(extra)
        return (['--strict'] if self.strict_labels else []) + (
            ['--cfg-options', *opts] if opts else [])

    def _split_options(self, fold: Fold) -> List[str]:
        """Fixed-split protocol: train on ``train``, validate (monitoring only) on the first test
        split, whatever split the config's LOSO-style dataloaders name."""
        if fold.held_out is not None or not fold.tests:
            return []
        opts = []
        for loader, split in (('train_dataloader', self.protocol.train_split),
                              ('val_dataloader', fold.tests[0])):
            ds = (self.cfg.get(loader) or {}).get('dataset') or {}
            if ds and ds.get('type') not in DATASET_WRAPPERS:
                opts.append(f'{loader}.dataset.split={split}')
        return opts

    def _train_step(self, fold: Fold, devices: Optional[Sequence[str]], slot: int = 0) -> Step:
        extra = self._split_options(fold) + (UNSAFE_TRAIN_OPTIONS if self.unsafe else [])
        args = ['--work-dir', fold.work_dir, '--seed', str(fold.seed), '--resume']
        args += fold.fold_args()
        args += self._fold_options(fold, extra)
        env = self._env(devices)
        if devices is not None and len(devices) > 1:
            env.update(PORT=str(launch_port(slot)), PYTHON=self.python)
            cmd = ['bash', osp.join(self.tools_dir, 'dist_train.sh'), self.config,
                   str(len(devices)), *args]
        else:
            cmd = [self.python, osp.join(self.tools_dir, 'train.py'), self.config, *args]

        def mark_trained():
            ckpt = self.checkpoint_for_test(fold)
            try:
                checked = verify_checkpoint(ckpt)
            except CheckpointError as e:
                raise FoldFailed(f'{fold.name}: training ended but its checkpoint is damaged: '
                                 f'{e}') from None
            with open(osp.join(fold.work_dir, 'train_done.json'), 'w') as f:
                json.dump(dict(checkpoint=ckpt, seed=fold.seed, finished=time.time(),
                               verified=checked), f)

        return Step('train', cmd, env, osp.join(fold.work_dir, 'train.out'), mark_trained,
                    before=lambda: repair_resume_point(fold.work_dir))

    def _test_step(self, fold: Fold, split: Optional[str], devices) -> Step:
        final = fold.prediction_file(split)
        tmp = final + '.part'
        extra = [] if split is None else [f'test_dataloader.dataset.split={split}']
        cmd = [self.python, osp.join(self.tools_dir, 'test.py'), self.config,
               self.checkpoint_for_test(fold), '--work-dir', osp.join(fold.work_dir, 'test'),
               '--dump', tmp]
        cmd += fold.fold_args()
        cmd += self._fold_options(fold, extra)
        env = self._env(devices[:1] if devices else devices)

        def publish():
            if not osp.exists(tmp):
                raise FoldFailed(f'{fold.name}: tools/test.py did not write {tmp}')
            os.replace(tmp, final)  # atomic: predictions.csv exists only complete

        log = osp.join(fold.work_dir, 'test.out' if split is None else f'test_{split}.out')
        return Step(f'test{"" if split is None else " " + split}', cmd, env, log, publish)

    def _env(self, devices: Optional[Sequence[str]]) -> Dict[str, str]:
        env = dict(os.environ)
        if devices is not None:
            env['CUDA_VISIBLE_DEVICES'] = ','.join(str(d) for d in devices)
        elif len(self.device_groups) > 1 and 'OMP_NUM_THREADS' not in os.environ:
            # several CPU folds side by side: share the cores instead of oversubscribing them
            env['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // len(self.device_groups)))
        return env

    def checkpoint_for_test(self, fold: Fold) -> str:
        """The last epoch's checkpoint (or the UNSAFE best-on-test-fold one); checked to exist."""
        if self.unsafe:
            best = sorted(glob.glob(osp.join(fold.work_dir, 'best_*.pth')), key=osp.getmtime)
            if not best:
                raise FoldFailed(f'{fold.name}: no best_*.pth in {fold.work_dir} although '
                                 '--select-on-test-fold-UNSAFE trains with save_best')
            return best[-1]
        unit = 'epoch' if self.by_epoch else 'iter'
        expected = osp.join(fold.work_dir, f'{unit}_{self.fold_max_epochs(fold)}.pth')
        if not osp.exists(expected):
            have = sorted(osp.basename(p) for p in glob.glob(osp.join(fold.work_dir, '*.pth')))
            raise FoldFailed(f'{fold.name}: the last checkpoint {expected} is missing (found '
                             f'{have}); training did not finish - run the same command again to '
                             'resume it')
        return expected

    def fold_max_epochs(self, fold: Fold) -> int:
        """The fold's ``max_epochs`` (``max_iters``), after its own options."""
        if fold.name not in self.fold_cfg_options:
            return self.max_epochs
        if fold.name not in self._fold_max_epochs:
            cfg = load_config(self.config, self.cfg_options + self.fold_cfg_options[fold.name])
            self._fold_max_epochs[fold.name] = cfg.train_cfg.get(
                'max_epochs' if self.by_epoch else 'max_iters')
        return self._fold_max_epochs[fold.name]

    def check_trained(self, fold: Fold) -> Optional[str]:
        """Distrust ``train_done.json`` whose checkpoint is missing or damaged: remove both, so
        that training resumes from the newest complete checkpoint. Returns what was done."""
        if not fold.trained:
            return None
        marker = osp.join(fold.work_dir, 'train_done.json')
        try:
            with open(marker) as f:
                ckpt = json.load(f).get('checkpoint')
        except (OSError, ValueError):
            ckpt = None
        try:
            if not ckpt:
                raise CheckpointError(f'{marker} names no checkpoint')
            verify_checkpoint(ckpt)
            return None
        except CheckpointError as e:
            os.remove(marker)
            if ckpt and osp.exists(ckpt):
                remove_checkpoint(ckpt)
            return (f'train_done.json was there but its checkpoint cannot be used ({e}); removed '
                    'both, training resumes from the newest complete checkpoint')

    def steps_for(self, fold: Fold, devices, slot: int = 0) -> Deque[Callable[[], Step]]:
        """What a fold still needs, as step factories (a test step is built after training)."""
        steps: Deque[Callable[[], Step]] = deque()
        if not fold.trained:
            steps.append(lambda: self._train_step(fold, devices, slot))
        for split in fold.tests:
            if not osp.exists(fold.prediction_file(split)):
                steps.append(lambda s=split: self._test_step(fold, s, devices))
        return steps

    # ---------------------------------------------------------------------------------- running
    def run(self) -> Dict:
        """Run every fold that is not done, then write the reports; returns the summary."""
        os.makedirs(self.work_dir, exist_ok=True)
        lock = open(osp.join(self.work_dir, '.loso.lock'), 'a+')
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f'another tools/loso.py is running in {self.work_dir}, or the '
                               'processes of a stopped one are still shutting down; wait for it '
                               'or use another --work-dir') from None
        self._lock_fd = lock.fileno()
        try:
            if not self.folds:
                self.plan()
            self._check_run_state()
            self._run_folds()
            return self.report()
        finally:
            self._lock_fd = None
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    def _run_folds(self) -> None:
        progress = Progress(len(self.folds), self.max_epochs, stream=self.progress_stream)
        self._warn_if_not_resumable(progress.log)
        pending: Deque[Fold] = deque()
        for fold in self.folds:
            if fold.done:
                progress.fold_finished(fold.name, trained_here=False)
            else:
                pending.append(fold)
        if len(pending) < len(self.folds):
            progress.log(f'[loso] {len(self.folds) - len(pending)} of {len(self.folds)} folds '
                         f'already done in {self.work_dir}: skipped')
        old_handlers = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM,
                                                                       signal.SIGINT)}
        try:
            if self.fold_mode == 'inprocess':
                self._run_workers(list(pending), progress)
            else:
                self._run_subprocess_folds(pending, progress)
        finally:
            for s, h in old_handlers.items():
                signal.signal(s, h)
        progress.update(force=True)
        if self.progress_stream is None or getattr(self.progress_stream, 'isatty', lambda: 0)():
            (self.progress_stream or sys.stderr).write('\n')

    def _run_subprocess_folds(self, pending: Deque[Fold], progress: Progress) -> None:
        """Every step of every fold a process of its own, ``len(device_groups)`` folds at once."""
        free = list(range(len(self.device_groups)))
        running: Dict[str, dict] = {}
        failures: List[str] = []
        while pending or running:
            while free and pending and not failures:
                fold, slot = pending.popleft(), free.pop(0)
                os.makedirs(fold.work_dir, exist_ok=True)
                devices = self.device_groups[slot]
                note = self.check_trained(fold)
                if note:
                    progress.log(f'[loso] fold {fold.name}: {note}')
                state = dict(fold=fold, slot=slot, start=time.time(),
                             steps=self.steps_for(fold, devices, slot),
                             step=None, proc=None)
                progress.fold_started(fold.name, fold.work_dir)
                resumed = ' (resuming)' if osp.exists(
                    osp.join(fold.work_dir, 'last_checkpoint')) else ''
                progress.log(f'[loso] fold {fold.name}: start{resumed}'
                             + (f' on devices {",".join(devices)}' if devices else ''))
                running[fold.name] = state
                self._advance(state, progress, failures)
            for name in list(running):
                state = running[name]
                proc = state['proc']
                if proc is not None and proc.poll() is None:
                    continue
                self._advance(state, progress, failures)
                if state['proc'] is None:  # finished or failed
                    running.pop(name)
                    free.append(state['slot'])
                    free.sort()
            if not pending and not running:
                break
            if failures and not running:
                break
            progress.update()
            time.sleep(self.poll_interval)
        if failures:
            raise FoldFailed('folds failed:\n' + '\n'.join(failures))

    def worker_spec(self) -> Dict:
        """The arguments that rebuild this experiment in an in-process worker."""
        return dict(config=self.config, work_dir=self.work_dir, cfg_options=self.cfg_options,
                    seed=self.seed, subjects=self.requested_subjects,
                    select_on_test_fold_unsafe=self.unsafe, python=self.python,
                    keep_checkpoints=self.keep_checkpoints, protocol=self.protocol_spec.name,
                    strict_labels=self.strict_labels, fold_mode='inprocess',
                    fold_cfg_options=self.fold_cfg_options, tools_dir=self.tools_dir)

    def _run_workers(self, pending: List[Fold], progress: Progress) -> None:
        """``inprocess`` mode: one worker process per slot (:mod:`.inprocess`), the pending folds
        dealt out in turn (every fold trains on all subjects but one, so they cost about the
        same); the files tell which fold each worker is on."""
        from .inprocess import STOP_FILE, worker_command
        stop = osp.join(self.work_dir, STOP_FILE)
        if osp.exists(stop):
            os.remove(stop)  # left by an earlier run that stopped after a failure
        shares = [pending[i::len(self.device_groups)] for i in range(len(self.device_groups))]
        workers, failures = [], []
        for slot, share in enumerate(shares):
            if not share:
                continue
            log_file = osp.join(self.work_dir, f'inprocess_worker{slot}.out')
            log = open(log_file, 'a')
            cmd = worker_command(self.python, self.worker_spec(), [f.name for f in share])
            log.write(f'\n$ {" ".join(cmd[:4])} ... --folds {" ".join(cmd[6:])}\n')
            log.flush()
            devices = self.device_groups[slot]
            proc = self._spawn_watched(f'worker{slot}', cmd, log, self._env(devices))
            progress.log(f'[loso] in-process worker {slot}: {len(share)} fold(s)'
                         + (f' on devices {",".join(devices)}' if devices else '')
                         + f'; log {log_file}')
            workers.append(dict(slot=slot, share=deque(share), proc=proc, log=log,
                                log_file=log_file, current=None, start=None))
        while workers:
            for w in list(workers):
                self._follow_worker(w, progress)
                if w['proc'].poll() is None:
                    continue
                self._follow_worker(w, progress)
                w['log'].close()
                self._procs.pop(f'worker{w["slot"]}', None)
                workers.remove(w)
                if w['proc'].returncode != 0 or w['share']:
                    fold = w['current'] or (w['share'][0].name if w['share'] else '?')
                    if w['proc'].returncode == 3:  # stopped before a fold, as asked
                        continue
                    failures.append(f'{fold}: in-process worker {w["slot"]} exited with '
                                    f'{w["proc"].returncode}; see {w["log_file"]}:\n'
                                    f'{_tail(w["log_file"])}')
                    progress.log(f'[loso] fold {fold} FAILED; see {w["log_file"]}')
                    progress.fold_failed(fold)
                    open(stop, 'w').close()  # the other workers start no new fold
            if workers:
                if any(w['share'] for w in workers):  # the last line is written by the caller
                    progress.update()
                time.sleep(self.poll_interval)
        if osp.exists(stop):
            os.remove(stop)
        if failures:
            raise FoldFailed('folds failed:\n' + '\n'.join(failures))

    def _follow_worker(self, w: dict, progress: Progress) -> None:
        """Progress of one worker: its folds finish in order, and the first one not done is the
        one it is training."""
        while w['share'] and w['share'][0].done:
            fold = w['share'].popleft()
            if w['current'] != fold.name:
                progress.fold_started(fold.name, fold.work_dir)
            progress.fold_finished(fold.name)
            info = self._fold_seconds(fold)
            progress.log(f'[loso] fold {fold.name}: done in {time.time() - w["start"]:.0f}s'
                         + (f' ({info})' if info else '') if w['start'] else
                         f'[loso] fold {fold.name}: done')
            w['current'], w['start'] = None, None
        if w['share'] and w['current'] != w['share'][0].name and w['proc'].poll() is None:
            fold = w['share'][0]
            w['current'], w['start'] = fold.name, time.time()
            progress.fold_started(fold.name, fold.work_dir)

    @staticmethod
    def _fold_seconds(fold: Fold) -> str:
        try:
            with open(osp.join(fold.work_dir, 'fold.json')) as f:
                seconds = json.load(f).get('seconds', {})
        except (OSError, ValueError):
            return ''
        return format_seconds(seconds)

    def _advance(self, state: dict, progress: Progress, failures: List[str]) -> None:
        """Finish the current step of a fold (if any) and start its next one."""
        fold, proc = state['fold'], state['proc']
        if proc is not None:
            step = state['step']
            state['log'].close()
            self._procs.pop(fold.name, None)
            state['proc'] = None
            try:
                if proc.returncode != 0:
                    tail = _tail(step.log_file)
                    hint = ''
                    if 'EADDRINUSE' in tail or 'address already in use' in tail.lower():
                        hint = ('\nhint: the DDP rendezvous port is taken (another job on this '
                                'node?); set PORT to a free port, or leave it unset to get one')
                    raise FoldFailed(f'{fold.name}: {step.name} exited with {proc.returncode}; '
                                     f'see {step.log_file}:\n{tail}{hint}')
                step.on_success()
            except FoldFailed as e:
                failures.append(str(e))
                progress.log(f'[loso] fold {fold.name} FAILED ({step.name}); see {step.log_file}')
                progress.fold_failed(fold.name)
                return
            state.setdefault('seconds', {})[step.name] = time.time() - state['step_start']
        if not state['steps']:
            self.finish_fold(fold, state.get('seconds', {}), fold_mode='subprocess')
            progress.fold_finished(fold.name)
            progress.log(f'[loso] fold {fold.name}: done in {time.time() - state["start"]:.0f}s')
            return
        try:
            step = state['steps'].popleft()()
        except FoldFailed as e:
            failures.append(str(e))
            progress.fold_failed(fold.name)
            return
        note = step.before()
        if note:
            progress.log(f'[loso] fold {fold.name}: {note}')
        with open(step.log_file, 'a') as f:
            if note:
                f.write(f'\n[loso] {note}\n')
            f.write(f'\n$ {" ".join(step.cmd)}\n')
        log = open(step.log_file, 'a')
        state.update(step=step, log=log, step_start=time.time())
        state['proc'] = self._spawn_watched(fold.name, step.cmd, log, step.env)

    def _spawn_watched(self, key: str, cmd: Sequence[str], log, env: Dict) -> subprocess.Popen:
        """Start ``cmd`` in a session of its own under the watchdog (see :mod:`.watchdog`), which
        ends its whole process tree with this process and keeps the work-dir lock until then."""
        proc = subprocess.Popen(
            [self.python, WATCHDOG, str(os.getpid()), '--', *cmd], stdout=log,
            stderr=subprocess.STDOUT, env=env, start_new_session=True, preexec_fn=_set_pdeathsig,
            pass_fds=(self._lock_fd, ) if self._lock_fd is not None else ())
        self._procs[key] = proc
        return proc

    def _remove_untested_checkpoints(self, fold: Fold) -> None:
        """Once a fold is done, keep only the checkpoint its predictions came from (disk: a B/16
        MER-CLIP checkpoint with optimizer state is ~1.5 GB, and CAS(ME)^3 has 100 folds)."""
        if self.keep_checkpoints == 'all':
            return
        keep = osp.abspath(self.checkpoint_for_test(fold))
        for path in glob.glob(osp.join(fold.work_dir, '*.pth')):
            if osp.abspath(path) != keep:
                remove_checkpoint(path)

    def finish_fold(self, fold: Fold, seconds: Dict[str, float], fold_mode: str) -> None:
        """After a fold's last step: ``fold.json`` (seed, tested checkpoint, seconds per step,
        fold mode) and only the tested checkpoint kept."""
        path = osp.join(fold.work_dir, 'fold.json')
        info = {}
        if osp.exists(path):
            with open(path) as f:
                info = json.load(f)
        merged = dict(info.get('seconds', {}))
        merged.update(seconds)
        info.update(fold=fold.name, subject=fold.subject, fold_key=fold.fold_key,
                    held_out=fold.held_out, seed=fold.seed, seconds=merged, fold_mode=fold_mode,
                    checkpoint=osp.relpath(self.checkpoint_for_test(fold), self.work_dir))
        with open(path + '.part', 'w') as f:
            json.dump(info, f, indent=2)
        os.replace(path + '.part', path)
        self._remove_untested_checkpoints(fold)

    def _on_signal(self, signum, frame):
        """Stop the running folds (their whole process groups) and exit; rerun to resume."""
        for proc in list(self._procs.values()):
            _kill_group(proc, signal.SIGTERM)
        deadline = time.time() + 30
        for proc in list(self._procs.values()):
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                _kill_group(proc, signal.SIGKILL)
        sys.stderr.write(f'\n[loso] interrupted (signal {signum}); run the same command again to '
                         'resume\n')
        raise SystemExit(128 + signum)

    # ---------------------------------------------------------------------------------- reports
    def report(self, plots: bool = True) -> LOSOSummary:
        """Pool the folds' predictions and write predictions.csv, summary.json/.md and figures."""
        if self.protocol is None:
            self.plan()
        classes = self.protocol.classes
        missing = [f.name for f in self.folds if not f.done]
        if missing:
            raise FoldFailed(f'cannot report: folds without predictions: {missing}')
        # provenance of the folds as trained (loso_run.json), never of this command line
        run = self.recorded_run_state()
        if run is None:
            sys.stderr.write(f'[loso] warning: {self.work_dir} has no loso_run.json; the report '
                             'takes config, seed and checkpoint rule from this command\n')
            run = self.run_state()
        rows_by_group, all_rows, fold_info = {}, [], {}
        datasets = self.protocol.sample_datasets
        rows_by_fold, files, per_fold_seed = {}, {}, {}
        for fold in self.folds:
            info = {}
            info_path = osp.join(fold.work_dir, 'fold.json')
            if osp.exists(info_path):
                with open(info_path) as f:
                    info = json.load(f)
            per_fold_seed[fold.name] = info.get('seed', run['seed'])
            for split in fold.tests:
                name = fold.name if split is None else split
                files[name] = fold.prediction_file(split)
                rows = load_fold_predictions(files[name], name, len(classes))
                if datasets:  # per-dataset reports: the annotation's dataset of each sample
                    for r in rows:
                        r['dataset'] = datasets.get(r['sample_id'])
                rows_by_fold[name] = rows
                all_rows += rows
                rows_by_group.setdefault('pooled' if split is None else split, []).extend(rows)
                fold_info[name] = dict(seed=per_fold_seed[fold.name],
                                       checkpoint=info.get('checkpoint'),
                                       train_seconds=info.get('seconds', {}).get('train'))
        if self.protocol.kind == 'loso':
            check_pooling(rows_by_fold, {f.name: f.subject for f in self.folds}, files)
        else:
            for split in rows_by_group:
                check_pooling({split: rows_by_fold[split]}, files=files)
        summary = build_summary(
            self.protocol.kind, rows_by_group, classes, fold_info,
            fold_key=self.protocol.fold_key if self.protocol.kind == 'loso' else None,
            protocol_title=self.protocol.title if self.protocol.kind == 'loso' else None,
            experiment=osp.splitext(osp.basename(run['config']))[0], config=run['config'],
            config_hash=run['config_hash'], cfg_options=run['cfg_options'],
            fold_cfg_options=run.get('fold_cfg_options'),
            checkpoint_rule=run['checkpoint_rule'],
            seeds=dict(base=run['seed'], rule='same seed for every fold',
                       per_fold=per_fold_seed))
        write_reports(self.work_dir, summary, all_rows, plots=plots)
        return summary


def format_seconds(seconds: Dict[str, float]) -> str:
    """``{'train': 22.2, 'test': 2.2}`` -> ``'train 22.2s, test 2.2s'`` (a fold's steps)."""
    return ', '.join(f'{k} {v:.1f}s' for k, v in seconds.items())


def _kill_group(proc: subprocess.Popen, sig) -> None:
    try:
        os.killpg(proc.pid, sig)  # the fold's own session: train.py / torchrun and its workers
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: str, n: int = 25) -> str:
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-n:])
    except OSError:
        return ''


def parse_device_groups(devices: Optional[str], gpus: Optional[int], per_fold: int,
                        parallel_cpu: int = 1) -> List[Optional[List[str]]]:
    """Slots for parallel folds: ``--devices 0,1,2,3`` / ``--gpus 4`` split into groups of
    ``per_fold`` devices (one fold per group); without devices, ``parallel_cpu`` CPU slots."""
    if devices:
        ids = [d.strip() for d in devices.split(',') if d.strip()]
    elif gpus:
        ids = [str(i) for i in range(gpus)]
    else:
        return [None] * max(1, parallel_cpu)
    if per_fold < 1 or len(ids) % per_fold:
        raise ValueError(f'{len(ids)} devices cannot be split into groups of {per_fold} '
                         '(--launcher-gpus-per-fold)')
    return [ids[i:i + per_fold] for i in range(0, len(ids), per_fold)]


__all__ = ['LOSOExperiment', 'Fold', 'FoldFailed', 'RunStateMismatch', 'parse_device_groups',
           'launch_port', 'check_fold_dirs', 'FOLD_MODES',
           'CHECKPOINT_RULE_LAST', 'CHECKPOINT_RULE_UNSAFE']
