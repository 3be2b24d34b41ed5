"""LocalStaticFaceMix (MER-CLIP, Eq. 1): paste part of another subject's neutral face into a clip.

For clip i of a mini-batch, with probability ``prob``, a partner clip j != i and one facial region M
(forehead, chin, left cheek, right cheek) are drawn, and every frame of i becomes

    x'_t = x_t * (1 - lam * M) + lam * M * onset_j,

where ``onset_j`` is the onset (neutral) frame of j. The partner's face is *static*, so the frame
differences of i inside M are only scaled by (1 - lam) and are unchanged outside M: identity and
appearance change, the micro-movement does not. Labels stay hard and i keeps its own AU prompt.

Used as the ``blending`` of mmaction's :class:`ActionDataPreprocessor`, i.e. applied to the
normalised float batch during training only::

    data_preprocessor=dict(type='ActionDataPreprocessor', mean=..., std=..., format_shape='NCTHW',
                           blending=dict(type='LocalStaticFaceMix', prob=0.5, lam=0.5))
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmaction.registry import MODELS

from .onset_index import onset_indices

# (top, bottom, left, right) as fractions of H and W. "left"/"right" are image coordinates (the
# authors' choice), i.e. "left_cheek" is the subject's right cheek on a non-mirrored face crop.
DEFAULT_REGIONS: Dict[str, Tuple[float, float, float, float]] = {
    'forehead': (0.0, 0.25, 0.0, 1.0),
    'chin': (0.75, 1.0, 0.0, 1.0),
    'left_cheek': (0.25, 0.75, 0.0, 0.5),
    'right_cheek': (0.25, 0.75, 0.5, 1.0),
}


@MODELS.register_module()
class LocalStaticFaceMix:
    """Mini-batch blending that mixes one facial region of another clip's onset frame into a clip.

    Args:
        prob (float): probability that a clip is mixed (drawn independently per clip). Default 0.5.
        lam (float): blend weight of the partner's onset frame inside the region (paper: 0.5).
        regions (dict, optional): ``name -> (top, bottom, left, right)`` fractions of H and W;
            defaults to the authors' quarters (see ``DEFAULT_REGIONS``). A region is drawn
            uniformly per mixed clip.
        seed (int, optional): seed of a private ``torch.Generator``; without it (and without
            ``generator``) the global torch RNG is used, so mmengine's ``randomness.seed`` applies.
            ``RNGStateHook`` re-seeds the private generator at every epoch from ``(seed, epoch)``
            (:meth:`reseed`), so a resumed training draws what an uninterrupted one draws.
        generator (torch.Generator, optional): a CPU generator to draw from (overrides ``seed``).
        inplace (bool): write into ``imgs`` (as mmaction's ``CutmixBlending`` does; the
            preprocessor's batch is a fresh tensor). Set False to work on a copy.

    Input layouts: ``(N, C, T, H, W)`` and ``(N, num_clips, C, T, H, W)``. With several clips
    (views) per sample, one decision (mix or not, partner, region) is drawn per sample and view v of i is
    blended with the onset frame of view v of j. The onset position comes from
    ``data_samples[j].metainfo.get('onset_index', 0)`` (an int, or one int per view;
    :mod:`.onset_index`).

    A batch of one has no partner: it is returned unchanged (nothing is mixed). The authors let
    j equal i (a no-op mix); here j is drawn uniformly among the other N - 1 clips.

    After each call ``last_mix_info`` holds what was done: ``mixed`` (bool, (N,)), ``partner`` and
    ``region`` (long, (N,), -1 where not mixed), ``onset_index`` ((N, num_clips) onset positions)
    and ``region_names``.

    Not a :class:`BaseMiniBatchBlending`: that base converts labels to soft labels, which this
    augmentation must not do; so it is not usable inside ``RandomBatchAugment``.
    """

    def __init__(self,
                 prob: float = 0.5,
                 lam: float = 0.5,
                 regions: Optional[Dict[str, Sequence[float]]] = None,
                 seed: Optional[int] = None,
                 generator: Optional[torch.Generator] = None,
                 inplace: bool = True) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'LocalStaticFaceMix: prob must be in [0, 1], got {prob}')
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f'LocalStaticFaceMix: lam must be in [0, 1], got {lam}')
        regions = dict(DEFAULT_REGIONS if regions is None else regions)
        if not regions:
            raise ValueError('LocalStaticFaceMix: regions must not be empty')
        for name, box in regions.items():
            if len(box) != 4:
                raise ValueError(f'LocalStaticFaceMix: region {name!r} must be (top, bottom, '
                                 f'left, right) fractions, got {box}')
            top, bottom, left, right = (float(v) for v in box)
            if not (0.0 <= top < bottom <= 1.0 and 0.0 <= left < right <= 1.0):
                raise ValueError(f'LocalStaticFaceMix: region {name!r} = {box} is not a '
                                 'non-empty box inside [0, 1] x [0, 1]')
        self.prob = float(prob)
        self.lam = float(lam)
        self.regions = {k: tuple(float(v) for v in box) for k, box in regions.items()}
        self.region_names: List[str] = list(self.regions)
        if generator is None and seed is not None:
            generator = torch.Generator().manual_seed(int(seed))
        self.seed = None if seed is None else int(seed)
        self.generator = generator
        self.inplace = inplace
        self.last_mix_info: Optional[dict] = None

    def reseed(self, epoch: int) -> None:
        """Set the private generator (``seed``) to the state of ``epoch``: a function of
        ``(seed, epoch)`` only, so that a resumed run continues with the same draws."""
        if self.seed is not None and self.generator is not None:
            state = np.random.SeedSequence([self.seed, int(epoch)]).generate_state(1)
            self.generator.manual_seed(int(state[0]))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, lam={self.lam}, '
                f'regions={self.regions}, inplace={self.inplace})')

    def region_bounds(self, height: int, width: int) -> List[Tuple[int, int, int, int]]:
        """Pixel bounds ``(y0, y1, x0, x1)`` (half-open) of each region for an H x W frame."""
        bounds = []
        for name, (top, bottom, left, right) in self.regions.items():
            y0, y1 = int(round(top * height)), int(round(bottom * height))
            x0, x1 = int(round(left * width)), int(round(right * width))
            if y1 <= y0 or x1 <= x0:
                raise ValueError(f'LocalStaticFaceMix: region {name!r} is empty on a '
                                 f'{height}x{width} frame; use larger frames or wider fractions')
            bounds.append((y0, y1, x0, x1))
        return bounds

    def __call__(self, imgs: torch.Tensor, data_samples=None,
                 **kwargs) -> Tuple[torch.Tensor, list]:
        """Blend a batch. imgs: (N, C, T, H, W) or (N, num_clips, C, T, H, W) float."""
        if kwargs:
            raise TypeError(f'LocalStaticFaceMix: unexpected arguments {sorted(kwargs)}')
        if imgs.ndim not in (5, 6):
            raise ValueError(
                'LocalStaticFaceMix expects (N, C, T, H, W) or (N, num_clips, C, T, H, W) clips '
                f'(format_shape NCTHW), got shape {tuple(imgs.shape)}')
        if not imgs.is_floating_point():
            raise TypeError('LocalStaticFaceMix blends normalised float inputs; got '
                            f'{imgs.dtype} (place it as the blending of the data preprocessor)')
        out = imgs if self.inplace else imgs.clone()
        clips = out if out.ndim == 6 else out.unsqueeze(1)  # (N, V, C, T, H, W), a view of out
        num, num_views, _, clip_len, height, width = clips.shape
        if data_samples is not None and len(data_samples) != num:
            raise ValueError(f'LocalStaticFaceMix: {len(data_samples)} data samples for a batch '
                             f'of {num} clips')

        onset = onset_indices(data_samples, num, num_views, clip_len,
                              'LocalStaticFaceMix')  # (N, V)
        none = torch.full((num, ), -1, dtype=torch.long)
        self.last_mix_info = dict(mixed=torch.zeros(num, dtype=torch.bool), partner=none,
                                  region=none.clone(), onset_index=onset,
                                  region_names=list(self.region_names))
        if num < 2 or self.prob == 0.0:
            return out, data_samples  # no partner for a single clip / nothing to do

        # All draws on the CPU (N numbers), then moved: identical results on every device.
        gen = self.generator
        mixed = torch.rand(num, generator=gen) < self.prob
        # j = i + s (mod N), s uniform in 1..N-1: uniform over the other clips, never i itself.
        shift = torch.randint(1, num, (num, ), generator=gen)
        partner = (torch.arange(num) + shift) % num
        region = torch.randint(len(self.region_names), (num, ), generator=gen)
        self.last_mix_info.update(mixed=mixed, partner=torch.where(mixed, partner, -1),
                                  region=torch.where(mixed, region, -1))
        if not bool(mixed.any()):
            return out, data_samples

        dev = clips.device
        partner_d, onset_d = partner.to(dev), onset.to(dev)
        views = torch.arange(num_views, device=dev)
        # Partner onset frames, gathered before anything is written: (N, V, C, H, W)
        onset_frames = clips[partner_d[:, None], views[None, :], :, onset_d[partner_d]]

        for r, (y0, y1, x0, x1) in enumerate(self.region_bounds(height, width)):
            sel = torch.nonzero(mixed & (region == r)).flatten()
            if sel.numel() == 0:
                continue
            sel = sel.to(dev)
            patch = clips[sel, ..., y0:y1, x0:x1]  # (k, V, C, T, h, w), a copy
            static = onset_frames[sel, ..., y0:y1, x0:x1].unsqueeze(3)  # (k, V, C, 1, h, w)
            # Eq. 1 inside M: x * (1 - lam) + lam * onset_j, the same static patch every frame
            patch.lerp_(static.to(patch.dtype), self.lam)
            clips[sel, ..., y0:y1, x0:x1] = patch
        return out, data_samples
