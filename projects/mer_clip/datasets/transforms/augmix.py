"""AugMix for clips: one set of operation chains and mixing weights for all frames of a clip.

AugMix (Hendrycks et al., 2020) mixes the image with ``width`` chains of 1-3 random operations,
weights ~ Dirichlet(alpha), original-vs-augmented weight ~ Beta(alpha, alpha). Drawn independently
per frame, it would give each frame its own geometry and colours: fake motion far larger than a
micro-expression. :class:`VideoAugMix` draws everything once per clip and applies it to the clip.

What is reused from torchvision (``torchvision.transforms.v2.AugMix``, read in its source):

* the operation table (names, ranges, signed or not) and the operations themselves
  (``_apply_image_or_video_transform``: the affine / rotate / colour ops of
  ``transforms.v2.functional``; private torchvision API, covered by tests/datasets/transforms).
* Not its ``forward``: on a ``(T, C, H, W)`` tensor it samples ONE op chain per call for the whole
  batch, but the Beta and Dirichlet weights are drawn per leading element, i.e. per frame; only a
  ``tv_tensors.Video`` is treated as one sample. And AutoContrast, Equalize and Contrast compute
  their statistics (per-channel min/max, histogram, mean grey) per frame, so a moving face changes
  the colour map from frame to frame. Here those three ops see the clip as one tall
  ``(C, T*H, W)`` image (their statistics are then the clip's; they are pixel-wise otherwise, so
  this is exact), the geometric and other ops get the ``(T, C, H, W)`` batch: every frame goes
  through the same map by construction.
* Magnitude: torchvision draws one of ``severity`` discrete bins starting at 0, so its severity 1
  always has magnitude 0 (rotate 0 degrees, brightness x1, ...). The paper's "magnitude 1" is the
  AugMix reference / pytorchvideo meaning: a level drawn uniformly in [0.1, severity] out of 10,
  the operation's parameter scaled linearly up to torchvision's maximum at level 10 (e.g. rotate up
  to 3 degrees, translate up to W/30 at severity 1). Posterize drops floor(4 * level / 10) bits.
  Enhance ops use torchvision's 1 +- 0.9 * level / 10 (pytorchvideo: 0.1 + 1.8 * level / 10).
"""
import math
from typing import List, Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from torchvision.transforms.v2 import AugMix as _TorchvisionAugMix

from mmaction.registry import TRANSFORMS

# Ops whose statistics torchvision computes per image: run on the whole clip as one image.
CLIP_STATISTIC_OPS = ('AutoContrast', 'Equalize', 'Contrast')


def clip_to_array(results: dict, who: str) -> np.ndarray:
    """``results['imgs']`` (list of HxWx3 uint8) as one (T, H, W, 3) uint8 array, validated."""
    imgs = results.get('imgs')
    where = f"sample {results.get('sample_id', results.get('sample_idx', '?'))}"
    if imgs is None or len(imgs) == 0:
        raise ValueError(f"{who}: {where} has no 'imgs'; put it after the frame loading")
    first = imgs[0]
    for t, img in enumerate(imgs):
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3
                and img.shape[2] == 3 and img.shape == first.shape):
            desc = (f'{type(img).__name__} {getattr(img, "dtype", "")} '
                    f'{getattr(img, "shape", "")}')
            raise TypeError(f'{who}: {where}, frame {t} is {desc}; expected HxWx3 uint8 RGB '
                            f'frames of one size (place it before FormatShape, after resizing)')
    return np.stack(imgs)


@TRANSFORMS.register_module()
class VideoAugMix(BaseTransform):
    """Clip-consistent AugMix on ``results['imgs']`` (list of HxWx3 uint8 RGB), uint8 in and out.

    Args:
        severity (int): AugMix severity (magnitude), 1..10; the level of each op is drawn
            uniformly in [0.1, severity]. Default 1 as in the paper.
        width (int): number of op chains mixed. Default 3.
        depth (int): ops per chain; -1 draws 1..3 per chain. Default -1.
        alpha (float): Dirichlet / Beta concentration. Default 1.0.
        prob (float): probability of augmenting a clip. Default 1.0 (configs use 0.5).
        all_ops (bool): include brightness, colour, contrast and sharpness (torchvision's flag).
        interpolation (str): for the geometric ops. Default 'bilinear'.
        fill: value outside the warped image (torchvision's ``fill``); default 0.

    Randomness comes from torch's global RNG (mmengine seeds it, per dataloader worker too).
    Sets ``results['augmix']`` to the chains used (list of [(op, magnitude), ...]) and the
    weights, or None when the clip was left unchanged.
    """

    def __init__(self,
                 severity: int = 1,
                 width: int = 3,
                 depth: int = -1,
                 alpha: float = 1.0,
                 prob: float = 1.0,
                 all_ops: bool = True,
                 interpolation: str = 'bilinear',
                 fill=None) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'VideoAugMix: prob must be in [0, 1], got {prob}')
        if width < 1 or alpha <= 0 or depth == 0:
            raise ValueError(f'VideoAugMix: need width >= 1, alpha > 0 and depth != 0, got '
                             f'width={width}, alpha={alpha}, depth={depth}')
        # torchvision validates severity (1..10) and the fill / interpolation arguments.
        self._tv = _TorchvisionAugMix(severity=severity, mixture_width=width, chain_depth=depth,
                                      alpha=alpha, all_ops=all_ops, interpolation=interpolation,
                                      fill=fill)
        self.severity, self.width, self.depth, self.alpha = severity, width, depth, alpha
        self.prob, self.all_ops = prob, all_ops
        self.space = (self._tv._AUGMENTATION_SPACE
                      if all_ops else self._tv._PARTIAL_AUGMENTATION_SPACE)
        self.op_names: List[str] = list(self.space)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(severity={self.severity}, width={self.width}, '
                f'depth={self.depth}, alpha={self.alpha}, prob={self.prob}, '
                f'all_ops={self.all_ops})')

    def sample_magnitude(self, name: str, height: int, width: int) -> float:
        """One op's parameter at a level drawn uniformly in [0.1, severity] (of 10)."""
        magnitudes_fn, signed = self.space[name]
        ends = magnitudes_fn(2, height, width)  # [value at level 0, value at level 10]
        if ends is None:
            return 0.0
        level = 0.1 + (self.severity - 0.1) * float(torch.rand(()))
        lo, hi = float(ends[0]), float(ends[-1])
        if name == 'Posterize':  # bits kept: 4 - floor(4 * level / 10)
            return float(lo - math.floor((lo - hi) * level / 10))
        magnitude = lo + (hi - lo) * level / 10
        if signed and float(torch.rand(())) < 0.5:
            magnitude = -magnitude
        return magnitude

    def apply_op(self, clip: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
        """One op on a (T, C, H, W) uint8 clip, the same for every frame."""
        tv = self._tv
        if name in CLIP_STATISTIC_OPS:
            t, c, h, w = clip.shape
            tall = clip.permute(1, 0, 2, 3).reshape(c, t * h, w)  # (C, T*H, W)
            tall = tv._apply_image_or_video_transform(
                tall, name, magnitude, interpolation=tv.interpolation, fill=tv._fill)
            return tall.reshape(c, t, h, w).permute(1, 0, 2, 3)
        return tv._apply_image_or_video_transform(
            clip, name, magnitude, interpolation=tv.interpolation, fill=tv._fill)

    def augment_clip(self, clip: torch.Tensor) -> torch.Tensor:
        """AugMix of a (T, C, H, W) uint8 clip with one draw for all frames; returns uint8."""
        height, width = clip.shape[-2:]
        # original-vs-chains weight ~ Beta(alpha, alpha), chain weights ~ Dirichlet(alpha)
        m = torch.distributions.Dirichlet(torch.full((2, ), float(self.alpha))).sample()
        w = torch.distributions.Dirichlet(torch.full((self.width, ),
                                                     float(self.alpha))).sample() * m[1]
        mix = clip.to(torch.float32) * m[0]
        chains = []
        for i in range(self.width):
            depth = self.depth if self.depth > 0 else int(torch.randint(1, 4, ()))
            aug, chain = clip, []
            for _ in range(depth):
                name = self.op_names[int(torch.randint(len(self.op_names), ()))]
                magnitude = self.sample_magnitude(name, height, width)
                aug = self.apply_op(aug, name, magnitude)
                chain.append((name, magnitude))
            mix.add_(aug.to(torch.float32), alpha=float(w[i]))
            chains.append(chain)
        self.last_chains = chains
        self.last_weights = dict(original=float(m[0]), chains=w.tolist())
        return mix.round_().clamp_(0, 255).to(torch.uint8)

    def transform(self, results: dict) -> Optional[dict]:
        if self.prob < 1.0 and float(torch.rand(())) >= self.prob:
            results['augmix'] = None
            return results
        frames = clip_to_array(results, 'VideoAugMix')  # (T, H, W, 3)
        clip = torch.from_numpy(frames).permute(0, 3, 1, 2)  # (T, 3, H, W)
        out = self.augment_clip(clip).permute(0, 2, 3, 1).contiguous().numpy()  # (T, H, W, 3)
        results['imgs'] = list(out)
        results['augmix'] = dict(chains=self.last_chains, weights=self.last_weights)
        return results
