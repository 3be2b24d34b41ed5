"""Onset-difference input: every frame minus the clip's onset (neutral) frame, in the preprocessor.

A micro-expression is a movement of a few pixels on a face whose static appearance (identity,
skin, hair, lighting) carries far more pixel energy. A pretrained encoder (CLIP / SSV2 weights, the
paper's setting) already separates the two; a small encoder trained from scratch on a hundred clips
does not: on the synthetic set the tiny UniFormerV2 fed raw frames does not even fit its training
clips in hundreds of steps (its predictions group by subject), while on onset differences it fits
them in a few epochs. Subtracting the onset frame removes the identity and keeps the movement (the
apex-minus-onset difference image is a classic ME representation). Used by the tiny synthetic
configs only; the paper's configs feed raw frames.

Done here rather than in the data pipeline so that the pipeline still yields uint8 frames and the
paper's frame augmentations (AugMix, colour jitter, flip) act on frames, not on differences. The
blending that follows (``LocalStaticFaceMix``) sees an all-zero onset frame, so a mixed region is
scaled by ``1 - lam``: exactly what it does to the frame differences of raw clips (its docstring),
i.e. differencing and mixing commute.
"""
from typing import List, Tuple

import torch
from mmaction.models.data_preprocessors import ActionDataPreprocessor
from mmaction.registry import MODELS
from mmaction.utils import SampleList
from mmengine.model.utils import stack_batch

from .onset_index import onset_indices


@MODELS.register_module()
class OnsetDifferencePreprocessor(ActionDataPreprocessor):
    """``ActionDataPreprocessor`` that first replaces each frame by ``frame - onset frame``.

    The onset position of sample i is ``data_samples[i].metainfo['onset_index']`` (set by
    ``MESampleFrames``; 0 when absent; an int, or one per view for multi-view inputs;
    :mod:`.onset_index`). Then the usual normalisation (use ``mean=0`` and a ``std`` in grey
    levels) and training-time blending.
    Only ``format_shape='NCTHW'`` (with or without a views axis) is supported.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.format_shape != 'NCTHW':
            raise ValueError('OnsetDifferencePreprocessor needs format_shape="NCTHW" (frames on '
                             f'axis -3), got {self.format_shape!r}')

    def preprocess(self, inputs: List[torch.Tensor], data_samples: SampleList,
                   training: bool = False) -> Tuple:
        batch = stack_batch(inputs).float()  # (N, [V,] C, T, H, W)
        clips = batch if batch.ndim == 6 else batch.unsqueeze(1)  # (N, V, C, T, H, W)
        num, views, _, frames = clips.shape[:4]
        onset = onset_indices(data_samples, num, views, frames,
                              'OnsetDifferencePreprocessor')  # (N, V)
        for i in range(num):
            for v in range(views):
                clips[i, v] -= clips[i, v, :, int(onset[i, v])].clone().unsqueeze(1)
        return super().preprocess(list(batch), data_samples, training)
