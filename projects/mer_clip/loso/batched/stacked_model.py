"""What the fold-batched trainer needs of a model: F folds' networks as one stacked module.

A stacked model is built from the folds' own initialised models, so every fold starts from the
weights its per-fold run starts from. It holds each per-fold parameter as one ``(F, ...)`` leaf
(``param_names``: the per-fold model's name -> the stacked leaf's name, so the fold's optimizer
groups and lr schedule apply per name) and each per-fold buffer likewise (``buffer_names``). It
tells the trainer which dropout masks a fold's forward draws (shape, memory format, in the order
the per-fold forward draws them: :mod:`.fold_stream` draws them from the fold's generator),
computes the folds' outputs from their batches and masks, and each fold's loss as its per-fold
model computes it. :func:`stacked_model_class` picks the module for a config, or refuses the config
with the reason (:class:`BatchingUnsupported`).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

#: a dropout mask a fold's forward draws: (p, shape, memory format)
MaskSpec = Tuple[float, Tuple[int, ...], torch.memory_format]


class BatchingUnsupported(ValueError):
    """A config whose model the fold-batched mode cannot stack (the message says why)."""


class StackedModel(nn.Module):
    """The interface of a stacked model (module docstring); subclasses define the network.

    ``param_names`` / ``buffer_names``: per-fold name -> stacked attribute name (:meth:`_stack`).
    """

    param_names: Dict[str, str]
    buffer_names: Dict[str, str]

    @classmethod
    def refusal(cls, model_cfg) -> Optional[str]:
        """Why this module cannot compute ``model_cfg``'s model exactly, or None if it can."""
        raise NotImplementedError

    def _stack(self, models: Sequence[nn.Module], params: Dict[str, str],
               buffers: Dict[str, str]) -> None:
        """Register every fold's ``params`` / ``buffers`` as ``(F, ...)`` tensors."""
        self.folds = len(models)
        self.param_names, self.buffer_names = dict(params), dict(buffers)
        states = [m.state_dict() for m in models]
        for key, name in self.param_names.items():
            self.register_parameter(name, nn.Parameter(
                torch.stack([s[key].detach().clone() for s in states])))
        for key, name in self.buffer_names.items():
            self.register_buffer(name, torch.stack([s[key].clone() for s in states]))

    def fold_state_dict(self, f: int) -> Dict[str, Tensor]:
        """Fold ``f``'s weights under the per-fold model's names (its checkpoint's state_dict)."""
        out = {key: getattr(self, name)[f].detach().clone()
               for key, name in self.param_names.items()}
        out.update({key: getattr(self, name)[f].clone() for key, name in self.buffer_names.items()})
        return out

    @torch.no_grad()
    def set_fold_state(self, f: int, state: Dict[str, Tensor]) -> None:
        """Put a :meth:`fold_state_dict` back as fold ``f``'s weights."""
        for key, name in {**self.param_names, **self.buffer_names}.items():
            getattr(self, name)[f] = state[key]

    def mask_specs(self, inputs: Tensor) -> List[MaskSpec]:
        """The dropout masks one fold's forward of ``inputs`` (B, C, H, W) draws, in order."""
        raise NotImplementedError

    def forward(self, x: Tensor, folds: Tensor,
                masks: Optional[List[Tensor]] = None) -> Tensor:
        """x: (G, B, C, H, W), the batches of the folds ``folds`` (G indices); masks: one
        (G, B, ...) tensor per :meth:`mask_specs` entry (None in eval mode) -> (G, B, classes)."""
        raise NotImplementedError

    def fold_losses(self, logits: Tensor, labels: Tensor, epoch: int) -> Tensor:
        """(G,) each fold's training loss, as its per-fold model computes it (their sum is
        back-propagated: the folds' parameters are disjoint). ``epoch``: 0-based."""
        raise NotImplementedError

    def scores(self, logits: Tensor) -> Tensor:
        """(G, B, classes) class scores as the per-fold model's test step gives them."""
        return logits.softmax(-1)


def plain_dense_head_refusal(head: dict) -> Optional[str]:
    """Why a TSNHead is not the plain dense layer with cross-entropy the stacked modules use."""
    loss = head.get('loss_cls') or {}
    if head.get('type') != 'TSNHead' or head.get('spatial_type') is not None:
        return 'the head is not TSNHead(spatial_type=None), the dense layer on the flat map'
    if float(head.get('dropout_ratio', 0.0)) != 0.0:
        return "the head's dropout_ratio is not 0"
    if loss.get('type', 'CrossEntropyLoss') != 'CrossEntropyLoss':
        return "the head's loss is not plain cross-entropy"
    if loss.get('loss_weight', 1.0) != 1.0:
        return "the head's loss has a loss_weight other than 1"
    if head.get('average_clips', 'prob') != 'prob':
        return "the head's average_clips is not 'prob'"
    return None


def mer_clip_heads_refusal(model_cfg) -> str:
    """Why the MER-CLIP heads on a flow backbone are refused: the parts of the per-fold model
    that no stacked module replays yet (each would change the fold's arithmetic if approximated)."""
    inner = model_cfg['backbone']['backbone']['type']
    head = model_cfg.get('cls_head') or {}
    parts = [f"{model_cfg['backbone']['type']}'s token embedding of the {inner} map"]
    if head.get('type') == 'EmotionTransformerHead':
        parts.append('the emotion transformer head (its dropout masks are drawn inside the '
                     'attention and MLP of nn.TransformerEncoderLayer, not replayed per fold)')
    else:
        parts.append(f"the {head.get('type')} classifier on F_g")
    loss = (head.get('loss_cls') or {}).get('type', 'CrossEntropyLoss')
    if loss != 'CrossEntropyLoss':
        parts.append(f'the {loss}')
    if model_cfg.get('align_head'):
        parts.append('the AU-text alignment (the frozen text tower and its prompt cache, the '
                     "contrastive loss, ProgressiveLossHook's per-epoch weights)")
    return (f'the MER-CLIP heads on {inner} are not stacked yet: ' + '; '.join(parts)
            + ' (only STSTNet and OFF-ApexNet with their dense heads are)')


def stacked_model_class(model_cfg) -> type:
    """The stacked module for ``model_cfg``; raises :class:`BatchingUnsupported` with the reason
    when the fold-batched mode cannot train it exactly."""
    from .stacked_off_apexnet import StackedOFFApexNet
    from .stacked_ststnet import StackedSTSTNet
    backbone = (model_cfg.get('backbone') or {}).get('type')
    inner = (model_cfg.get('backbone') or {}).get('backbone') or {}
    why = None
    kinds = {'STSTNet': StackedSTSTNet, 'OFFApexNet': StackedOFFApexNet}
    if backbone == 'MERUniFormerV2' or 'UniFormer' in str(backbone):
        why = (f'the backbone is {backbone!r}, a video model: millions of parameters per fold, '
               'one fold fills the machine, and nothing is gained by stacking folds')
    elif inner.get('type') in kinds:
        why = mer_clip_heads_refusal(model_cfg)
    elif model_cfg.get('type') != 'Recognizer2D':
        why = f"the recognizer is {model_cfg.get('type')!r}, not Recognizer2D"
    elif backbone not in kinds:
        why = (f'the backbone is {backbone!r}; the fold-batched mode stacks '
               f'{" and ".join(kinds)} only')
    else:
        why = kinds[backbone].refusal(model_cfg)
    if why:
        raise BatchingUnsupported(f'--fold-mode batched cannot train this config: {why}. Use '
                                  '--fold-mode inprocess (small models) or subprocess.')
    return kinds[backbone]


def check_batchable(model_cfg) -> None:
    """Refuse (:class:`BatchingUnsupported`, naming the reason) what cannot be stacked exactly."""
    stacked_model_class(model_cfg)
