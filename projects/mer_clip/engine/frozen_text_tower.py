"""The frozen text tower in checkpoints: recorded by its weight file, not saved.

A frozen :class:`~mer_clip.models.text.CLIPTextEncoder` never changes after it is loaded from its
file, so a checkpoint needs only that file's path and sha256 to rebuild it: 0.24 GiB less in every
B/16 checkpoint (a LOSO keeps one per fold).

- **Saving** (:func:`strip_frozen_text_towers`): the tensors of every frozen encoder that was
  loaded from a file leave ``checkpoint['state_dict']``; ``meta['frozen_text_towers']`` records,
  per encoder (its module name), ``file``, ``sha256``, ``prefix`` and the number of ``tensors``.
- **Loading** (:func:`restore_frozen_text_towers`): the file is checked against the recorded
  sha256 and loaded again by the encoder's own :meth:`load_pretrained` (the same conversions and
  activation as in training); its tensors go back into the state dict, so that the load is
  checked complete like any other (:mod:`.checkpoint_fit`). A missing or changed file is a
  :class:`TextTowerFileError` naming it, the expected and found hashes and what to do.
- **A tower without a file** (``pretrained=None``: the tiny random models of the synthetic config
  and the tests) is saved in the checkpoint as before. It is small, and rebuilding it from the
  seed would depend on the order in which the model draws its initial weights: a silently
  different tower if that order ever changed. An unfrozen (trained) tower is always saved.
"""
import os.path as osp
from typing import Dict, List, Optional

import torch

from ..checkpoint import CheckpointError
from ..models.text import CLIPTextEncoder
from ..models.weight_load_report import SHA_PREFIX, file_sha256

META_KEY = 'frozen_text_towers'


class TextTowerFileError(CheckpointError):
    """The weight file a checkpoint's frozen text tower is recorded by is missing or changed."""


def frozen_text_towers(model: torch.nn.Module) -> Dict[str, CLIPTextEncoder]:
    """``{module name: encoder}`` of the frozen text encoders loaded from a file."""
    return {name: m for name, m in model.named_modules()
            if isinstance(m, CLIPTextEncoder) and m.frozen and m.weights_file}


def _tower_prefix(name: str) -> str:
    return f'{name}.text.' if name else 'text.'


def strip_frozen_text_towers(model: torch.nn.Module, checkpoint: dict) -> List[str]:
    """Remove the frozen, file-loaded text towers from ``checkpoint['state_dict']`` and record
    their files in ``checkpoint['meta']`` (see the module docstring); returns their names."""
    state = checkpoint['state_dict']
    records = {}
    for name, encoder in frozen_text_towers(model).items():
        prefix = _tower_prefix(name)
        keys = [k for k in state if k.startswith(prefix)]
        for key in keys:
            del state[key]
        records[name] = dict(encoder.weights_file, tensors=len(keys))
    if records:
        checkpoint.setdefault('meta', {})[META_KEY] = records
    return sorted(records)


def _recorded_file(path: str, name: str, record: dict, encoder: CLIPTextEncoder) -> str:
    """The file holding the recorded tower: the recorded path, else the config's ``pretrained``
    when its content is the same (the files moved to another machine); raises otherwise."""
    expected = record['sha256']
    found = []
    for candidate in dict.fromkeys([record['file'], encoder.pretrained]):
        if candidate and osp.isfile(candidate):
            digest = file_sha256(candidate)
            if digest == expected:
                return candidate
            found.append(f'{candidate} has sha256 {digest[:SHA_PREFIX]}...')
    what = '; '.join(found) if found else f'{record["file"]} does not exist'
    raise TextTowerFileError(
        f'{path}: its frozen text tower ({name}) is not saved in it but recorded by its weight '
        f'file {record["file"]} with sha256 {expected[:SHA_PREFIX]}...; {what}. Put the file '
        'the model was trained with at that path, or point the config at a copy of it '
        f'(--cfg-options model.{name}.pretrained=PATH); another file would give another text '
        'tower than the one trained with.')


def restore_frozen_text_towers(model: torch.nn.Module, checkpoint: dict,
                               path: str) -> List[str]:
    """Reload the text towers that ``checkpoint`` records by their files (checked by sha256) and
    put their tensors into its state dict; returns one note per tower for the load line."""
    records: Optional[dict] = (checkpoint.get('meta') or {}).get(META_KEY)
    if not records:
        return []
    state = checkpoint.get('state_dict', checkpoint)
    modules = dict(model.named_modules())
    notes = []
    for name, record in sorted(records.items()):
        encoder = modules.get(name)
        if not isinstance(encoder, CLIPTextEncoder):
            raise CheckpointError(
                f'{path}: records a frozen text tower at {name!r}, but the model of the config '
                f'has {"no such module" if encoder is None else type(encoder).__name__} there; '
                'give the config the checkpoint was trained with')
        file = _recorded_file(path, name, record, encoder)
        encoder.load_pretrained(file, record.get('prefix'))
        prefix = _tower_prefix(name)
        tower = encoder.text.state_dict()
        for key, value in tower.items():
            state[prefix + key] = value.detach()
        notes.append(f'{name}: {len(tower)} tensors from its recorded file {file} (sha256 '
                     f'{record["sha256"][:SHA_PREFIX]} as recorded; not saved in the checkpoint)')
    return notes


__all__ = ['META_KEY', 'TextTowerFileError', 'frozen_text_towers', 'restore_frozen_text_towers',
           'strip_frozen_text_towers']
