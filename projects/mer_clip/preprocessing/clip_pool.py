"""Run one function over many clips, in this process or in worker processes, with a progress bar.

Preparing, verifying and computing flow all do the same thing per clip and must do it the same way:
a ``fork`` pool (the workers inherit the imported stack instead of importing it again), OpenCV's own
thread pool stopped while forking (a child that inherits a started OpenCV pool can hang in its
first parallel call: reproduced while writing prepare_dataset), results in completion order, and a
pool that is terminated, not drained, when the caller stops early (an error, ``--strict``).
"""
import contextlib
import multiprocessing as mp
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

import cv2
from tqdm import tqdm


def _fork_context():
    return mp.get_context('fork' if 'fork' in mp.get_all_start_methods() else None)


@contextlib.contextmanager
def map_clips(fn: Callable[[Any], Any], tasks: Sequence[Any], workers: int = 1, *,
              desc: str = '', progress: bool = True, chunksize: int = 1,
              initializer: Optional[Callable] = None, initargs: Tuple = (),
              local_initargs: Optional[Tuple] = None) -> Iterator[Iterator[Any]]:
    """``with map_clips(fn, tasks, workers) as results: for r in results: ...``

    ``results`` yields ``fn(task)`` for every task (completion order with workers, task order
    without) and advances a progress bar (``desc``, one step per clip; off with
    ``progress=False``). ``initializer(*initargs)`` runs in each worker; with ``workers <= 1`` it
    runs here with ``local_initargs`` (default ``initargs``). Leaving the block early (an exception)
    terminates the workers; a normal exit closes and joins them.
    """
    bar = tqdm(total=len(tasks), desc=desc, unit='clip', disable=not progress)
    pool = None
    if workers <= 1:
        if initializer is not None:
            initializer(*(initargs if local_initargs is None else local_initargs))
        results = map(fn, tasks)
    else:
        cv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            pool = _fork_context().Pool(workers, initializer=initializer, initargs=initargs)
        finally:
            cv2.setNumThreads(cv_threads)
        results = pool.imap_unordered(fn, tasks, chunksize=chunksize)

    def counted():
        for res in results:
            bar.update(1)
            yield res

    finished = False
    try:
        yield counted()
        finished = True
    finally:
        bar.close()
        if pool is not None:
            (pool.close if finished else pool.terminate)()
            pool.join()


__all__ = ['map_clips']
