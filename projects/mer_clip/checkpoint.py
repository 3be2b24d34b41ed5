"""One checkpoint reader (and writer) for every loading path of mer_clip.

Every checkpoint the project reads goes through :func:`read_checkpoint`: the model-zoo loader
(:func:`mer_clip.apis.load_checkpoint_safe`, used by inference and ``tools/demo.py``), the
backbone's and the text encoder's pretrained weights (:func:`read_state_dict`), and mmengine's
Runner (``tools/test.py``, ``tools/train.py --resume``, the folds of ``tools/loso.py``), whose local
and http(s) checkpoint loaders :mod:`mer_clip.compat` (item 5) replaces with this reader; it also
routes mmengine's writer through :func:`save_checkpoint`. :mod:`mer_clip.engine.resume` resumes a
run only from a checkpoint that :func:`verify_checkpoint` finds complete.

What reading guarantees, whatever ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` says:

- **Safe unpickling.** ``torch.load(weights_only=True)`` is always passed explicitly (torch lets the
  variable override only an *unset* ``weights_only``), after a static scan of the pickle (zip and
  old format) that refuses any global outside torch's allow-list and the mmengine / numpy objects
  that :mod:`mer_clip.compat` allow-lists (:class:`UnsafeCheckpointError`, listing them). Nothing
  from the file runs. One exception, in one form: mmengine's message hub in a checkpoint written
  without mer_clip holds ``getattr(HistoryBuffer, 'mean')``; such a file may call
  :func:`mer_clip.compat.history_buffer_getattr`, which allows exactly that. A refusal never
  suggests loading the file in full (``publish_model.py --trust-input``): that would run it.
- **Formats.** ``torch.save`` zip files, old (pre-1.6, non-zip) ``torch.save`` files (read by the
  same weights-only unpickler), ``.safetensors``, and TorchScript archives such as OpenAI's CLIP
  ``ViT-B-16.pt`` (their ``state_dict()``; no TorchScript code is run).
- **Integrity.** :func:`save_checkpoint` writes a file atomically and its sha256 into
  ``<file>.sha256`` (``sha256sum`` format). Reading checks that sidecar, or the hash prefix of a
  model-zoo name (``name-1a2b3c4d.pth``), or, failing both, the CRC-32 of every record of a zip
  (torch itself reads a flipped byte silently). :func:`verify_checkpoint`.
- **State dicts.** :func:`read_state_dict` unwraps ``state_dict`` / ``model_state`` / ``model`` /
  ``module`` nesting, strips DDP's ``module.`` when every key carries it, and selects a key
  ``prefix`` on request.
- **Errors.** One family, :class:`CheckpointError` (a ``RuntimeError``); every message starts with
  the file and, where keys matter, shows some of them.
"""
import contextlib
import glob
import hashlib
import io
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Dict, Iterable, Optional

import torch

SIDECAR_SUFFIX = '.sha256'
_HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.(?:pth|pt|bin|safetensors)$')
#: keys under which checkpoints nest their state dict (mmengine, other trainers, DDP wrappers)
NESTED_KEYS = ('state_dict', 'model_state', 'model', 'module')


# ------------------------------------------------------------------------------------------ errors
class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used; the message names the file and what to do."""

    def __str__(self) -> str:  # KeyError subclasses would otherwise print the message quoted
        return str(self.args[0]) if self.args else ''


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The file does not exist."""


class CheckpointFormatError(CheckpointError):
    """The file is not a readable checkpoint (truncated, damaged, another format)."""


class CheckpointIntegrityError(CheckpointError):
    """The file's content does not match the hash written when it was saved or published."""


class UnsafeCheckpointError(CheckpointError):
    """The checkpoint carries pickled objects that are not weights; refused for safety."""


class CheckpointKeyError(CheckpointError, KeyError):
    """The checkpoint holds no state dict, or not the keys (prefix) asked for."""


class CheckpointMismatchError(CheckpointError):
    """A state dict that does not fit the model it is loaded into (keys, shapes)."""


def few_keys(keys: Iterable, n: int = 6) -> str:
    """``'a', 'b', ... (N in all)``: a short view of a checkpoint's keys for error messages."""
    keys = list(keys.keys()) if isinstance(keys, dict) else list(keys)
    more = f', ... ({len(keys)} in all)' if len(keys) > n else ''
    return ', '.join(repr(k) for k in keys[:n]) + more


# --------------------------------------------------------------------------------------- integrity
def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def sidecar_path(path: str) -> str:
    return path + SIDECAR_SUFFIX


def hash_in_name(path: str) -> Optional[str]:
    """The hex digest prefix of an OpenMMLab model-zoo name (``name-1a2b3c4d.pth``), or None."""
    m = _HASH_IN_NAME.search(osp.basename(path))
    return m.group(1) if m else None


def read_checksum(path: str) -> Optional[str]:
    """The sha256 recorded in ``<path>.sha256`` at save time, or None when there is none."""
    side = sidecar_path(path)
    if not osp.isfile(side):
        return None
    with open(side) as f:
        text = f.read().split()
    if not text or not re.fullmatch(r'[0-9a-f]{64}', text[0]):
        raise CheckpointIntegrityError(f'{side}: not a sha256 checksum file; delete it (the '
                                       f'checkpoint {path} is then checked by its zip CRCs)')
    return text[0]


def write_checksum(path: str, digest: Optional[str] = None) -> str:
    """Write ``<path>.sha256`` (``sha256sum -c`` format) atomically; returns the digest."""
    digest = digest or sha256_of(path)
    side = sidecar_path(path)
    tmp = f'{side}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(f'{digest}  {osp.basename(path)}\n')
    os.replace(tmp, side)
    return digest


def _is_zip(path: str) -> bool:
    with open(path, 'rb') as f:
        return f.read(4) == b'PK\x03\x04'


def verify_checkpoint(path: str) -> str:
    """Check a checkpoint file's content; returns how it was checked, raises when it is damaged.

    ``'sha256'``: against the ``.sha256`` sidecar written at save time. ``'name'``: against the
    hash prefix in a model-zoo file name. ``'crc32'``: every record of a zip checkpoint against
    its CRC-32 (and the central directory, which a file cut off while being written lacks).
    ``'unverified'``: an old-format or safetensors file without a recorded hash.
    """
    if not osp.isfile(path):
        raise CheckpointNotFoundError(f'{path}: checkpoint file not found')
    expected = read_checksum(path)
    if expected is not None:
        actual = sha256_of(path)
        if actual != expected:
            raise CheckpointIntegrityError(
                f'{path}: sha256 {actual[:16]}... differs from {expected[:16]}... recorded in '
                f'{osp.basename(sidecar_path(path))} when it was saved; the file was cut off, '
                'damaged or changed afterwards. Delete it (training resumes from an earlier '
                'checkpoint) or restore it.')
        return 'sha256'
    expected = hash_in_name(path)
    if expected is not None:
        actual = sha256_of(path)
        if not actual.startswith(expected):
            raise CheckpointIntegrityError(
                f'{path}: sha256 {actual[:len(expected)]}... does not match {expected} in its '
                'name; the file is corrupted, truncated or was changed after publishing. Download '
                'it again (or re-publish it with tools/publish_model.py).')
        return 'name'
    if _is_zip(path):
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise CheckpointFormatError(
                f'{path}: not a complete checkpoint ({e}); it was probably cut off while being '
                'written. Delete it and save / download it again.') from None
        if bad is not None:
            raise CheckpointIntegrityError(
                f'{path}: record {bad!r} fails its CRC-32 check; the file is damaged. Delete it '
                'and save / download it again.')
        return 'crc32'
    return 'unverified'


def is_complete_checkpoint(path: str) -> bool:
    """True when ``path`` exists and :func:`verify_checkpoint` finds nothing wrong."""
    try:
        verify_checkpoint(path)
        return True
    except CheckpointError:
        return False


# ----------------------------------------------------------------------------------------- reading
#: ``getattr`` as a pickle names it: allowed only as :func:`mer_clip.compat.history_buffer_getattr`
GETATTR = 'builtins.getattr'
#: plain-data classes of other trainers' settings: refused by the reader, but
#: ``tools/publish_model.py`` reads them (``allow_plain_data``, still weights-only) into plain meta
PLAIN_DATA_CLASSES = ('argparse.Namespace', 'mmengine.config.config.ConfigDict')


def plain_data_classes() -> list:
    """The classes named in :data:`PLAIN_DATA_CLASSES`."""
    import argparse

    from mmengine.config import ConfigDict
    return [argparse.Namespace, ConfigDict]


def unsafe_globals(path: str) -> list:
    """Globals in a checkpoint's pickle that ``weights_only=True`` would not allow.

    A static scan (nothing is unpickled) of zip and old-format files; torch's allow-list plus what
    was added with ``torch.serialization.add_safe_globals`` (mer_clip.compat adds mmengine's
    message-hub objects). ``[]`` also when the file cannot be scanned (see :func:`scan_globals`).
    """
    return scan_globals(path) or []


def scan_globals(path: str) -> Optional[list]:
    """:func:`unsafe_globals`, or None when the pickle cannot be scanned statically (damaged,
    pickle opcodes torch's scanner does not know): the weights-only unpickler then refuses
    whatever it does not allow as it meets it."""
    try:
        if _is_zip(path):
            get = getattr(torch.serialization, 'get_unsafe_globals_in_checkpoint', None)
            return None if get is None else sorted(get(path))
        return _old_format_unsafe_globals(path)
    except Exception:  # noqa: BLE001 - not scannable: left to the weights-only unpickler
        return None


class _HeaderUnpickler(pickle.Unpickler):
    """Numbers, strings and containers only: the header pickles of an old-format file."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f'a global ({module}.{name}) in an old-format header')


def _old_format_unsafe_globals(path: str) -> Optional[list]:
    """:func:`unsafe_globals` of an old (non-zip) ``torch.save`` file: its header (magic number,
    version, system info), then the object's pickle, scanned by torch's own scanner."""
    from torch import _weights_only_unpickler as wo  # the scanner and allow-list torch.load uses
    with open(path, 'rb') as f:
        header = [_HeaderUnpickler(f).load() for _ in range(3)]
        if header[0] != torch.serialization.MAGIC_NUMBER:
            return None
        found = wo.get_globals_in_pkl(f)
    return sorted(set(found) - set(wo._get_allowed_globals()) - set(wo._get_user_allowed_globals()))


def _refuse(path: str, found, republish: bool, detail: str = '') -> UnsafeCheckpointError:
    """The refusal of a file carrying pickled objects outside the allow-list: what they are and,
    only where that is safe, how to use the file anyway.

    ``tools/publish_model.py --trust-input`` is never suggested: it unpickles the file in full,
    which runs whatever it carries, and a static list of globals cannot show that harmless (the
    full unpickler also rebuilds allowed types from raw bytes and state the weights-only one
    refuses). Files whose only unknown globals are :data:`PLAIN_DATA_CLASSES` (``republish``) are
    re-published without it: publish_model.py reads them weights-only."""
    why = f' ({detail})' if detail else ''
    if republish:
        return UnsafeCheckpointError(
            f'{path} holds pickled objects outside the allow-list of the safe reader: {found}{why}'
            ": plain-data classes of a trainer's settings, not weights. It was refused for safety: "
            'the reader loads weights and plain data only. To use the file, re-publish it (read '
            'weights-only; the settings kept as plain meta, the training state dropped):\n'
            f'    python tools/publish_model.py {path} OUT_PREFIX\n'
            'then load the result.')
    return UnsafeCheckpointError(
        f'{path} references functions or classes outside the allow-list of the safe reader: '
        f'{found}{why}. Unpickling it would call them, which can run any code (a checkpoint of '
        'weights needs none of them), so it was refused for safety and nothing of it was run, '
        'whatever TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD says. Do not load it in any other way (not '
        'torch.load(weights_only=False), not tools/publish_model.py --trust-input): delete it and '
        'get the weights from their source again; if you made the file yourself, save the '
        'weights again from the code that trained them (torch.save(model.state_dict(), ...)).')


def _allowing(extra: list):
    """``torch.serialization.safe_globals(extra)`` (torch >= 2.5; older ones allow nothing more)."""
    allow = getattr(torch.serialization, 'safe_globals', None)
    return allow(extra) if allow is not None and extra else contextlib.nullcontext()


def _extra_safe_globals(found: Optional[list], allow_plain_data: bool) -> list:
    """What a load may rebuild beyond the allow-list: the message hub's ``getattr`` (only in the
    form :func:`mer_clip.compat.history_buffer_getattr` accepts) and, when asked, the
    :data:`PLAIN_DATA_CLASSES`."""
    from .compat import history_buffer_getattr
    extra = [(history_buffer_getattr, GETATTR)] if found and GETATTR in found else []
    return extra + (plain_data_classes() if allow_plain_data else [])


def _is_torchscript(path: str) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith('constants.pkl') or '/code/' in n for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _device_str(map_location) -> str:
    if isinstance(map_location, (str, torch.device)):
        return str(map_location)
    return 'cpu'


def read_checkpoint(path: str, map_location='cpu', verify: bool = True,
                    allow_plain_data: bool = False) -> Any:
    """The object stored in a checkpoint file, read safely (see the module docstring).

    Args:
        path: a local file (see :func:`resolve_url` for URLs).
        map_location: as in ``torch.load`` (device string, ``torch.device``, dict or callable).
        verify: check the content first (:func:`verify_checkpoint`).
        allow_plain_data: also rebuild :data:`PLAIN_DATA_CLASSES` (still weights-only), for
            ``tools/publish_model.py``, which turns them into plain meta.

    Returns:
        whatever was saved: usually a dict (an mmengine checkpoint: ``meta``, ``state_dict``,
        ``optimizer``, ...; or a state dict). A TorchScript archive gives its ``state_dict()``.

    Raises:
        CheckpointError: its subclasses say why (not found, format, integrity, unsafe).
    """
    path = osp.expanduser(str(path))
    if not osp.isfile(path):
        raise CheckpointNotFoundError(
            f'{path}: checkpoint file not found' + (' (a folder)' if osp.isdir(path) else ''))
    if verify:
        verify_checkpoint(path)
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file  # here: .safetensors files only
        try:
            return dict(load_file(path, device=_device_str(map_location)))
        except Exception as e:  # safetensors raises its own SafetensorError
            raise CheckpointFormatError(f'{path}: not a readable safetensors file ({e})') from e
    if _is_zip(path) and _is_torchscript(path):
        try:  # TorchScript: tensors and TorchScript code; the code is not run, only weights kept
            return torch.jit.load(path, map_location=map_location).state_dict()
        except Exception as e:  # noqa: BLE001 - re-raised with the file named
            raise CheckpointFormatError(f'{path}: a TorchScript archive that cannot be read '
                                        f'({e})') from e
    found = scan_globals(path)
    plain = set(PLAIN_DATA_CLASSES)
    blocking = [g for g in found or [] if g != GETATTR and not (allow_plain_data and g in plain)]
    if blocking:
        raise _refuse(path, found, republish=all(g in plain for g in blocking))
    try:
        with _allowing(_extra_safe_globals(found, allow_plain_data)):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        detail = _unpickler_detail(str(e))
        if 'refused getattr(' in detail:  # mer_clip.compat.history_buffer_getattr said no
            raise _refuse(path, [GETATTR], False, detail[detail.index('refused getattr('):]) \
                from None
        if 'GLOBAL' in detail or 'global' in detail:  # the weights-only unpickler refused one
            names = sorted(set(re.findall(r'GLOBAL ([\w.]+)', detail)))
            raise _refuse(path, names or detail, bool(names) and set(names) <= plain) from None
        raise _not_readable(path, e, detail) from None
    except Exception as e:  # noqa: BLE001 - torch's messages do not name the file
        raise _not_readable(path, e, _unpickler_detail(str(e))) from None


def _unpickler_detail(message: str) -> str:
    """The informative line(s) of torch's long weights-only message."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith(('Weights only load failed', 'Check the doc',
                                                     'Please file an issue'))]
    tail = [ln.split('WeightsUnpickler error:')[-1].strip() for ln in lines
            if 'WeightsUnpickler error:' in ln]
    return '; '.join([t for t in tail if t] + keep) or (lines[0] if lines else '')


def _not_readable(path: str, err: Exception, detail: str) -> CheckpointFormatError:
    return CheckpointFormatError(
        f'{path}: not a readable PyTorch checkpoint ({type(err).__name__}: {detail or err!r}). '
        'A file cut off while being written or downloaded looks like this: delete it and save / '
        'download it again.')


def unwrap_state_dict(obj: Any, source: str = 'checkpoint') -> Dict[str, torch.Tensor]:
    """The flat ``name -> tensor`` dict inside a checkpoint object.

    Unwraps up to three levels of :data:`NESTED_KEYS` nesting (a level is unwrapped while it holds
    no tensor), strips DDP's ``module.`` when every key carries it, and drops non-tensor values.
    """
    for _ in range(3):
        if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = next((obj[k] for k in NESTED_KEYS if isinstance(obj.get(k), dict)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, dict) or not any(isinstance(v, torch.Tensor) for v in obj.values()):
        what = f'top-level keys: {few_keys(obj)}' if isinstance(obj, dict) else \
            f'a {type(obj).__name__}'
        raise CheckpointKeyError(f'{source}: holds no state dict ({what}; looked under '
                                 f'{list(NESTED_KEYS)})')
    state = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return state


def read_state_dict(path: str, prefix: Optional[str] = None, map_location='cpu',
                    verify: bool = True) -> Dict[str, torch.Tensor]:
    """The state dict of any supported file; with ``prefix``, only its keys, prefix removed."""
    state = unwrap_state_dict(read_checkpoint(path, map_location, verify=verify), str(path))
    if prefix:
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not sub:
            raise CheckpointKeyError(f'{path}: no key starts with {prefix!r}; keys look like '
                                     f'{few_keys(sorted(state))}')
        state = sub
    return state


def resolve_url(path_or_url: str, model_dir: Optional[str] = None) -> str:
    """A local path for ``path_or_url``: http(s) files are downloaded once into torch.hub's
    checkpoint folder (or ``model_dir``); with several processes, local rank 0 downloads first."""
    if not re.match(r'^https?://', str(path_or_url)):
        return path_or_url
    hub_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(hub_dir, exist_ok=True)
    path = osp.join(hub_dir, osp.basename(path_or_url.split('?')[0]))
    dist = torch.distributed
    several = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    first = not several or int(os.environ.get('LOCAL_RANK', dist.get_rank())) == 0
    if first and not osp.exists(path):
        torch.hub.download_url_to_file(path_or_url, path, progress=True)
    if several:
        dist.barrier()
    return path


# ----------------------------------------------------------------------------------------- writing
def save_checkpoint(obj: Any, path: str) -> str:
    """``torch.save`` to ``path`` atomically (a kill leaves the old file or none, never a cut-off
    one) and record its sha256 in ``<path>.sha256``; returns the digest."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return write_bytes_with_checksum(buf.getvalue(), path)


def write_bytes_with_checksum(data: bytes, path: str) -> str:
    """Write a serialised checkpoint atomically and its sha256 sidecar; returns the digest."""
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    side = sidecar_path(path)
    if osp.exists(side):  # never leave an old hash next to new content
        os.remove(side)
    tmp = osp.join(dirname, f'.{osp.basename(path)}.tmp{os.getpid()}')
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)
    digest = hashlib.sha256(data).hexdigest()
    write_checksum(path, digest)
    for orphan in glob.glob(osp.join(glob.escape(dirname), '*' + SIDECAR_SUFFIX)):
        if not osp.exists(orphan[:-len(SIDECAR_SUFFIX)]):  # checkpoint removed (max_keep_ckpts)
            os.remove(orphan)
    return digest


def remove_checkpoint(path: str) -> None:
    """Delete a checkpoint and its checksum sidecar."""
    for p in (path, sidecar_path(path)):
        if osp.exists(p):
            os.remove(p)


__all__ = [
    'CheckpointError', 'CheckpointNotFoundError', 'CheckpointFormatError',
    'CheckpointIntegrityError', 'UnsafeCheckpointError', 'CheckpointKeyError',
    'CheckpointMismatchError', 'read_checkpoint', 'read_state_dict', 'unwrap_state_dict',
    'verify_checkpoint', 'is_complete_checkpoint', 'save_checkpoint', 'write_checksum',
    'read_checksum', 'sha256_of', 'hash_in_name', 'unsafe_globals', 'scan_globals', 'resolve_url',
    'remove_checkpoint', 'write_bytes_with_checksum', 'few_keys', 'PLAIN_DATA_CLASSES',
    'plain_data_classes'
]
