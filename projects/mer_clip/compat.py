"""Workarounds for the pinned OpenMMLab stack, all in one place.

``import mer_clip`` calls :func:`apply` before anything else, so every entry point (tools, tests, a
user's config with ``custom_imports=dict(imports=['mer_clip'])``) sees the same fixed stack. Nothing in
site-packages is edited; each patch is idempotent, says why it exists and when it can go.

1. ``mmaction.models.localizers.drn`` is missing from the PyPI mmaction2 1.2.0 wheel, so
   ``import mmaction.models`` fails. We register a placeholder module whose ``DRN`` raises a clear
   error when used. Remove when mmaction2 ships a wheel with the package (> 1.2.0).
2. torch >= 2.6 loads checkpoints with ``weights_only=True``; mmengine 0.10.7 pickles a few of its own
   and numpy's objects into checkpoints (message hub ``HistoryBuffer``, numpy arrays/scalars), so
   ``resume=True`` fails. We allow-list exactly those globals with
   ``torch.serialization.add_safe_globals`` and keep ``weights_only=True`` (no arbitrary code from a
   checkpoint). ``HistoryBuffer.__getstate__`` also pickles its statistics *functions*
   (``getattr(HistoryBuffer, 'mean')``), which would need ``getattr`` allow-listed; those functions
   live on the class anyway (``__setstate__`` restores them), so we stop writing them instead.
   Checkpoints written without this patch (by mmengine without mer_clip, or loaded and saved
   again by plain torch, zip or old format) still hold ``getattr(HistoryBuffer, 'mean')``; the
   reader (:mod:`mer_clip.checkpoint`) lets such a file call :func:`history_buffer_getattr`
   instead of ``getattr``, which returns exactly those four functions and refuses anything else.
   Remove when mmengine registers its safe globals itself.
3. mmengine's ``pytorch`` launcher calls ``torch.cuda.set_device`` and its runner wraps the model in DDP
   with ``device_ids=[LOCAL_RANK]``, both of which fail on a machine without GPUs. On such a machine we
   initialise the process group with ``gloo`` and wrap CPU modules without ``device_ids``; on GPUs
   nothing changes (NCCL, one device per rank). Remove when mmengine supports CPU DDP.
4. mmcv-lite has no compiled ops, so importing mmaction's models warns on every run that
   ``MultiScaleDeformableAttention`` is unavailable; no MER component uses it, so that one warning is
   silenced (only that message). Remove together with the move to full mmcv.
5. mmengine 0.10.7 reads checkpoints with a bare ``torch.load(filename)`` (``Runner.load_checkpoint``
   and ``Runner.resume`` via ``_load_checkpoint`` -> ``CheckpointLoader``), so a user's
   ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` makes ``tools/test.py`` and ``--resume`` unpickle whatever a
   file holds, and it writes checkpoints in place (a kill mid-write leaves a cut-off file) with no
   record of their content. Through mmengine's own extension point
   (``CheckpointLoader.register_scheme(..., force=True)``) local and http(s) checkpoints are read by
   :func:`mer_clip.checkpoint.read_checkpoint` instead (weights-only, allow-listed, integrity
   checked), and ``mmengine.runner.runner.save_checkpoint`` (the name ``Runner.save_checkpoint``
   calls) is wrapped to write local files atomically with a sha256 sidecar. The loader remembers
   which file it read (:func:`checkpoint_source`): mmengine's ``after_load_checkpoint`` hooks get
   the checkpoint object only, and the load check (:mod:`mer_clip.engine.checkpoint_fit`) names
   the file. Keep while mmengine loads without ``weights_only=True`` and writes checkpoints in
   place.
6. mmengine's Runner initialises the process group (``launcher='pytorch'``, slurm, mpi) and never
   destroys it. At interpreter exit gloo's worker threads are then torn down with the interpreter,
   which now and then aborts a finished run (SIGABRT, ``terminate called without an active
   exception``; pytorch/pytorch#190489): a 2-process CPU training that had saved its last checkpoint
   and validated failed CI this way, once (it rarely happens: not in 6 reruns here). An ``atexit``
   handler destroys the process group while the interpreter is still whole. Destroying it is not
   enough: the Runner leaves its DDP model in a reference cycle that only the garbage collector
   frees, and the model's reducer keeps the gloo backend and its threads (``gloo_tcp_loop``,
   ``pt_gloo_runloop``) alive, into the C++ teardown; so the handler also collects the cycles,
   which destroys the backend and joins its threads. Remove when torch or mmengine does it.
7. OpenCV's ``cv2.imdecode`` (5.1) never reports libjpeg's warnings: "Premature end of JPEG file",
   "Corrupt JPEG data: premature end of data segment" (a cut-off frame with an EOI after the cut),
   "... bad Huffman code" go to the C-level stderr and the damaged image is returned as if whole
   (Pillow ignores them as well). :func:`imdecode_reporting_warnings` decodes with file
   descriptor 2 pointed at a per-process temporary file and returns what the decoder printed.
   It is not a patch (nothing changes for other callers); threads decode through it one at a time
   (text that another thread writes to fd 2 meanwhile would count as the decoder's: a false
   refusal that shows the text, never a silent pass). Remove when OpenCV reports decoder warnings.
"""
import atexit
import gc
import importlib.util
import logging
import os
import sys
import tempfile
import threading
import types
import warnings

# The stack (torch, mmengine, mmaction, and this package's modules that import them) is imported
# inside each patch: the patches must run, in order, before the parts they fix are first imported.

_APPLIED = False


# --------------------------------------------------------------------------------------------------
# 1. the missing DRN localizer
# --------------------------------------------------------------------------------------------------
def patch_missing_drn() -> bool:
    """Register a placeholder ``mmaction.models.localizers.drn`` if the wheel lacks it.

    Returns True when the placeholder was installed, False when the real package exists.
    """
    name = 'mmaction.models.localizers.drn'
    if name in sys.modules:
        return False
    # find_spec(name) would import the broken parent package, so look at the files instead.
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return False  # mmaction itself missing: nothing to patch
    root = list(spec.submodule_search_locations)[0]
    if os.path.isdir(os.path.join(root, 'models', 'localizers', 'drn')):
        return False

    class DRN:  # noqa: D401 - placeholder with the real name, so the import line succeeds
        """Placeholder: the PyPI mmaction2 1.2.0 wheel does not contain the DRN localizer."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'mmaction.models.localizers.drn is missing from the PyPI mmaction2 1.2.0 wheel; '
                'mer_clip registered this placeholder so that `import mmaction.models` works. '
                'Install mmaction2 from source to use DRN.')

    pkg = types.ModuleType(name)
    pkg.__path__ = []  # a package, so `from .drn.drn import DRN` resolves the submodule
    pkg.__doc__ = 'Placeholder installed by mer_clip.compat (missing from the PyPI wheel).'
    sub = types.ModuleType(name + '.drn')
    sub.DRN = DRN
    pkg.drn = sub
    pkg.DRN = DRN
    sys.modules[name] = pkg
    sys.modules[name + '.drn'] = sub
    return True


# --------------------------------------------------------------------------------------------------
# 2. safe globals for mmengine checkpoints under weights_only=True
# --------------------------------------------------------------------------------------------------
def mmengine_checkpoint_globals() -> list:
    """The non-tensor globals that mmengine 0.10.7 writes into a training checkpoint.

    ``message_hub`` holds :class:`HistoryBuffer` objects whose logs are numpy arrays, and scalars
    logged as numpy scalars; reconstructing those needs numpy's array/scalar reconstructors and the
    dtype classes. Nothing here can execute code beyond building these containers.
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer

    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = {type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
        np.uint64, np.float16, np.float32, np.float64, np.complex64, np.complex128)}
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype, *sorted(
        dtype_classes, key=lambda c: c.__name__)]


#: the statistics functions mmengine's own ``HistoryBuffer.__getstate__`` pickles
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj, name):
    """``getattr`` as an mmengine checkpoint written without item 2's patch calls it while it is
    unpickled: ``getattr(HistoryBuffer, 'min' | 'max' | 'current' | 'mean')`` (pickle protocol 2
    writes a method as ``getattr(its class, its name)``). Returns that plain function (nothing is
    called); any other use raises ``pickle.UnpicklingError``: a file that reaches anything else
    through ``getattr`` (``os.system`` by way of a module's globals, ...) is refused."""
    import inspect
    import pickle

    from mmengine.logging import HistoryBuffer

    if obj is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS and \
            inspect.isfunction(vars(HistoryBuffer).get(name)):
        return vars(HistoryBuffer)[name]
    what = obj.__qualname__ if isinstance(obj, type) else f'a {type(obj).__name__}'
    raise pickle.UnpicklingError(
        f'refused getattr({what}, {name!r}): a checkpoint may use getattr only for '
        f'HistoryBuffer.{"/".join(HISTORY_BUFFER_STATISTICS)} (mmengine\'s message hub)')


def patch_checkpoint_safe_globals() -> bool:
    import torch
    from mmengine.logging import HistoryBuffer

    if not getattr(HistoryBuffer.__getstate__, '_mer_clip_patched', False):

        def __getstate__(self) -> dict:
            # the statistics methods are class attributes, re-set by __setstate__: not state
            state = dict(self.__dict__)
            state.pop('statistics_methods', None)
            state.pop('_statistics_methods', None)
            return state

        __getstate__._mer_clip_patched = True
        HistoryBuffer.__getstate__ = __getstate__
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 has no weights_only default to satisfy
        return False
    add(mmengine_checkpoint_globals())
    return True


# --------------------------------------------------------------------------------------------------
# 3. DDP on CPU with gloo
# --------------------------------------------------------------------------------------------------
def patch_cpu_ddp() -> bool:
    """Make mmengine's pytorch launcher and DDP wrapper work on machines without CUDA."""
    import torch
    from mmengine.dist import utils as dist_utils
    from mmengine.model.wrappers import distributed as ddp_mod

    if getattr(dist_utils._init_dist_pytorch, '_mer_clip_patched', False):
        return False
    orig_init = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return orig_init(backend, init_backend=init_backend, **kwargs)
        import torch.distributed as torch_dist
        if backend != 'gloo':
            logging.getLogger('mer_clip').warning(
                'No CUDA device: using the gloo backend instead of %r for DDP on CPU.', backend)
        torch_dist.init_process_group(backend='gloo', **kwargs)

    _init_dist_pytorch._mer_clip_patched = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch

    ddp_cls = ddp_mod.MMDistributedDataParallel
    orig_ddp_init = ddp_cls.__init__

    def __init__(self, module, detect_anomalous_params=False, **kwargs):
        params = list(module.parameters())
        if kwargs.get('device_ids') and params and all(p.device.type == 'cpu' for p in params):
            # DDP refuses device_ids for CPU modules; the runner passes [LOCAL_RANK] regardless.
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        orig_ddp_init(self, module=module, detect_anomalous_params=detect_anomalous_params,
                      **kwargs)

    ddp_cls.__init__ = __init__
    return True


# --------------------------------------------------------------------------------------------------
# 5. mmengine's checkpoint loading and saving through mer_clip.checkpoint
# --------------------------------------------------------------------------------------------------
_LAST_READ: dict = {}  # id of the object last read -> its file (mmengine does not pass it on)


def load_from_mer_clip_reader(filename: str, map_location=None):
    """mmengine ``CheckpointLoader`` backend for local files and http(s) URLs:
    :func:`mer_clip.checkpoint.read_checkpoint` (safe unpickling, integrity check, clear errors)."""
    from .checkpoint import read_checkpoint, resolve_url
    path = resolve_url(filename)
    checkpoint = read_checkpoint(path, map_location=map_location)
    _LAST_READ.clear()
    _LAST_READ[id(checkpoint)] = path
    return checkpoint


def checkpoint_source(checkpoint) -> str:
    """The file mmengine's Runner read ``checkpoint`` from through this loader (its
    ``after_load_checkpoint`` hooks get the object only), or None. Only the last read object is
    remembered, by identity, while the caller holds it."""
    return _LAST_READ.get(id(checkpoint))


def save_for_mmengine(orig_save):
    """Wrap mmengine's ``save_checkpoint``: local files are written by
    :func:`mer_clip.checkpoint.save_checkpoint` (atomic, with the sha256 sidecar); other backends
    (pavi, s3, ...) by mmengine itself."""
    from .checkpoint import save_checkpoint

    def save(checkpoint, filename, file_client_args=None, backend_args=None):
        local = '://' not in str(filename) and not str(filename).startswith('pavi:')
        backend = (backend_args or {}).get('backend')
        if local and file_client_args is None and backend in (None, 'local'):
            return save_checkpoint(checkpoint, str(filename))
        return orig_save(checkpoint, filename, file_client_args=file_client_args,
                         backend_args=backend_args)

    save._mer_clip_patched = True
    save.__wrapped__ = orig_save
    return save


def patch_mmengine_checkpoint_io() -> bool:
    """Route mmengine's checkpoint loading (local, http, https) and saving (local) through
    :mod:`mer_clip.checkpoint`. Idempotent; returns True when it changed something."""
    from mmengine.runner import checkpoint as mm_ckpt
    from mmengine.runner import runner as mm_runner

    changed = False
    loader = mm_ckpt.CheckpointLoader
    for prefix in ('', 'http://', 'https://'):
        if loader._schemes.get(prefix) is not load_from_mer_clip_reader:
            loader.register_scheme(prefixes=prefix, loader=load_from_mer_clip_reader, force=True)
            changed = True
    if not getattr(mm_runner.save_checkpoint, '_mer_clip_patched', False):
        mm_runner.save_checkpoint = save_for_mmengine(mm_runner.save_checkpoint)
        changed = True
    return changed


# --------------------------------------------------------------------------------------------------
# 6. the process group destroyed before interpreter exit
# --------------------------------------------------------------------------------------------------
def destroy_process_group_at_exit() -> bool:
    """``atexit`` handler: destroy the default process group if one is still initialised, then
    free what still holds its backend.

    ``destroy_process_group`` only unregisters the group: a DDP model in a reference cycle (as
    mmengine's Runner leaves it) keeps the backend, whose threads then outlive the interpreter
    (the teardown abort). ``gc.collect()`` frees such cycles now, which joins those threads.
    Returns True when it destroyed a group. Local to this process (no collective), so a rank that
    exits on an error does not wait for the others."""
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return False
    try:
        dist.destroy_process_group()
    except Exception as err:  # exiting anyway: say so, do not mask the run's own exit status
        logging.getLogger('mer_clip').warning('could not destroy the process group at exit: %s',
                                              err)
        return False
    gc.collect()
    return True


# --------------------------------------------------------------------------------------------------
# 7. libjpeg's warnings, which cv2.imdecode prints to stderr and never reports
# --------------------------------------------------------------------------------------------------
_STDERR_LOCK = threading.Lock()
_SINKS: dict = {}  # pid -> the temporary file that receives fd 2 while decoding


def _reset_stderr_capture() -> None:
    """After a fork: a fresh lock (another thread may have held it) and no inherited sink (a file
    offset shared with the parent process)."""
    global _STDERR_LOCK
    _STDERR_LOCK = threading.Lock()
    _SINKS.clear()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_reset_stderr_capture)


def imdecode_reporting_warnings(data: bytes, flags: int):
    """``(cv2.imdecode(data, flags), text)``: ``text`` is what the decoder printed to stderr
    (libjpeg's warnings; ``''`` when none). Threads are serialised: fd 2 is process-wide."""
    import cv2
    import numpy as np
    buf = np.frombuffer(data, np.uint8)
    with _STDERR_LOCK:
        sink = _SINKS.get(os.getpid())
        if sink is None:  # kept empty, its offset at 0, between calls
            sink = _SINKS[os.getpid()] = tempfile.TemporaryFile()
        fd = sink.fileno()
        if sys.stderr is not None:
            sys.stderr.flush()  # Python's pending text goes to the real stderr
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 (a daemon): close it again afterwards
            saved = None
        os.dup2(fd, 2)
        try:
            img = cv2.imdecode(buf, flags)
        finally:
            if saved is None:
                os.close(2)
            else:
                os.dup2(saved, 2)
                os.close(saved)
            text = b''
            size = os.lseek(fd, 0, os.SEEK_CUR)  # bytes written; emptied only then (ftruncate
            if size:                              # costs ~10 us, the rest ~3 us)
                os.lseek(fd, 0, os.SEEK_SET)
                text = os.read(fd, size)
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
    return img, text.decode('utf-8', 'replace').strip()


def apply() -> None:
    """Apply every workaround once (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    patch_missing_drn()
    patch_checkpoint_safe_globals()
    patch_cpu_ddp()
    patch_mmengine_checkpoint_io()
    atexit.register(destroy_process_group_at_exit)
    _APPLIED = True
