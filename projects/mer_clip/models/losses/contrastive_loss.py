"""The contrastive loss of MER-CLIP's AU-text alignment: symmetric CLIP loss over AU content.

The loss of L2-normalised visual and text embeddings ``(N, E)`` with a logit scale is CLIP's
symmetric cross-entropy, computed in float32. Two choices beyond CLIP:

**Identical prompts in a batch.** Many clips share one AU combination ("lowering the brows"), so a
batch often holds several samples whose texts say the same thing. Plain CLIP would call every such
pair a mismatch and push the clips away from their own description. Samples are compared by their
AU content (group ids from :func:`key_ids` of e.g. ``results['au_key']`` = "4+R12" from
``GenerateAUPrompt``) and, with ``duplicate_prompts='multi_positive'`` (default), each row's
target is spread uniformly over all samples with the same key: a clip is pulled towards every text
of its AU content and no same-content pair is pushed apart. Keys, not texts, so that two prompts
that differ only by the randomly drawn template still count as the same content. Other modes:
'mask' keeps the single diagonal positive but removes same-key columns from the softmax (neither
pushed nor pulled); 'naive' is plain CLIP (for ablations). With all keys distinct the three modes
equal plain CLIP. The multi-positive loss is reported as a KL divergence (cross-entropy minus the
entropy of the target, a constant), so perfectly matched features score ~0 whatever the group
sizes; with distinct keys the entropy is 0 and the value is exactly CLIP's.

**DDP.** :func:`gather_with_grad` gathers features (and hashed keys) from every rank with gradients
(``torch.distributed.nn.all_gather``, as open_clip's ``gather_features(gather_with_grad=True)``),
so the negatives come from the global batch; every rank computes the same global loss and DDP's
gradient averaging then yields exactly the gradient of that loss. Ranks may hold different batch
sizes (padded for the gather). Without a process group (or world size 1) nothing is gathered.
"""
import hashlib
from typing import Optional, Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor

DUPLICATE_MODES = ('multi_positive', 'mask', 'naive')


def key_ids(keys: Sequence) -> Tensor:
    """Stable int64 ids of hashable keys (identical across processes, unlike ``hash()``)."""
    ids = []
    for key in keys:
        digest = hashlib.blake2b(repr(key).encode('utf-8'), digest_size=8).digest()
        ids.append(int.from_bytes(digest, 'little', signed=True))
    return torch.tensor(ids, dtype=torch.long)


def world_size() -> int:
    """Processes in the default process group (1 without one)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` (B_r, ...) of every rank along dim 0; gradients flow back to each rank.

    The backward sums the gradients that all ranks send to this rank's rows (as open_clip's
    ``gather_features(gather_with_grad=True)``, which uses the same ``torch.distributed.nn`` call).

    Ranks may have different B_r: sizes are exchanged first and the tensors padded to the largest.
    """
    if world_size() == 1:
        return x
    import torch.distributed.nn as dist_nn  # here: needs a torch built with distributed support
    size = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(size) for _ in range(world_size())]
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
    The inputs are cast to float32 and the loss computed with autocast off: under bf16 autocast
    the (N, N) logit matmul would otherwise run in bf16, whose 8-bit mantissa rounds logits of
    ~14 (scale 1/0.07) by up to 2^-4.
    """
    if duplicate_prompts not in DUPLICATE_MODES:
        raise ValueError(f'duplicate_prompts must be one of {DUPLICATE_MODES}, '
                         f'got {duplicate_prompts!r}')
    with torch.autocast(device_type=visual.device.type, enabled=False):
        return _contrastive_loss_fp32(
            visual.float(), text.float(),
            torch.as_tensor(logit_scale, device=visual.device).float(), group_ids,
            duplicate_prompts)


def _contrastive_loss_fp32(visual: Tensor, text: Tensor, logit_scale: Tensor,
                           group_ids: Optional[Tensor], duplicate_prompts: str) -> Tensor:
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


__all__ = ['DUPLICATE_MODES', 'contrastive_loss', 'gather_with_grad', 'key_ids', 'world_size']
