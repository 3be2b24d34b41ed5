"""AU-text alignment head: video and AU-prompt features in one space, CLIP contrastive loss.

Two linear projectors map the visual feature F_g and the frozen text encoder's prompt features into
a shared space (L2-normalised, float32), with a learnable logit scale (init 1/0.07, capped at 100
as in CLIP). :meth:`AUTextAlignHead.loss` projects a batch, gathers it from every DDP rank and
computes the contrastive loss of :mod:`mer_clip.models.losses.contrastive_loss` (in float32 even
under autocast), where samples with the same AU content (``group_keys``, e.g. ``results['au_key']``
= "4+R12" from ``GenerateAUPrompt``; default: the texts themselves) are positives of each other,
not false negatives (``duplicate_prompts``: 'multi_positive' (default), 'mask' or 'naive').

**Samples without AUs.** The recognizer passes only the samples that have AU text (a rank may pass
none). When the global batch has none, the loss is an exact 0 that still depends on every parameter
of the head (zero gradients), so a DDP step uses the same parameters whatever the batch holds.
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS

from ..losses.contrastive_loss import (DUPLICATE_MODES, contrastive_loss, gather_with_grad,
                                       key_ids, world_size)

_MAX_LOGIT_SCALE = math.log(100.0)


@MODELS.register_module()
class AUTextAlignHead(BaseModule):
    """Visual and text projectors to a shared space + the CLIP contrastive loss (module doc).

    Args:
        visual_dim: size of the visual feature F_g.
        text_dim: size of the text encoder's output.
        embed_dim: shared space (512 in the paper).
        temperature: initial temperature; the logit scale starts at log(1/temperature).
        learnable_temperature: learn the logit scale (the authors do) or keep it fixed.
        duplicate_prompts: 'multi_positive' (default), 'mask' or 'naive'.
        loss_weight: multiplies the loss (the progressive schedule is applied by the recognizer).
        text_projector: 'linear' (default) or 'identity' (text features used as they are; needs
            text_dim == embed_dim; the authors' setting with a frozen CLIP text projection).
        gather: gather features across DDP ranks (global-batch negatives).
    """

    def __init__(self,
                 visual_dim: int,
                 text_dim: int,
                 embed_dim: int = 512,
                 temperature: float = 0.07,
                 learnable_temperature: bool = True,
                 duplicate_prompts: str = 'multi_positive',
                 loss_weight: float = 1.0,
                 text_projector: str = 'linear',
                 gather: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if duplicate_prompts not in DUPLICATE_MODES:
            raise ValueError(f'duplicate_prompts must be one of {DUPLICATE_MODES}, '
                             f'got {duplicate_prompts!r}')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.visual_dim, self.text_dim, self.embed_dim = visual_dim, text_dim, embed_dim
        self.visual_proj = nn.Linear(visual_dim, embed_dim)
        if text_projector == 'linear':
            self.text_proj = nn.Linear(text_dim, embed_dim)
        elif text_projector == 'identity':
            if text_dim != embed_dim:
                raise ValueError(f"text_projector='identity' needs text_dim == embed_dim, got "
                                 f'{text_dim} and {embed_dim}')
            self.text_proj = nn.Identity()
        else:
            raise ValueError(f"text_projector must be 'linear' or 'identity', "
                             f'got {text_projector!r}')
        init = torch.tensor(math.log(1.0 / temperature))
        if learnable_temperature:
            self.logit_scale = nn.Parameter(init)
        else:
            self.register_buffer('logit_scale', init)
        self.duplicate_prompts = duplicate_prompts
        self.loss_weight = loss_weight
        self.gather = gather

    def project_visual(self, visual_feat: Tensor) -> Tensor:
        """(B, Dv) -> (B, E), L2-normalised (normalisation in float32)."""
        return F.normalize(self.visual_proj(visual_feat).float(), dim=-1)

    def project_text(self, text_feat: Tensor) -> Tensor:
        """(B, Dt) -> (B, E), L2-normalised (normalisation in float32)."""
        return F.normalize(self.text_proj(text_feat).float(), dim=-1)

    def forward(self, visual_feat: Tensor, text_feat: Tensor):
        """Embeddings of both sides: ((B, E), (B, E))."""
        return self.project_visual(visual_feat), self.project_text(text_feat)

    def scale(self) -> Tensor:
        """The logit scale exp(s), s clamped to [0, log 100] as in CLIP."""
        return self.logit_scale.float().clamp(0, _MAX_LOGIT_SCALE).exp()

    def loss(self,
             visual_feat: Tensor,
             text_feat: Tensor,
             texts: Optional[List[str]] = None,
             group_keys: Optional[Sequence] = None) -> Dict[str, Tensor]:
        """Contrastive loss of a batch.

        Args:
            visual_feat: (B, Dv) visual features F_g (not projected).
            text_feat: (B, Dt) text-encoder features of the samples' prompts (not projected).
            texts: the B prompts; their identity defines duplicates when ``group_keys`` is None.
            group_keys: B hashable keys of the AU content (e.g. metainfo ``au_key``); samples with
                equal keys are positives of each other.

        Returns:
            dict(loss_clip=weighted loss, clip_logit_scale=current scale, clip_samples=number of
            samples in the (global) contrastive batch; the last two for the log only). B may be 0.
        """
        if visual_feat.shape[0] != text_feat.shape[0]:
            raise ValueError(f'AUTextAlignHead: {visual_feat.shape[0]} visual features but '
                             f'{text_feat.shape[0]} text features')
        keys = group_keys if group_keys is not None else texts
        if keys is not None and len(keys) != visual_feat.shape[0]:
            raise ValueError(f'AUTextAlignHead: {len(keys)} keys/texts for a batch of '
                             f'{visual_feat.shape[0]}')
        device = visual_feat.device
        with torch.autocast(device_type=device.type, enabled=False):
            # float32 from the projections on: the logits of a 100-scaled cosine need it
            visual = self.project_visual(visual_feat.float())  # (B, E)
            text = self.project_text(text_feat.float().to(device))  # (B, E)
            ids = None if keys is None else key_ids(keys).to(device)  # (B,)
            if self.gather and world_size() > 1:
                visual, text = gather_with_grad(visual), gather_with_grad(text)  # (N, E)
                if ids is not None:
                    ids = gather_with_grad(ids)
            scale = self.scale()
            if visual.shape[0] == 0:  # no sample with AUs in the global batch: a connected zero
                loss = visual.sum() + text.sum() + 0.0 * sum(
                    p.float().sum() for p in self.parameters() if p.requires_grad)
            else:
                loss = contrastive_loss(visual, text, scale, ids, self.duplicate_prompts)
        return dict(loss_clip=loss * self.loss_weight, clip_logit_scale=scale.detach(),
                    clip_samples=torch.tensor(float(visual.shape[0]), device=device))
