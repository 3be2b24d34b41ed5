"""Model-zoo checkpoints: publish (training state dropped, hash in the name), safe loading, refusal
of foreign pickled objects, hash verification."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mer_clip.apis import (CheckpointIntegrityError, UnsafeCheckpointError, load_checkpoint_safe,
                           sha256_of)


class Payload:
    """A pickled object that would run a command when unpickled with weights_only=False."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))


def _training_checkpoint(path, model):
    """What mmengine's CheckpointHook writes: meta (numpy scalars inside), state_dict, optimizer,
    param_schedulers, message_hub (HistoryBuffer objects)."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('test_publish_hub')
    hub.update_scalar('train/loss', 0.5)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    torch.save(dict(meta=dict(epoch=3, iter=30, seed=np.int64(7), time='now',
                              dataset_meta=dict(classes=('negative', 'positive', 'surprise'))),
                    state_dict=model.state_dict(), optimizer=opt.state_dict(),
                    param_schedulers=[dict(last_epoch=3)], message_hub=hub.state_dict(),
                    rng_state=dict(torch=torch.get_rng_state())), path)


def test_publish_and_load_round_trip(tmp_path, repo_root):
    model = _model()
    src = str(tmp_path / 'epoch_3.pth')
    _training_checkpoint(src, model)
    out = subprocess.run([sys.executable, osp.join(repo_root, 'tools', 'publish_model.py'), src,
                          str(tmp_path / 'zoo' / 'tiny')], capture_output=True, text=True,
                         check=True).stdout
    published = out.split()[1]
    name = osp.basename(published)
    assert name.startswith('tiny-') and name.endswith('.pth')
    assert name[len('tiny-'):-4] == sha256_of(published)[:8]

    raw = torch.load(published, weights_only=True)  # plain torch, strict weights-only
    assert set(raw) == {'meta', 'state_dict'}
    assert raw['meta']['seed'] == 7 and type(raw['meta']['seed']) is int

    fresh = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    ckpt = load_checkpoint_safe(published, model=fresh)
    for k, v in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v)
    assert fresh.dataset_meta['classes'] == ('negative', 'positive', 'surprise')
    assert ckpt['meta']['epoch'] == 3


def test_hash_mismatch_is_refused(tmp_path):
    model = _model()
    path = str(tmp_path / 'm.pth')
    torch.save(dict(meta={}, state_dict=model.state_dict()), path)
    digest = sha256_of(path)
    good = str(tmp_path / f'm-{digest[:8]}.pth')
    os.rename(path, good)
    load_checkpoint_safe(good)  # the right hash loads
    with open(good, 'ab') as f:  # a byte more: a changed / damaged file
        f.write(b'\0')
    with pytest.raises(CheckpointIntegrityError, match='does not match'):
        load_checkpoint_safe(good)
    load_checkpoint_safe(good, check_hash=False)  # a zip tolerates trailing bytes


def test_foreign_pickled_object_is_refused_without_running_it(tmp_path):
    marker = tmp_path / 'code_ran'
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(meta=dict(note=Payload(str(marker))), state_dict=_model().state_dict()), path)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_safe(path, model=_model())
    msg = str(err.value)
    assert 'system' in msg  # names what was found
    assert 'refused for safety' in msg and 'Do not load it' in msg  # why, and what to do
    assert 'python tools/publish_model.py' not in msg  # --trust-input would run it
    assert not marker.exists()

    # a training checkpoint with a foreign object is not re-published without --trust-input
    from mer_clip.apis.checkpoint import publish_checkpoint
    with pytest.raises(UnsafeCheckpointError):
        publish_checkpoint(path, str(tmp_path / 'out'))
    assert not marker.exists()
