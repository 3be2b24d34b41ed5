"""Where each clip's onset (neutral) frame sits: ``onset_index`` of the samples' metainfo.

``MESampleFrames`` (and ``LoadClipCache``) record the onset's position among the sampled frames as
``onset_index``, an int, or one int per view for multi-view inputs; ``PackActionInputs`` carries it
in ``meta_keys``. A sample without it has its onset at frame 0. The data preprocessors that need
the onset frame (``LocalStaticFaceMix``, ``OnsetDifferencePreprocessor``) read it here, checked.
"""
from typing import Optional, Sequence

import torch


def onset_indices(data_samples: Optional[Sequence], num: int, num_views: int, clip_len: int,
                  owner: str) -> torch.Tensor:
    """Onset position of every sample and view, (N, num_views) long, each in [0, clip_len).

    ``data_samples`` may be None (every onset at 0); ``owner`` names the caller in the error that
    a missing or out-of-range value raises (it names the sample too).
    """
    rows = []
    for i in range(num):
        meta = data_samples[i].metainfo if data_samples is not None else {}
        value = meta.get('onset_index', 0)
        idx = torch.as_tensor(value, dtype=torch.long).flatten()
        if idx.numel() == 1:
            idx = idx.expand(num_views)
        if idx.numel() != num_views or bool(((idx < 0) | (idx >= clip_len)).any()):
            name = meta.get('sample_id', f'batch index {i}')
            raise ValueError(
                f'{owner}: sample {name}: onset_index={value!r} is not a frame index in '
                f'[0, {clip_len}) (one int, or one per clip of {num_views}); check that the '
                "sampler (MESampleFrames) sets 'onset_index' and PackActionInputs carries it in "
                'meta_keys')
        rows.append(idx)
    return torch.stack(rows)


__all__ = ['onset_indices']
