"""Model-zoo checkpoints: publish (weights + meta only, sha256 in the name) and load safely.

A checkpoint file is a pickle: loading it with ``weights_only=False`` runs whatever code its author
put in it. Published MER-CLIP checkpoints hold only tensors and plain meta (numbers, strings, lists,
dicts), so they load with ``torch.load(..., weights_only=True)``; anything else in the file is
refused before unpickling, with the list of offending globals.
"""
import hashlib
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

import torch

#: keys of an mmengine training checkpoint that a published model keeps
PUBLISHED_KEYS = ('meta', 'state_dict')
_HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.pth$')


class UnsafeCheckpointError(RuntimeError):
    """The checkpoint carries pickled objects that are not weights; refused for safety."""


class CheckpointHashError(RuntimeError):
    """The sha256 of the file does not match the one in its name."""


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def hash_in_name(path: str) -> Optional[str]:
    """The hex digest prefix of an OpenMMLab model-zoo name (``name-1a2b3c4d.pth``), or None."""
    m = _HASH_IN_NAME.search(osp.basename(path))
    return m.group(1) if m else None


def verify_hash(path: str) -> Optional[str]:
    """Check the sha256 prefix in the file name; returns it (None when the name has none)."""
    expected = hash_in_name(path)
    if expected is None:
        return None
    actual = sha256_of(path)
    if not actual.startswith(expected):
        raise CheckpointHashError(
            f'{path}: sha256 {actual[:len(expected)]}... does not match {expected} in its name; '
            'the file is corrupted, truncated or was changed after publishing. Download it again '
            '(or re-publish it with tools/publish_model.py).')
    return expected


def unsafe_globals(path: str) -> List[str]:
    """Globals in the checkpoint's pickle that ``weights_only=True`` would not allow."""
    get = getattr(torch.serialization, 'get_unsafe_globals_in_checkpoint', None)
    if get is None:  # torch < 2.5: rely on torch.load(weights_only=True) refusing them
        return []
    return sorted(get(path))


def _refuse(path: str, found) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(
        f'{path} carries pickled objects that are not weights: {found}. It was refused for safety: '
        'unpickling them could run arbitrary code. A published checkpoint holds only '
        "'state_dict' and plain 'meta'. If you trust the file's source, re-publish it with\n"
        f'    python tools/publish_model.py {path} OUT_PREFIX --trust-input\n'
        'which drops everything but the weights and plain meta, then load the result.')


def load_checkpoint_safe(path_or_url: str,
                         map_location='cpu',
                         model: Optional[torch.nn.Module] = None,
                         strict: bool = True,
                         check_hash: bool = True,
                         model_dir: Optional[str] = None) -> Dict:
    """Load a (published) checkpoint with ``weights_only=True``, optionally into ``model``.

    Args:
        path_or_url: a file, or an http(s) URL (downloaded once into torch.hub's checkpoint folder
            or ``model_dir``).
        map_location: as in ``torch.load``.
        model: if given, its ``state_dict`` is loaded (``strict``) and ``model.dataset_meta`` set
            from ``meta['dataset_meta']`` when present.
        check_hash: verify the sha256 prefix of a ``name-<hash>.pth`` file name.

    Raises:
        UnsafeCheckpointError: the file holds pickled objects besides tensors and plain containers.
        CheckpointHashError: the file does not match the hash in its name.
    """
    path = path_or_url
    if re.match(r'^https?://', path_or_url):
        hub_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
        os.makedirs(hub_dir, exist_ok=True)
        path = osp.join(hub_dir, osp.basename(path_or_url.split('?')[0]))
        if not osp.exists(path):
            torch.hub.download_url_to_file(path_or_url, path, progress=True)
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    if check_hash:
        verify_hash(path)
    found = unsafe_globals(path)
    if found:
        raise _refuse(path, found)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # the weights-only unpickler names what it refused
        if 'weights_only' in str(e) or 'Unsupported global' in str(e):
            raise _refuse(path, str(e).splitlines()[0]) from e
        raise
    if model is not None:
        state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
        if not isinstance(state, dict):
            raise ValueError(f'{path} holds no state_dict')
        state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
        model.load_state_dict(state, strict=strict)
        meta = checkpoint.get('meta') or {}
        if meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
    return checkpoint


def _plain(obj, where: str = 'meta'):
    """``obj`` with numpy scalars / arrays turned into Python numbers / lists, tuples kept; anything
    that is not plain data raises (it would not load under weights_only=True)."""
    import numpy as np
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        out = [_plain(v, f'{where}[{i}]') for i, v in enumerate(obj)]
        return out if isinstance(obj, list) else tuple(out)
    if isinstance(obj, dict):
        return {k: _plain(v, f'{where}.{k}') for k, v in obj.items()}
    raise TypeError(f'{where} is a {type(obj).__module__}.{type(obj).__qualname__}, not plain data')


def publish_checkpoint(in_file: str, out_prefix: str, trust_input: bool = False) -> Tuple[str, str]:
    """Write ``<out_prefix>-<sha256[:8]>.pth`` with only ``meta`` (plain data) and ``state_dict``.

    Drops the optimizer, param schedulers, message hub and RNG states (training state, and the
    objects ``weights_only`` loading would refuse). ``trust_input`` loads ``in_file`` with
    ``weights_only=False`` (only for files you made or trust). Returns (path, full sha256).
    """
    if trust_input:
        checkpoint = torch.load(in_file, map_location='cpu', weights_only=False)
    else:
        import mer_clip  # noqa: F401  (allow-lists mmengine's message-hub objects)
        found = unsafe_globals(in_file)
        if found:
            raise _refuse(in_file, found)
        checkpoint = torch.load(in_file, map_location='cpu', weights_only=True)
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{in_file} is not an mmengine checkpoint (no state_dict)')
    published = {'meta': _plain(checkpoint.get('meta') or {}),
                 'state_dict': {k: v.detach().cpu() for k, v in checkpoint['state_dict'].items()}}
    out_prefix = out_prefix[:-4] if out_prefix.endswith('.pth') else out_prefix
    if osp.dirname(out_prefix):
        os.makedirs(osp.dirname(out_prefix), exist_ok=True)
    tmp = out_prefix + '.tmp.pth'
    torch.save(published, tmp)
    digest = sha256_of(tmp)
    final = f'{out_prefix}-{digest[:8]}.pth'
    os.replace(tmp, final)
    return final, digest
