"""mer_clip.checkpoint: the one reader every loading path uses (formats, safety, integrity, errors)
and its routes into mmengine (compat item 5)."""
import os
import zipfile

import pytest
import torch

from mer_clip.checkpoint import (CheckpointError, CheckpointFormatError, CheckpointIntegrityError,
                                 CheckpointKeyError, CheckpointNotFoundError,
                                 UnsafeCheckpointError, read_checkpoint, read_state_dict,
                                 save_checkpoint, sidecar_path, verify_checkpoint)


class Payload:
    """Runs a command when unpickled with weights_only=False."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _sd():
    torch.manual_seed(0)
    return {'a.weight': torch.randn(3, 4), 'a.bias': torch.randn(3)}


@pytest.fixture
def force_unsafe_env(monkeypatch):
    """What users set to get around load errors; it must not make any loader unsafe."""
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')


# ------------------------------------------------------------------------------------- formats
@pytest.mark.parametrize('wrap', ['plain', 'state_dict', 'model', 'module', 'nested', 'ddp'])
def test_state_dict_layouts(tmp_path, wrap):
    sd = _sd()
    obj = {'plain': sd, 'state_dict': {'meta': {'epoch': 1}, 'state_dict': sd},
           'model': {'model': sd, 'epoch': 3}, 'module': {'module': sd},
           'nested': {'model': {'state_dict': sd}},
           'ddp': {'state_dict': {'module.' + k: v for k, v in sd.items()}}}[wrap]
    path = str(tmp_path / 'w.pth')
    torch.save(obj, path)
    out = read_state_dict(path)
    assert set(out) == set(sd) and all(torch.equal(out[k], sd[k]) for k in sd)


def test_prefix_safetensors_torchscript_and_old_format(tmp_path):
    sd = _sd()
    path = str(tmp_path / 'clip.pth')
    torch.save({'visual.' + k: v for k, v in sd.items()}, path)
    assert set(read_state_dict(path, prefix='visual.')) == set(sd)
    with pytest.raises(CheckpointKeyError, match=r"clip\.pth: no key starts with 'text\.'.*"
                       r"'visual\.a\.bias'"):
        read_state_dict(path, prefix='text.')

    from safetensors.torch import save_file
    st = str(tmp_path / 'w.safetensors')
    save_file(sd, st)
    assert torch.equal(read_state_dict(st)['a.bias'], sd['a.bias'])

    lin = torch.nn.Linear(4, 3)
    ts = str(tmp_path / 'ViT-B-16.pt')  # OpenAI's CLIP files are TorchScript archives
    torch.jit.save(torch.jit.script(lin), ts)
    assert torch.equal(read_state_dict(ts)['weight'], lin.weight)

    old = str(tmp_path / 'old.pth')  # torch < 1.6 format (not a zip): harmless, loads
    torch.save({'state_dict': sd}, old, _use_new_zipfile_serialization=False)
    assert not zipfile.is_zipfile(old)
    assert torch.equal(read_state_dict(old)['a.weight'], sd['a.weight'])
    from mer_clip.apis import load_checkpoint_safe
    model = torch.nn.Module()
    model.a = torch.nn.Linear(4, 3)
    load_checkpoint_safe(old, model=model)  # was refused with torch's "Expected input to be ..."
    assert torch.equal(model.a.weight, sd['a.weight'])


def test_one_family_of_errors_naming_the_file_and_keys(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match='nope.pth') as e:
        read_checkpoint(str(tmp_path / 'nope.pth'))
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, CheckpointError)
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint at all')
    with pytest.raises(CheckpointFormatError, match=r'garbage\.pth: not a readable PyTorch'):
        read_checkpoint(str(garbage))
    meta_only = str(tmp_path / 'meta.pth')
    torch.save({'meta': {'epoch': 1}, 'optimizer': {'lr': 0.1}}, meta_only)
    with pytest.raises(CheckpointKeyError, match=r"meta\.pth: holds no state dict \(top-level "
                       r"keys: 'meta', 'optimizer'") as e:
        read_state_dict(meta_only)
    assert isinstance(e.value, KeyError) and not str(e.value).startswith('"')


# ------------------------------------------------------------------------------------- safety
def test_payload_refused_whatever_the_environment_says(tmp_path, force_unsafe_env):
    marker = tmp_path / 'code_ran'
    for new_format in (True, False):
        path = str(tmp_path / f'evil_{new_format}.pth')
        torch.save({'state_dict': _sd(), 'meta': {'x': Payload(str(marker))}}, path,
                   _use_new_zipfile_serialization=new_format)
        with pytest.raises(UnsafeCheckpointError, match='system'):
            read_checkpoint(path)
        with pytest.raises(UnsafeCheckpointError):  # the backbone / text encoder route
            read_state_dict(path)
    assert not marker.exists()



class _Import:
    def __reduce__(self):
        return (__import__, ('os', ))


class _GetAttr:
    """Unpickled: ``getattr(obj, name)``."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))

    def __call__(self, *args):  # the pickler wants the first item of a reduce to be callable
        pass


class _Call:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


TRAINING_CHECKPOINT = """
import sys, torch
from mmengine.logging import MessageHub
hub = MessageHub.get_instance('resaved')
hub.update_scalar('train/loss', 0.5)
hub.update_scalar('train/loss', 1.5)
ckpt = dict(meta=dict(epoch=1), state_dict={'w': torch.ones(3)}, message_hub=hub.state_dict())
torch.save(ckpt, sys.argv[1])
torch.save(ckpt, sys.argv[2], _use_new_zipfile_serialization=False)
assert 'mer_clip' not in sys.modules
"""


def test_training_checkpoint_saved_without_mer_clip_loads_in_both_formats(tmp_path):
    """mmengine's own HistoryBuffer.__getstate__ (no mer_clip imported: a plain mmengine run, or
    a checkpoint loaded and saved again by plain torch) pickles getattr(HistoryBuffer, 'mean')...;
    such a file was refused as unsafe ('GLOBAL getattr'), the old format too."""
    import subprocess
    import sys
    new, old = str(tmp_path / 'new.pth'), str(tmp_path / 'old.pth')
    subprocess.run([sys.executable, '-c', TRAINING_CHECKPOINT, new, old], check=True)
    assert not zipfile.is_zipfile(old)
    for path in (new, old):
        assert read_checkpoint(path, verify=False) is not None  # sidecar-less: not 'verified'
        ckpt = read_checkpoint(path)
        hist = ckpt['message_hub']['log_scalars']['train/loss']
        assert hist.mean() == pytest.approx(1.0) and hist.current() == pytest.approx(1.5)
        assert torch.equal(read_state_dict(path)['w'], torch.ones(3))


@pytest.mark.parametrize('new_format', [True, False], ids=['zip', 'old-format'])
def test_getattr_to_os_system_is_refused(tmp_path, force_unsafe_env, new_format):
    """getattr is allowed only as the message hub uses it; the unpatched-checkpoint fix must not
    let a file reach os.system through it."""
    marker = tmp_path / 'code_ran'
    from mmengine.logging import HistoryBuffer
    attacks = {  # getattr(__import__('os'), 'system')('touch ...')
        'import': _Call(_GetAttr(_Import(), 'system'), f'touch {marker}'),
        # only getattr and allowed globals: HistoryBuffer.mean.__globals__ (numpy, os, ...)
        'globals': _GetAttr(_GetAttr(HistoryBuffer, 'mean'), '__globals__')}
    for name, attack in attacks.items():
        path = str(tmp_path / f'{name}.pth')
        torch.save({'state_dict': _sd(), 'meta': {'x': attack}}, path,
                   _use_new_zipfile_serialization=new_format)
        with pytest.raises(UnsafeCheckpointError) as e:
            read_checkpoint(path)
        msg = str(e.value)
        assert msg.startswith(f'{path} references functions or classes outside the allow-list')
        assert "'builtins.getattr'" in msg and 'Do not load it' in msg
        assert ('builtins.__import__' in msg if name == 'import' else
                "refused getattr(a function, '__globals__')" in msg), msg
        assert 'python tools/publish_model.py' not in msg  # no advice that would run it
    assert not marker.exists()


def test_refusal_advice_never_runs_the_payload(tmp_path):
    """The refusal used to advise ``publish_model.py ... --trust-input`` for every file, which
    unpickles it in full: for a payload, that runs it."""
    import argparse
    from mer_clip.apis.checkpoint import publish_checkpoint
    marker = tmp_path / 'code_ran'
    evil = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': _sd(), 'meta': {'x': Payload(str(marker))}}, evil)
    with pytest.raises(UnsafeCheckpointError) as e:
        read_checkpoint(evil)
    msg = str(e.value)
    assert "['posix.system']" in msg or "['nt.system']" in msg
    assert 'Do not load it' in msg and 'python tools/publish_model.py' not in msg
    with pytest.raises(UnsafeCheckpointError):  # nor does publishing it (without --trust-input)
        publish_checkpoint(evil, str(tmp_path / 'zoo' / 'evil'))
    assert not marker.exists()

    # plain data of another trainer's settings: re-published weights-only, no --trust-input
    hparams = str(tmp_path / 'hparams.pth')
    torch.save({'state_dict': _sd(), 'meta': {'args': argparse.Namespace(lr=0.1, name='x')}},
               hparams, _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError) as e:
        read_checkpoint(hparams)
    msg = str(e.value)
    assert "['argparse.Namespace']" in msg and 'plain-data classes' in msg
    assert f'python tools/publish_model.py {hparams} OUT_PREFIX\n' in msg
    assert '--trust-input' not in msg
    out, _ = publish_checkpoint(hparams, str(tmp_path / 'zoo' / 'm'))
    assert read_checkpoint(out)['meta'] == {'args': {'lr': 0.1, 'name': 'x'}}

def test_mmengine_runner_loading_goes_through_the_reader(tmp_path, force_unsafe_env):
    """Runner.load_checkpoint / Runner.resume (tools/test.py, train.py --resume, loso folds) call
    mmengine's _load_checkpoint; with the variable set, mmengine's own loader ran the payload."""
    from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
    from mer_clip.compat import load_from_mer_clip_reader
    marker = tmp_path / 'code_ran'
    path = str(tmp_path / 'epoch_1.pth')
    torch.save({'state_dict': _sd(), 'meta': {'x': Payload(str(marker))}}, path)
    assert CheckpointLoader._get_checkpoint_loader(path) is load_from_mer_clip_reader
    assert CheckpointLoader._get_checkpoint_loader('https://x.org/a.pth') is \
        load_from_mer_clip_reader
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(path, map_location='cpu')
    assert not marker.exists()
    good = str(tmp_path / 'good.pth')
    torch.save({'state_dict': _sd(), 'meta': {'epoch': 1}}, good)
    assert _load_checkpoint(good)['meta']['epoch'] == 1


# ------------------------------------------------------------------------------------- integrity
def _flip_tensor_byte(path):
    """Flip one byte inside the first tensor record: torch.load alone reads it silently."""
    with zipfile.ZipFile(path) as z:
        info = next(i for i in z.infolist() if '/data/' in i.filename)
    with open(path, 'r+b') as f:
        f.seek(info.header_offset + 26)
        n, m = int.from_bytes(f.read(2), 'little'), int.from_bytes(f.read(2), 'little')
        pos = info.header_offset + 30 + n + m + 4
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0xFF]))


def test_integrity_by_content_hash_written_at_save(tmp_path):
    path = str(tmp_path / 'epoch_2.pth')
    digest = save_checkpoint({'state_dict': _sd()}, path)
    assert open(sidecar_path(path)).read() == f'{digest}  epoch_2.pth\n'
    assert verify_checkpoint(path) == 'sha256'
    _flip_tensor_byte(path)
    torch.load(path, weights_only=True)  # torch itself does not notice
    with pytest.raises(CheckpointIntegrityError, match=r'epoch_2\.pth: sha256 .* recorded in '
                       r'epoch_2\.pth\.sha256'):
        read_checkpoint(path)
    os.remove(sidecar_path(path))  # no recorded hash: the zip CRCs still catch it
    with pytest.raises(CheckpointIntegrityError, match='CRC-32'):
        read_checkpoint(path)

    cut = str(tmp_path / 'epoch_3.pth')
    save_checkpoint({'state_dict': _sd()}, cut)
    data = open(cut, 'rb').read()
    open(cut, 'wb').write(data[:len(data) // 2])
    with pytest.raises(CheckpointIntegrityError):
        read_checkpoint(cut)
    os.remove(sidecar_path(cut))
    with pytest.raises(CheckpointFormatError, match='cut off'):
        read_checkpoint(cut)


def test_mmengine_saving_is_atomic_with_a_sidecar(tmp_path):
    from mmengine.runner import runner as mm_runner
    path = str(tmp_path / 'epoch_1.pth')
    mm_runner.save_checkpoint({'meta': {'epoch': 1}, 'state_dict': _sd()}, path)
    assert verify_checkpoint(path) == 'sha256'
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth', 'epoch_1.pth.sha256']
    os.remove(path)  # mmengine's max_keep_ckpts removes the .pth only
    mm_runner.save_checkpoint({'meta': {'epoch': 2}, 'state_dict': _sd()},
                              str(tmp_path / 'epoch_2.pth'))
    assert sorted(os.listdir(tmp_path)) == ['epoch_2.pth', 'epoch_2.pth.sha256']
