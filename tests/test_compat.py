"""mer_clip.compat: each workaround of the pinned stack, exercised for real."""
import io
import os
import time
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from mer_clip import compat
from tests.conftest import free_port


def test_mmaction_models_imports_and_drn_placeholder_is_explicit():
    import mmaction.models  # noqa: F401  fails without the placeholder on the PyPI wheel
    from mmaction.models.localizers.drn.drn import DRN
    if getattr(sys.modules['mmaction.models.localizers.drn'], '__doc__', '').startswith('Placeholder'):
        with pytest.raises(ImportError, match='missing from the PyPI'):
            DRN()
    assert compat.patch_missing_drn() is False  # idempotent: already present now


def _message_hub_state():
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('compat_test')
    for i in range(3):
        hub.update_scalar('train/loss', float(np.float32(0.5 + i)))
        hub.update_scalar('train/lr', np.float64(1e-3))
    hub.update_info('epoch_metric', np.array([1.0, 2.0], dtype=np.float32))
    return hub.state_dict()


def test_mmengine_checkpoint_loads_with_weights_only():
    ckpt = dict(meta=dict(epoch=3, seed=np.int64(7)), message_hub=_message_hub_state(),
                state_dict={'w': torch.ones(2)})
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    hist = loaded['message_hub']['log_scalars']['train/loss']
    assert hist.current() == pytest.approx(2.5)
    assert loaded['meta']['seed'] == 7
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


class _Foreign:
    def __reduce__(self):
        return (print, ('pwned', ))


def test_foreign_pickled_object_is_still_refused():
    buf = io.BytesIO()
    torch.save({'x': _Foreign()}, buf)
    buf.seek(0)
    with pytest.raises(Exception, match='weights_only|Unsupported global'):
        torch.load(buf, weights_only=True)



def test_history_buffer_getattr_returns_only_the_statistics_functions():
    """What an mmengine checkpoint written without the HistoryBuffer patch may call while it is
    unpickled (item 2); a getattr that reaches anything else is refused."""
    import pickle

    from mmengine.logging import HistoryBuffer
    for name in compat.HISTORY_BUFFER_STATISTICS:
        assert compat.history_buffer_getattr(HistoryBuffer, name) is getattr(HistoryBuffer, name)
    for obj, name in ((HistoryBuffer, '__init__'), (HistoryBuffer, 'register_statistics'),
                      (HistoryBuffer.mean, '__globals__'), (os, 'system'), (torch, 'load')):
        with pytest.raises(pickle.UnpicklingError, match=r'refused getattr\('):
            compat.history_buffer_getattr(obj, name)

DDP_SCRIPT = textwrap.dedent('''
    import os, torch
    import mer_clip  # noqa
    from mmengine.dist import init_dist, get_rank, get_world_size
    from mmengine.model import MMDistributedDataParallel, BaseModel
    init_dist('pytorch', backend='nccl')  # what configs say; compat picks gloo without CUDA
    class Tiny(BaseModel):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 1)
        def forward(self, x, mode='loss'):
            return dict(loss=self.lin(x).pow(2).mean())
    torch.manual_seed(0)
    model = MMDistributedDataParallel(module=Tiny(), device_ids=[int(os.environ['LOCAL_RANK'])])
    x = torch.full((4, 3), float(get_rank() + 1))
    model(x)['loss'].backward()
    g = model.module.lin.weight.grad.clone()
    gs = [torch.zeros_like(g) for _ in range(get_world_size())]
    torch.distributed.all_gather(gs, g)
    assert torch.allclose(gs[0], gs[1]), gs  # gradients were averaged across ranks
    import sys
    # one write per line: the two ranks share the pipe, and print() writes its pieces separately
    sys.stdout.write(f'RANK {get_rank()} OK {torch.distributed.get_backend()}\\n')
    sys.stdout.flush()
    # leave together: a rank that exits while the other still talks to it aborts in gloo
    del model  # DDP's reducer first, then the process group it uses
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
''')


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path')
def run_two_ranks(script_text: str, path) -> str:
    """``script_text`` run by torchrun as two CPU ranks; their stdout (the run must succeed)."""
    path.write_text(script_text)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    out = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         f'--master_port={free_port()}', str(path)],
        capture_output=True, text=True, timeout=240, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out.stdout


def test_cpu_ddp_with_two_processes(tmp_path):
    assert run_two_ranks(DDP_SCRIPT, tmp_path / 'ddp.py').count('OK gloo') == 2


EXIT_SCRIPT = textwrap.dedent('''
    import atexit, sys, torch
    import torch.distributed as dist
    # registered before mer_clip's handler, so it runs after it (atexit runs handlers in reverse)
    atexit.register(lambda: sys.stdout.write(
        f'RANK {RANK} AT EXIT initialized={dist.is_initialized()}\\n'))
    import mer_clip  # noqa
    from mmengine.dist import init_dist, get_rank
    init_dist('pytorch', backend='gloo')  # what mmengine's Runner does, and never undoes
    RANK = get_rank()
    x = torch.ones(2)
    dist.all_reduce(x)
    assert x.tolist() == [2.0, 2.0]
''')


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path')
def test_process_group_is_destroyed_before_interpreter_exit(tmp_path):
    out = run_two_ranks(EXIT_SCRIPT, tmp_path / 'leave.py')
    for rank in (0, 1):
        assert f'RANK {rank} AT EXIT initialized=False' in out, out


def _gloo_threads():
    """Names of this process's native threads that gloo started (/proc/self/task/*/comm)."""
    names = []
    for tid in os.listdir('/proc/self/task'):
        try:
            with open(f'/proc/self/task/{tid}/comm') as f:
                names.append(f.read().strip())
        except OSError:  # the thread ended meanwhile
            pass
    return sorted(n for n in names if 'gloo' in n)


@pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason='reads /proc/self/task')
@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU (gloo) path')
def test_destroy_at_exit_stops_gloo_threads_a_reference_cycle_keeps(tmp_path):
    """The teardown abort: a DDP model in a reference cycle (as mmengine's Runner leaves it) kept
    gloo's threads running after ``destroy_process_group``; the handler frees it and joins them."""
    import gc
    from torch.nn.parallel import DistributedDataParallel
    dist = torch.distributed
    assert not dist.is_initialized() and _gloo_threads() == []
    gc.disable()  # the cycle stays until the handler collects it, as at a rank's exit
    try:
        dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
                                world_size=1)
        model = DistributedDataParallel(torch.nn.Linear(2, 1))
        model(torch.ones(3, 2)).sum().backward()
        cycle = {'model': model}
        cycle['self'] = cycle
        del model, cycle
        assert _gloo_threads(), 'gloo started no threads: nothing is checked'
        assert compat.destroy_process_group_at_exit() is True
        assert not dist.is_initialized()
        deadline = time.monotonic() + 10  # a joined thread leaves /proc a moment later
        while _gloo_threads() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gloo_threads() == []
    finally:
        gc.enable()
        if dist.is_initialized():
            dist.destroy_process_group()


def test_destroy_at_exit_without_a_process_group_is_a_no_op():
    assert not torch.distributed.is_initialized()
    assert compat.destroy_process_group_at_exit() is False


def test_mmengine_checkpoint_io_goes_through_mer_clip_reader_and_writer(tmp_path, monkeypatch):
    """Item 5: Runner.load_checkpoint / resume / save_checkpoint use mer_clip.checkpoint (details
    in tests/test_checkpoint.py)."""
    from mmengine.runner import checkpoint as mm_ckpt
    from mmengine.runner import runner as mm_runner
    from mer_clip.compat import load_from_mer_clip_reader
    assert compat.patch_mmengine_checkpoint_io() is False  # applied once, by import mer_clip
    assert mm_ckpt.CheckpointLoader._get_checkpoint_loader('/x/epoch_1.pth') is \
        load_from_mer_clip_reader
    assert getattr(mm_runner.save_checkpoint, '_mer_clip_patched', False)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': _Foreign()}, path)
    with pytest.raises(Exception, match='refused for safety'):
        mm_ckpt._load_checkpoint(path)


def _cut_with_eoi():
    """A JPEG cut at 60 % with an EOI appended: libjpeg warns, OpenCV returns an image anyway."""
    import cv2
    img = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    data = cv2.imencode('.jpg', img)[1].tobytes()
    return data, data[:int(len(data) * 0.6)] + b'\xff\xd9'


def test_imdecode_reports_libjpeg_warnings_and_gives_stderr_back(capfd):
    import cv2
    good, bad = _cut_with_eoi()
    assert cv2.imdecode(np.frombuffer(bad, np.uint8), cv2.IMREAD_COLOR) is not None  # the gap
    assert 'premature end of data segment' in capfd.readouterr().err  # ... only on stderr
    sys.stderr.write('pending python text')  # not flushed yet: must not be taken for a warning
    img, text = compat.imdecode_reporting_warnings(good, cv2.IMREAD_COLOR)
    assert img.shape == (64, 64, 3) and text == ''
    img, text = compat.imdecode_reporting_warnings(bad, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    assert img.shape == (8, 8) and text == 'Corrupt JPEG data: premature end of data segment'
    os.write(2, b'after\n')  # fd 2 is the real stderr again
    assert capfd.readouterr().err == 'pending python textafter\n'


def test_imdecode_warnings_in_threads_and_forked_children():
    """fd 2 is process-wide: threads take turns (each gets its own decode's text), and a forked
    child (a DataLoader worker) uses its own capture file, not the parent's."""
    import cv2
    from concurrent.futures import ThreadPoolExecutor
    good, bad = _cut_with_eoi()
    compat.imdecode_reporting_warnings(good, cv2.IMREAD_COLOR)  # the parent's capture file exists

    def decode(k):
        return bool(compat.imdecode_reporting_warnings(bad if k % 2 else good,
                                                       cv2.IMREAD_COLOR)[1])

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(decode, range(40))) == [bool(k % 2) for k in range(40)]
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        ok = decode(1) and not decode(0) and os.getpid() in compat._SINKS
        os._exit(0 if ok and len(compat._SINKS) == 1 else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert decode(1) and not decode(0)


def test_the_mmengine_loader_remembers_which_file_it_read(tmp_path):
    """Item 5: mmengine's after_load_checkpoint hooks get the checkpoint object only; the loader
    names its file (the load check's line and errors need it, e.g. for an automatic resume)."""
    from mer_clip.checkpoint import save_checkpoint
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'state_dict': {'w': torch.ones(1)}}, path)
    checkpoint = compat.load_from_mer_clip_reader(path)
    assert compat.checkpoint_source(checkpoint) == path
    assert compat.checkpoint_source(dict(checkpoint)) is None  # another object: not guessed
