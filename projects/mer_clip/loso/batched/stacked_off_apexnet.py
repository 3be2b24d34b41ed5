"""OFF-ApexNet + its dense head for many LOSO folds at once: one model, each fold its own weights.

As in :mod:`.stacked_ststnet`, the folds' networks are channel groups of one network. Each fold
has two streams (u and v), so a batch of every fold's samples, ``(F, B, C, H, W)``, becomes the
folds' u and v channels side by side, ``(B, F * 2, H, W)``, and

- each conv layer is one **grouped** convolution with ``groups = 2F`` (the filters of fold f's
  stream s see only the maps of fold f's stream s); ReLU and max pooling act per channel;
- the maps ``(B, F * 32, 7, 7)`` are, per fold, its concatenated u and v maps in the per-fold
  order, so each fold's flat 1568 values are those its fully connected layers see;
- the fully connected layers and the output layer are batched matrix products of each fold's
  weights; the two dropout masks (one per FC layer, drawn in that order) come from the caller.

Every per-fold parameter stays its own ``(F, ...)`` leaf (the per-fold name with ``.`` -> ``_``),
so the folds' optimizer groups and lr schedules apply unchanged; the two streams' kernels are
joined in the forward.
"""
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .stacked_model import MaskSpec, StackedModel, plain_dense_head_refusal


class StackedOFFApexNet(StackedModel):
    """F folds' OFF-ApexNet + TSNHead as one module (module docstring)."""

    @classmethod
    def refusal(cls, model_cfg) -> Optional[str]:
        bb = model_cfg.get('backbone') or {}
        if bb.get('output', 'fc') != 'fc':
            return ("OFF-ApexNet's output is not 'fc' (its feature map feeds another head, "
                    'not the dense layer)')
        if not 0.0 < float(bb.get('dropout', 0.5)) < 1.0:
            return ("OFF-ApexNet's dropout is not strictly between 0 and 1 (no mask, or an "
                    'all-zero one, is drawn differently)')
        return plain_dense_head_refusal(model_cfg.get('cls_head') or {})

    def __init__(self, models: List[nn.Module]) -> None:
        super().__init__()
        bb = models[0].backbone
        self.flow_channels = list(bb.flow_channels)
        convs = [m for m in bb.streams[0] if isinstance(m, nn.Conv2d)]
        self.conv_padding = [c.padding for c in convs]
        self.fc_dropout = [m.p for m in bb.fc if isinstance(m, nn.Dropout)]
        self.fc_width = [m.out_features for m in bb.fc if isinstance(m, nn.Linear)]
        keys = [k for k, _ in models[0].named_parameters()]
        self._stack(models, {k: k.replace('.', '_') for k in keys}, {})
        # per conv layer: the stacked names of (u weight, v weight), (u bias, v bias)
        self.convs = [tuple(tuple(f'backbone_streams_{s}_{3 * i}_{w}' for s in range(2))
                            for w in ('weight', 'bias')) for i in range(len(convs))]
        self.fcs = [(f'backbone_fc_{3 * i}_weight', f'backbone_fc_{3 * i}_bias')
                    for i in range(len(self.fc_width))]
        self.fcs.append(('cls_head_fc_cls_weight', 'cls_head_fc_cls_bias'))

    def mask_specs(self, inputs: Tensor) -> List[MaskSpec]:
        """One (B, width) mask per fully connected layer, in forward order (contiguous: the
        linear layer's output is)."""
        b = inputs.shape[0]
        return [(p, (b, w), torch.contiguous_format)
                for p, w in zip(self.fc_dropout, self.fc_width)]

    def forward(self, x: Tensor, folds: Tensor, masks: Optional[List[Tensor]] = None) -> Tensor:
        """x: (G, B, C, H, W) of the folds ``folds``; masks: [(G, B, 1024)] * 2 kept / (1 - p)
        values, None in eval mode. Returns logits (G, B, classes)."""
        g, b = x.shape[:2]
        every = g == self.folds
        pick = (lambda t: t) if every else (lambda t: t[folds])

        def param(name):
            return pick(getattr(self, name))

        h = x[:, :, self.flow_channels]  # (G, B, 2, H, W): each fold's u and v
        h = h.transpose(0, 1).reshape(b, g * 2, *x.shape[3:])  # (B, G*2, H, W)
        for (weights, biases), pad in zip(self.convs, self.conv_padding):
            w = torch.stack([param(n) for n in weights], 1).flatten(0, 2)  # (G*2*out, in, k, k)
            bias = torch.stack([param(n) for n in biases], 1).flatten()
            h = F.max_pool2d(F.relu(F.conv2d(h, w, bias, padding=pad, groups=2 * g)), 2, 2)
        h = h.reshape(b, g, -1).transpose(0, 1)  # (G, B, 32*7*7): each fold's cat(u, v).flatten
        for i, (w, bias) in enumerate(self.fcs):
            h = torch.baddbmm(param(bias).unsqueeze(1), h, param(w).transpose(1, 2))
            if i < len(self.fcs) - 1:  # the FC layers: ReLU, dropout; the last is the head
                h = F.relu(h)  # (G, B, 1024)
                if masks is not None:
                    h = h * masks[i]
        return h

    def fold_losses(self, logits: Tensor, labels: Tensor, epoch: int) -> Tensor:
        """TSNHead's cross-entropy, each fold the mean over its batch: (G,)."""
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction='none')
        return loss.view(labels.shape).mean(1)
