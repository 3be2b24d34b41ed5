"""STSTNet + its dense head for many LOSO folds at once: one model, each fold its own parameters.

The folds' networks are laid side by side as channel groups of one network (the layout that
``torch.func.vmap`` over a convolution also produces): a batch of every fold's samples,
``(F, B, 3, H, W)``, becomes ``(B, F * 3, H, W)``, and then

- the convolution is one **grouped** convolution (``groups=F``, fold f's 16 filters see only fold
  f's 3 channels);
- ReLU, max / average pooling and the dropout mask act per channel, so per fold;
- batch norm over ``F * 16`` channels normalises each fold's channels over that fold's B samples
  only, and updates each fold's running statistics, exactly as F separate ``BatchNorm2d`` do;
- the dense layer is a batched matrix product of each fold's (400 -> classes) weight.

The maps are laid out ``channels_last`` (memory ``(B, H, W, F * 16)``): per sample and pixel, the
channels of all folds side by side. That is the layout of the per-fold runs (their HWC images) and
oneDNN's fast path for grouped convolution: at 4 folds of batch 32 the step costs about 105 us per
sample against about 200-250 with contiguous maps (``bench/bench_fold_batched.py``, docs/speed.md
section 7). Elementwise operations (ReLU, the mask) give the same values in either layout.

The dropout masks are given by the caller (:mod:`.fold_stream` draws each fold's mask from that
fold's generator, as its per-fold run does), so a fold's arithmetic is that of its own model.
"""
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .fold_stream import memory_format
from .stacked_model import MaskSpec, StackedModel, plain_dense_head_refusal


#: the per-fold model's parameter and buffer names -> the stacked tensors' names
PARAMS = {'backbone.streams.0.weight': 'conv_w', 'backbone.streams.0.bias': 'conv_b',
          'backbone.streams.2.weight': 'bn_w', 'backbone.streams.2.bias': 'bn_b',
          'cls_head.fc_cls.weight': 'fc_w', 'cls_head.fc_cls.bias': 'fc_b'}
BUFFERS = {'backbone.streams.2.running_mean': 'bn_mean',
           'backbone.streams.2.running_var': 'bn_var',
           'backbone.streams.2.num_batches_tracked': 'bn_count'}


class StackedSTSTNet(StackedModel):
    """F folds' STSTNet + TSNHead as one module (module docstring).

    Built from the folds' own initialised models, so every fold starts from the weights its
    per-fold run starts from. Parameters are ``(F, ...)`` leaves.
    """

    @classmethod
    def refusal(cls, model_cfg) -> Optional[str]:
        return plain_dense_head_refusal(model_cfg.get('cls_head') or {})

    def __init__(self, models: List[nn.Module]) -> None:
        super().__init__()
        first = models[0]
        bb = first.backbone
        conv, bn, pool = bb.streams[0], bb.streams[2], bb.streams[3]
        self.channels = bb.out_channels
        self.in_channels = bb.in_channels
        self.padding = conv.padding
        self.pool_cfg = (pool.kernel_size, pool.stride, pool.padding)
        self.avg = (bb.pool.kernel_size, bb.pool.stride)
        self.bn_momentum, self.bn_eps = bn.momentum, bn.eps
        self.dropout_p = bb.streams[4].p
        self._stack(models, PARAMS, BUFFERS)

    def mask_shape(self, batch: int, height: int, width: int):
        """The dropout mask of one fold's batch: STSTNet's map after max pooling."""
        k, s, p = self.pool_cfg
        conv_h = height + 2 * self.padding[0] - 2
        conv_w = width + 2 * self.padding[1] - 2
        return (batch, self.channels, (conv_h + 2 * p - k) // s + 1, (conv_w + 2 * p - k) // s + 1)

    def mask_specs(self, inputs: Tensor) -> List[MaskSpec]:
        """One mask, on the pooled map; the per-fold run's maps are in its input's memory format
        (channels_last for the pipeline's HWC images), and ``F.dropout`` fills it in that order."""
        shape = self.mask_shape(inputs.shape[0], *inputs.shape[2:])
        return [(self.dropout_p, shape, memory_format(inputs))]

    def forward(self, x: Tensor, folds: Tensor, masks: Optional[List[Tensor]] = None) -> Tensor:
        """x: (G, B, C, H, W), the batches of the folds ``folds`` (G indices); masks: [(G, B, 16,
        h, w)] kept / (1 - p) values, None in eval mode. Returns logits (G, B, classes)."""
        g, b = x.shape[:2]
        every = g == self.folds
        pick = (lambda t: t) if every else (lambda t: t[folds])
        conv_w, conv_b = pick(self.conv_w), pick(self.conv_b)
        cl = torch.channels_last
        h = x.transpose(0, 1).reshape(b, g * self.in_channels, *x.shape[3:])  # (B, G*C, H, W)
        h = h.contiguous(memory_format=cl)  # memory (B, H, W, G*C): folds' channels side by side
        h = F.conv2d(h, conv_w.flatten(0, 1).contiguous(memory_format=cl), conv_b.flatten(),
                     padding=self.padding, groups=g)
        h = F.relu(h)  # (B, G*16, H+2, W+2)
        mean, var = self.bn_mean, self.bn_var
        if not every:
            mean, var = mean[folds], var[folds]
        flat_mean, flat_var = mean.flatten().clone(), var.flatten().clone()
        h = F.batch_norm(h, flat_mean, flat_var, pick(self.bn_w).flatten(),
                         pick(self.bn_b).flatten(), self.training, self.bn_momentum, self.bn_eps)
        if self.training:  # the running statistics, updated in place above, back to the folds
            with torch.no_grad():
                if every:
                    self.bn_mean.copy_(flat_mean.view_as(self.bn_mean))
                    self.bn_var.copy_(flat_var.view_as(self.bn_var))
                    self.bn_count += 1
                else:
                    self.bn_mean[folds] = flat_mean.view(g, -1)
                    self.bn_var[folds] = flat_var.view(g, -1)
                    self.bn_count[folds] += 1
        k, s, p = self.pool_cfg
        h = F.max_pool2d(h, k, s, p)  # (B, G*16, 10, 10)
        if masks is not None:  # (G, B, 16, h, w) -> the map's (B, G*16, h, w), channels_last
            m = masks[0].permute(1, 3, 4, 0, 2).reshape(b, *h.shape[2:], -1)  # (B, h, w, G*16)
            h = h * m.permute(0, 3, 1, 2)
        h = F.avg_pool2d(h, *self.avg)  # (B, G*16, 5, 5)
        h = h.reshape(b, g, -1).transpose(0, 1)  # (G, B, 400), each fold's flat map as TSNHead's
        return torch.baddbmm(pick(self.fc_b).unsqueeze(1), h, pick(self.fc_w).transpose(1, 2))

    def fold_losses(self, logits: Tensor, labels: Tensor, epoch: int) -> Tensor:
        """TSNHead's cross-entropy, each fold the mean over its batch: (G,)."""
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction='none')
        return loss.view(labels.shape).mean(1)
