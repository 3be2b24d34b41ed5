"""AU-text alignment head: video and AU-prompt features in one space, CLIP contrastive loss.

The loss is the symmetric CLIP loss with a learnable logit scale (init 1/0.07, capped at 100 as in
CLIP), computed in float32 even under autocast. Two choices beyond CLIP:

**Identical prompts in a batch.** Many clips share one AU combination ("lowering the brows"), so a
batch often holds several samples whose texts say the same thing. Plain CLIP would call every such
pair a mismatch and push the clips away from their own description. We compare samples by their AU
content (``group_keys``, e.g. ``results['au_key']`` = "4+R12" from ``GenerateAUPrompt``; default:
the texts themselves) and, with ``duplicate_prompts='multi_positive'`` (default), spread each row's
target uniformly over all samples with the same key: a clip is pulled towards every text of its AU
content and no same-content pair is pushed apart. Keys, not texts, so that two prompts that differ
only by the randomly drawn template still count as the same content. Other modes: 'mask' keeps the
single diagonal positive but removes same-key columns from the softmax (neither pushed nor pulled);
'naive' is plain CLIP (for ablations). With all keys distinct the three modes equal plain CLIP.
The multi-positive loss is reported as a KL divergence (cross-entropy minus the entropy of the
target, a constant), so perfectly matched features score ~0 whatever the group sizes; with distinct
keys the entropy is 0 and the value is exactly CLIP's.

**DDP.** Features (and hashed keys) are gathered from every rank with gradients
(``torch.distributed.nn.all_gather``, as open_clip's ``gather_features(gather_with_grad=True)``), so
the negatives come from the global batch; every rank computes the same global loss and DDP's
gradient averaging then yields exactly the gradient of that loss. Ranks may hold different batch
sizes (padded for the gather). Without a process group (or world size 1) nothing is gathered.
"""
import hashlib
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmaction.registry import MODELS

DUPLICATE_MODES = ('multi_positive', 'mask', 'naive')
_MAX_LOGIT_SCALE = math.log(100.0)


def key_ids(keys: Sequence) -> Tensor:
    """Stable int64 ids of hashable keys (identical across processes, unlike ``hash()``)."""
    ids = []
    for key in keys:
        digest = hashlib.blake2b(repr(key).encode('utf-8'), digest_size=8).digest()
        ids.append(int.from_bytes(digest, 'little', signed=True))
    return torch.tensor(ids, dtype=torch.long)


def _world() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` (B_r, ...) of every rank along dim 0; gradients flow back to each rank.

    The backward sums the gradients that all ranks send to this rank's rows (as open_clip's
    ``gather_features(gather_with_grad=True)``, which uses the same ``torch.distributed.nn`` call).

    Ranks may have different B_r: sizes are exchanged first and the tensors padded to the largest.
    """
    if _world() == 1:
        return x
    import torch.distributed.nn as dist_nn
    size = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(size) for _ in range(_world())]
    dist.all_gather(sizes, size)
    sizes = [int(s.item()) for s in sizes]
    biggest = max(sizes)
    if x.shape[0] < biggest:
        pad = x.new_zeros((biggest - x.shape[0], ) + tuple(x.shape[1:]))
        x = torch.cat([x, pad], dim=0)
    if x.requires_grad:
        parts = dist_nn.all_gather(x.contiguous())
    else:  # e.g. the integer key ids
        parts = [torch.empty_like(x) for _ in sizes]
        dist.all_gather(parts, x.contiguous())
    return torch.cat([p[:n] for p, n in zip(parts, sizes)], dim=0)


def contrastive_loss(visual: Tensor,
                     text: Tensor,
                     logit_scale: Tensor,
                     group_ids: Optional[Tensor] = None,
                     duplicate_prompts: str = 'multi_positive') -> Tensor:
    """Symmetric CLIP loss of L2-normalised (N, E) features, float32.

    ``group_ids`` (N,): samples with equal ids have the same content (see module docstring).
    """
    if duplicate_prompts not in DUPLICATE_MODES:
        raise ValueError(f'duplicate_prompts must be one of {DUPLICATE_MODES}, '
                         f'got {duplicate_prompts!r}')
    logits = logit_scale * visual @ text.t()  # (N, N), row i: clip i vs all texts
    n = logits.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=logits.device)
    if group_ids is None or duplicate_prompts == 'naive':
        same = eye
    else:
        same = group_ids.view(-1, 1) == group_ids.view(1, -1)  # (N, N), symmetric
    if duplicate_prompts == 'mask':
        # other same-content samples: neither positive nor negative
        logits = logits.masked_fill(same & ~eye, float('-inf'))
        target = eye.float()
    else:
        target = same.float() / same.sum(dim=1, keepdim=True)  # rows sum to 1
    # log_softmax then masked sum (0 * -inf must not turn into nan in 'mask' mode)
    logp_v2t = F.log_softmax(logits, dim=1)
    logp_t2v = F.log_softmax(logits.t(), dim=1)
    loss_v2t = -(target * logp_v2t.masked_fill(target == 0, 0.)).sum(dim=1).mean()
    loss_t2v = -(target.t() * logp_t2v.masked_fill(target.t() == 0, 0.)).sum(dim=1).mean()
    # minus the entropy of the target (log k for a group of k; 0 for distinct keys): a constant
    # without gradient, so a clip matched to its AU content scores ~0 whatever k is
    entropy = -(target * target.clamp_min(1e-12).log()).sum(dim=1).mean()
    return (loss_v2t + loss_t2v) / 2 - entropy


@MODELS.register_module()
class AUTextAlignHead(BaseModule):
    """Visual and text projectors to a shared space + the CLIP contrastive loss (see module doc).

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
            dict(loss_clip=weighted loss, clip_logit_scale=current scale (log only)).
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
            if self.gather and _world() > 1:
                visual, text = gather_with_grad(visual), gather_with_grad(text)  # (N, E)
                if ids is not None:
                    ids = gather_with_grad(ids)
            scale = self.scale()
            if visual.shape[0] == 0:  # no sample with AU text (on any rank): nothing to align
                loss = visual.sum() * 0. + text.sum() * 0. + scale * 0.
            else:
                loss = contrastive_loss(visual, text, scale, ids, self.duplicate_prompts)
        return dict(loss_clip=loss * self.loss_weight, clip_logit_scale=scale.detach())
