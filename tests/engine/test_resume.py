"""mer_clip.engine.resume: an automatic resume starts from a complete checkpoint only (a kill
while saving: tests/loso/test_loso_folds.py)."""
import os
import os.path as osp

from mer_clip.checkpoint import save_checkpoint
from mer_clip.engine.resume import repair_resume_point
from tests.test_checkpoint import _flip_tensor_byte, _sd


def test_repair_removes_damaged_checkpoints(tmp_path):
    wd = str(tmp_path)
    for e in (1, 2):
        save_checkpoint({'state_dict': _sd(), 'meta': {'epoch': e}}, osp.join(wd, f'epoch_{e}.pth'))
    _flip_tensor_byte(osp.join(wd, 'epoch_2.pth'))  # complete zip, wrong content
    with open(osp.join(wd, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(wd, 'epoch_2.pth'))
    note = repair_resume_point(wd)
    assert 'removed damaged epoch_2.pth' in note and 'resuming from epoch_1.pth' in note
    assert sorted(os.listdir(wd)) == ['epoch_1.pth', 'epoch_1.pth.sha256', 'last_checkpoint']
