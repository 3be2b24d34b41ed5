"""Model-zoo checkpoints: publish (weights + meta only, sha256 in the name) and load safely.

A checkpoint file is a pickle: loading it with ``weights_only=False`` runs whatever code its author
put in it. Published MER-CLIP checkpoints hold only tensors and plain meta (numbers, strings, lists,
dicts), so they load with ``torch.load(..., weights_only=True)``; anything else in the file is
refused before unpickling, with the list of offending globals. Reading is
:func:`mer_clip.checkpoint.read_checkpoint`, the reader every loading path of the project uses.
"""
import argparse
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from ..checkpoint import (CheckpointError, CheckpointIntegrityError,  # noqa: F401  (re-exported)
                          CheckpointFormatError, CheckpointMismatchError, UnsafeCheckpointError,
                          few_keys, read_checkpoint, resolve_url, sha256_of, unwrap_state_dict,
                          verify_checkpoint)
from ..engine.frozen_text_tower import restore_frozen_text_towers
from ..utils.atomic_write import errors_name


def load_checkpoint_safe(path_or_url: str,
                         map_location='cpu',
                         model: Optional[torch.nn.Module] = None,
                         strict: bool = True,
                         check_hash: bool = True,
                         model_dir: Optional[str] = None) -> Dict:
    """Load a (published) checkpoint through :func:`mer_clip.checkpoint.read_checkpoint`
    (``weights_only=True``, integrity checked), optionally into ``model``.

    Args:
        path_or_url: a file, or an http(s) URL (downloaded once into torch.hub's checkpoint folder
            or ``model_dir``).
        map_location: as in ``torch.load``.
        model: if given, its ``state_dict`` is loaded (``strict``) and ``model.dataset_meta`` set
            from ``meta['dataset_meta']`` when present.
        check_hash: verify the file (the hash in a ``name-<hash>.pth`` file name, its ``.sha256``
            sidecar, or its zip CRCs).

    Raises:
        UnsafeCheckpointError: the file holds pickled objects besides tensors and plain containers.
        CheckpointIntegrityError: the file does not match the hash in its name (or its sidecar).
        CheckpointError: any other reason the file cannot be used (one family of errors).
    """
    path = resolve_url(path_or_url, model_dir)
    checkpoint = read_checkpoint(path, map_location=map_location, verify=check_hash)
    if model is not None:
        if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
            restore_frozen_text_towers(model, checkpoint, path)  # recorded by its file, not saved
        state = unwrap_state_dict(checkpoint, path)
        check_fits(state, model, path, strict)
        model.load_state_dict(state, strict=strict)
        meta = (checkpoint.get('meta') or {}) if isinstance(checkpoint, dict) else {}
        if meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
    return checkpoint


def check_fits(state: Dict[str, torch.Tensor], model: torch.nn.Module, path: str,
               strict: bool = True) -> None:
    """Refuse a state dict that does not fit ``model``, naming the file and a few keys (torch's
    own error names neither the file nor stops at a few of the hundreds of keys)."""
    own = model.state_dict()
    shapes = [f'{k} {tuple(v.shape)} (model {tuple(own[k].shape)})' for k, v in state.items()
              if k in own and tuple(v.shape) != tuple(own[k].shape)]
    missing = [k for k in own if k not in state] if strict else []
    unexpected = [k for k in state if k not in own] if strict else []
    if not (shapes or missing or unexpected):
        return
    what = [f'{name}: {few_keys(ks, 3)}' for name, ks in (
        ('missing keys', missing), ('unexpected keys', unexpected),
        ('keys of another shape', shapes)) if ks]
    raise CheckpointMismatchError(
        f'{path}: does not fit the model of the config ({"; ".join(what)}); it is a checkpoint '
        f'of another model or config: give the config it was trained with')


def _plain(obj, where: str = 'meta'):
    """``obj`` with numpy scalars / arrays turned into Python numbers / lists, tuples kept; anything
    that is not plain data raises (it would not load under weights_only=True)."""
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
    if isinstance(obj, argparse.Namespace):  # other trainers' hyper-parameters: as a dict
        return _plain(vars(obj), where)
    raise TypeError(f'{where} is a {type(obj).__module__}.{type(obj).__qualname__}, not plain data')


def publish_checkpoint(in_file: str, out_prefix: str, trust_input: bool = False) -> Tuple[str, str]:
    """Write ``<out_prefix>-<sha256[:8]>.pth`` with only ``meta`` (plain data) and ``state_dict``.

    Drops the optimizer, param schedulers, message hub and RNG states (training state, and the
    objects ``weights_only`` loading would refuse). ``trust_input`` loads ``in_file`` with
    ``weights_only=False`` (only for files you made or trust). Returns (path, full sha256).
    """
    if trust_input:
        verify_checkpoint(in_file)  # missing, cut off, damaged: named
        try:
            checkpoint = torch.load(in_file, map_location='cpu', weights_only=False)
        except Exception as e:  # noqa: BLE001 - torch's messages do not name the file
            raise CheckpointFormatError(f'{in_file}: not a readable PyTorch checkpoint '
                                        f'({type(e).__name__}: {e})') from None
    else:  # weights-only; a trainer's settings (argparse.Namespace, ConfigDict) become plain meta
        checkpoint = read_checkpoint(in_file, allow_plain_data=True)
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{in_file} is not an mmengine checkpoint (no state_dict)')
    try:
        meta = _plain(checkpoint.get('meta') or {})
    except TypeError as e:
        raise ValueError(f'{in_file}: {e}; a published checkpoint keeps meta as plain data '
                         '(numbers, strings, lists, dicts) only') from None
    published = {'meta': meta,
                 'state_dict': {k: v.detach().cpu() for k, v in checkpoint['state_dict'].items()}}
    out_prefix = out_prefix[:-4] if out_prefix.endswith('.pth') else out_prefix
    if osp.dirname(out_prefix):
        os.makedirs(osp.dirname(out_prefix), exist_ok=True)
    tmp = out_prefix + '.tmp.pth'
    with errors_name(tmp):
        torch.save(published, tmp)
    digest = sha256_of(tmp)
    final = f'{out_prefix}-{digest[:8]}.pth'
    os.replace(tmp, final)
    return final, digest
