"""Does a checkpoint fill the model? Refuse one that leaves model tensors unloaded.

mmengine's Runner loads ``load_from``, ``--resume`` and ``tools/test.py`` checkpoints with
``strict=False`` and only warns about missing keys: a checkpoint of another layout loads 2 of 731
tensors and the run goes on to test a random model. :func:`check_checkpoint_fits` compares the
checkpoint's state dict (after the frozen text tower is restored from its recorded file,
:mod:`.frozen_text_tower`, so "missing" means tensors that nothing will fill) with the model's and

- logs one run-log line (:class:`~mer_clip.models.weight_load_report.WeightLoadReport`): file,
  sha256 prefix, tensors loaded / left at init / unused;
- raises :class:`PartialCheckpointError` when model tensors would stay at their initialisation
  (missing from the file, or there with another shape), naming the file, the counts and the key
  prefixes on both sides, unless a partial load is asked for (``allow_partial_load=True`` in the
  config, ``--allow-partial-load`` on tools/train.py and tools/test.py); the line then says so.

Tensors of the file that fit nowhere (unused) alone do not stop the load: every model tensor has
its value. They are listed in the line.
"""
from collections import Counter
from typing import Dict, Iterable, List, Optional

import torch

from ..checkpoint import CheckpointMismatchError
from ..models.weight_load_report import WeightLoadReport

#: dotted levels of the key prefixes in the error message (``backbone.transformer``)
PREFIX_LEVELS = 2
PARTIAL_HINT = ('to load it partially on purpose (the rest stays at its initialisation), pass '
                '--allow-partial-load to tools/train.py / tools/test.py or set '
                'allow_partial_load=True in the config')


class PartialCheckpointError(CheckpointMismatchError):
    """A checkpoint that would leave model tensors at their initialisation."""


def key_prefixes(keys: Iterable[str], levels: int = PREFIX_LEVELS) -> str:
    """``'backbone.transformer (120), cls_head.fc (2)'``: keys counted by their first levels."""
    counts = Counter('.'.join(k.split('.')[:levels]) for k in keys)
    if not counts:
        return 'none'
    return ', '.join(f'{p} ({n})' for p, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])))


def checkpoint_state(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The state dict mmengine loads from ``checkpoint`` (``state_dict``, else the dict itself),
    DDP's ``module.`` removed as mmengine's ``revise_keys`` does."""
    state = checkpoint.get('state_dict', checkpoint)
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()
            if isinstance(v, torch.Tensor)}


def check_checkpoint_fits(model: torch.nn.Module, state: Dict[str, torch.Tensor], path: str,
                          allow_partial: bool = False,
                          notes: Optional[List[str]] = None) -> WeightLoadReport:
    """Log the load line of ``state`` into ``model``; raise when it leaves model tensors unloaded
    (see the module docstring). Returns the report."""
    own = model.state_dict()
    shapes = {k for k, v in state.items() if k in own and tuple(v.shape) != tuple(own[k].shape)}
    missing = [k for k in own if k not in state]
    unused = sorted(k for k in state if k not in own)
    loaded = [k for k in own if k in state and k not in shapes]
    report = WeightLoadReport('checkpoint', path, total=len(own), loaded=loaded,
                              missing=sorted(missing + sorted(shapes)), unused=unused,
                              notes=list(notes or []))
    if missing or shapes:
        counts = (f'loaded {len(loaded)}/{len(own)} model tensors, missing {len(missing)}, of '
                  f'another shape {len(shapes)}, unexpected {len(unused)}')
        if not allow_partial:
            shape_part = f'; of another shape: {key_prefixes(shapes)}' if shapes else ''
            raise PartialCheckpointError(
                f'{path}: the checkpoint leaves {len(missing) + len(shapes)} model tensors '
                f'unloaded ({counts}). Model tensors it lacks, by prefix: '
                f'{key_prefixes(missing)}{shape_part}. Its tensors that fit nowhere, by prefix: '
                f'{key_prefixes(unused)}. It is a checkpoint of another model or layout: give '
                f'the config it was trained with; {PARTIAL_HINT}.')
        report.notes.append(f'PARTIAL LOAD (allow_partial_load): {counts}; the missing ones '
                            'stay at their initialisation')
    report.log()
    return report


__all__ = ['PartialCheckpointError', 'check_checkpoint_fits', 'checkpoint_state', 'key_prefixes']
