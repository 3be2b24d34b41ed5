"""Atomic file writes whose errors name the file.

A report, a run's record or an annotation file is either complete or as it was: the content goes
to ``<path>.part`` beside it, which then replaces ``path`` (``os.replace``), so a kill or a full
disk mid-write never leaves a cut-off file that a later run would read. A failing write (a full
disk, a file-size limit, a read-only folder) raises :class:`FileWriteError` naming the file and
what to do, never a bare ``[Errno 27] File too large``.
"""
import contextlib
import errno
import json
import os
import os.path as osp
from typing import Any, Iterator, Optional

PART_SUFFIX = '.part'

_HINTS = {
    errno.ENOSPC: 'the disk is full: free space there, or write elsewhere',
    getattr(errno, 'EDQUOT', -1): 'the disk quota is used up: free space, or write elsewhere',
    errno.EFBIG: "the file-size limit was reached (`ulimit -f`, or the file system's largest "
                 'file): raise the limit, or write elsewhere',
    errno.EACCES: 'no permission to write there: choose another folder',
    errno.EROFS: 'the file system is read-only: choose another folder',
}


class FileWriteError(OSError):
    """A file could not be written; the message names it, the reason and what to do."""

    def __init__(self, path: str, err: OSError) -> None:
        reason = f'[Errno {err.errno}] {err.strerror}' if err.strerror else str(err)
        hint = _HINTS.get(err.errno)
        super().__init__(f'{path}: cannot write it ({reason})' + (f'; {hint}' if hint else ''))
        self.path = path
        self.errno = err.errno

    def __str__(self) -> str:
        return str(self.args[0])


@contextlib.contextmanager
def errors_name(path: str) -> Iterator[None]:
    """An ``OSError`` raised inside becomes a :class:`FileWriteError` naming ``path`` (for writers
    that cannot be atomic, e.g. a figure saved by matplotlib)."""
    try:
        yield
    except FileWriteError:
        raise
    except OSError as e:
        raise FileWriteError(path, e) from e


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'w', encoding: Optional[str] = 'utf-8',
                newline: Optional[str] = None):
    """``open(path, mode)`` for writing, atomically: the file appears (or is replaced) only when
    the block ends without an error; ``<path>.part`` is removed otherwise."""
    path = str(path)
    tmp = path + PART_SUFFIX
    with errors_name(path):
        if osp.dirname(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
        try:
            with open(tmp, mode, encoding=None if 'b' in mode else encoding,
                      newline=newline) as f:
                yield f
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise


def atomic_write_text(path: str, text: str, encoding: str = 'utf-8',
                      newline: Optional[str] = None) -> str:
    """Write ``text`` to ``path`` atomically; returns ``path``."""
    with atomic_open(path, 'w', encoding=encoding, newline=newline) as f:
        f.write(text)
    return path


def atomic_write_json(path: str, data: Any, indent: Optional[int] = 2, end: str = '',
                      **dump_kwargs) -> str:
    """Write ``data`` as JSON (``json.dumps(data, indent=indent, **dump_kwargs) + end``) to
    ``path`` atomically; returns ``path``. Serialised before the file is opened, so data that is
    not JSON raises with nothing written."""
    return atomic_write_text(path, json.dumps(data, indent=indent, **dump_kwargs) + end)


__all__ = ['FileWriteError', 'PART_SUFFIX', 'atomic_open', 'atomic_write_json',
           'atomic_write_text', 'errors_name']
