"""Progress of running folds, read from their mmengine logs: folds done / total, epoch, ETA."""
import glob
import os.path as osp
import re
import sys
import time
from typing import Dict, Optional, Tuple

_TRAIN_LINE = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\s*\[\s*(\d+)/(\d+)\]')
_SAVED = re.compile(r'Saving checkpoint at (\d+) epochs')


def latest_log(work_dir: str) -> Optional[str]:
    """The newest ``<timestamp>/<timestamp>.log`` mmengine wrote into ``work_dir``."""
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    return max(logs, key=osp.getmtime) if logs else None


def fold_epoch(work_dir: str) -> Tuple[float, Optional[int]]:
    """(epochs completed incl. the current epoch's fraction, epoch being trained) of a fold."""
    log = latest_log(work_dir)
    if log is None:
        return 0.0, None
    try:
        with open(log, 'rb') as f:
            f.seek(max(0, osp.getsize(log) - 64 * 1024))
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return 0.0, None
    done, current, frac = 0, None, 0.0
    for m in _SAVED.finditer(text):
        done = max(done, int(m.group(1)))
    last = None
    for last in _TRAIN_LINE.finditer(text):
        pass
    if last is not None:
        current = int(last.group(1))
        it, total = int(last.group(2)), int(last.group(3))
        if current > done:
            frac = (current - 1) + it / max(total, 1)
    return max(float(done), frac), current


def _fmt_seconds(s: Optional[float]) -> str:
    if s is None:
        return '?'
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f'{h}h{m:02d}m' if h else f'{m}m{sec:02d}s'


class Progress:
    """Folds done / total, each running fold's epoch, elapsed and ETA, printed on change.

    The ETA counts work in epochs: epochs still to train over the epochs trained per second in this
    session (folds skipped as done, or epochs restored by resuming, do not count as speed).
    """

    def __init__(self, total_folds: int, max_epochs: Optional[int], stream=None,
                 min_interval: float = 5.0) -> None:
        self.total = total_folds
        self.max_epochs = max_epochs or 1
        self.stream = stream or sys.stderr
        self.start = time.time()
        self.done = 0
        self.running: Dict[str, str] = {}  # fold -> work_dir
        self._start_units: Dict[str, float] = {}
        self._finished_units = 0.0  # epochs trained in this session by finished folds
        self._last_text = ''
        self._last_time = 0.0
        self.min_interval = min_interval
        self._tty = hasattr(self.stream, 'isatty') and self.stream.isatty()

    def fold_started(self, fold: str, work_dir: str) -> None:
        self.running[fold] = work_dir
        self._start_units[fold] = fold_epoch(work_dir)[0]

    def fold_finished(self, fold: str, trained_here: bool = True) -> None:
        wd = self.running.pop(fold, None)
        if wd is not None and trained_here:
            self._finished_units += max(0.0, self.max_epochs - self._start_units.get(fold, 0.0))
        self._start_units.pop(fold, None)
        self.done += 1

    def fold_failed(self, fold: str) -> None:
        self.running.pop(fold, None)
        self._start_units.pop(fold, None)

    def text(self) -> str:
        parts = [f'[loso] folds {self.done}/{self.total} done']
        units_now, remaining = self._finished_units, 0.0
        for fold, wd in sorted(self.running.items()):
            ep, _ = fold_epoch(wd)
            units_now += max(0.0, ep - self._start_units.get(fold, 0.0))
            remaining += max(0.0, self.max_epochs - ep)
            parts.append(f'{fold}: epoch {min(int(ep) + 1, self.max_epochs)}/{self.max_epochs}')
        pending = self.total - self.done - len(self.running)
        remaining += pending * self.max_epochs
        elapsed = time.time() - self.start
        eta = remaining * elapsed / units_now if units_now > 0 else None
        parts.append(f'elapsed {_fmt_seconds(elapsed)}')
        parts.append(f'ETA {_fmt_seconds(eta)}' if self.done < self.total else 'finished')
        return ' | '.join(parts)

    def update(self, force: bool = False) -> None:
        """Redraw the line on a terminal; in a log file, write a line when a fold or epoch changes
        (or once a minute)."""
        now = time.time()
        if not force and now - self._last_time < self.min_interval:
            return
        text = self.text()
        state = text.split(' | elapsed')[0]
        if not (force or self._tty or state != self._last_text or now - self._last_time >= 60):
            return
        self._last_time, self._last_text = now, state
        if self._tty:
            self.stream.write('\r\033[K' + text)
        else:
            self.stream.write(text + '\n')
        self.stream.flush()

    def log(self, message: str) -> None:
        """A message on its own line (keeps the progress line intact on a terminal)."""
        if self._tty:
            self.stream.write('\r\033[K')
        self.stream.write(message + '\n')
        self.stream.flush()
        if self._tty and self._last_text:
            self.stream.write(self.text())
            self.stream.flush()

