"""Resume a training run only from a complete checkpoint.

mmengine's ``--resume`` (``resume=True`` without ``load_from``) continues from the checkpoint that
``work_dir/last_checkpoint`` names. :func:`repair_resume_point` makes that a checkpoint that passes
:func:`mer_clip.checkpoint.verify_checkpoint`, before ``tools/train.py`` (and every fold of
``tools/loso.py``) resumes.
"""
import glob
import os
import os.path as osp
import re
from typing import Optional

from ..checkpoint import (CheckpointError, CheckpointIntegrityError, is_complete_checkpoint,
                          remove_checkpoint, verify_checkpoint)


def _epoch_of(path: str) -> int:
    m = re.search(r'(?:epoch|iter)_(\d+)\.pth$', path)
    return int(m.group(1)) if m else -1


def repair_resume_point(work_dir: str) -> Optional[str]:
    """Make ``work_dir/last_checkpoint`` name a complete checkpoint before an automatic resume.

    A run killed while mmengine saved (before checkpoints were written atomically, or by another
    writer) may leave a cut-off or damaged ``epoch_k.pth`` and, with ``max_keep_ckpts=1``, a
    ``last_checkpoint`` that names a deleted file. Damaged checkpoints (:func:`verify_checkpoint`)
    are removed and ``last_checkpoint`` re-pointed to the newest complete one, or removed when
    there is none (training then starts from the beginning: same seeds, same result). Left-over
    temporary files of an interrupted save are removed. Returns what was done, or None.
    """
    for tmp in glob.glob(osp.join(glob.escape(work_dir), '.*.pth.tmp*')):
        os.remove(tmp)
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(pointer):
        return None
    with open(pointer) as f:
        named = f.read().strip()
    if named and is_complete_checkpoint(named):
        return None
    actions = []
    ckpts = glob.glob(osp.join(glob.escape(work_dir), 'epoch_*.pth')) + glob.glob(
        osp.join(glob.escape(work_dir), 'iter_*.pth'))
    good = []
    for path in ckpts:
        try:
            verify_checkpoint(path)
            good.append(path)
        except CheckpointIntegrityError:
            remove_checkpoint(path)
            actions.append(f'removed damaged {osp.basename(path)}')
        except CheckpointError:
            remove_checkpoint(path)
            actions.append(f'removed truncated {osp.basename(path)}')
    what = f'last_checkpoint named {osp.basename(named) or "nothing"} (missing or incomplete)'
    if good:
        best = max(good, key=_epoch_of)
        with open(pointer, 'w') as f:
            f.write(best)
        actions.append(f'{what}; resuming from {osp.basename(best)}')
    else:
        os.remove(pointer)
        actions.append(f'{what} and no complete checkpoint is left: training from the start')
    return '; '.join(actions)


__all__ = ['repair_resume_point']
