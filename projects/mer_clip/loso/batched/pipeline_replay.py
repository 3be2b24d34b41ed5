"""A flow config's training pipeline without its per-sample copies: the same batches, cheaper.

``dataset[i]`` deep-copies the record (mmengine's ``get_data_info``), decodes the cached PNG into
a float image again and packs an ``ActionDataSample``: about 110 us CPU per sample, as much as
the stacked STSTNet step itself (about 105 us per sample at 4 folds). The fold-batched mode needs
only the image and the label, so :class:`PipelineReplay` runs, at every draw of sample ``i``:

- ``LoadMEImage`` once per sample, kept: it is deterministic (the same record gives the same
  image) and draws no random number. Each draw takes a copy of the image, because the flip
  negates ``u`` in place;
- the pipeline's random transforms (``MEFlip``, ``GenerateAUPrompt``) themselves, on a shallow
  copy of the loaded record: they draw the same numbers from NumPy's global generator as in
  ``dataset[i]``, so the next sample and the dropout masks see the same generator state;
- ``FormatShape('NCHW')`` + ``PackActionInputs`` as a view: the (H, W, C) image as (C, H, W).

Only the flow pipelines (exactly these transforms) are replayed: :meth:`PipelineReplay.of` gives
None for any other, and :class:`~.fold_stream.FoldStream` keeps ``dataset[i]``. The stream also
compares a fold's first batch with the real pipeline's, generator states included, and falls
back to ``dataset[i]`` (logged) if they differ.
"""
import copy
from typing import List, Optional, Tuple

import numpy as np

#: the transforms of the flow configs' training pipelines, in order: the loading, the random
#: ones, the formatting
LOAD = 'LoadMEImage'
RANDOM = ('MEFlip', 'GenerateAUPrompt')
FORMAT = ('FormatShape', 'PackActionInputs')


class PipelineReplay:
    """The images and labels ``dataset[i]`` gives, for a flow training pipeline (module doc)."""

    def __init__(self, dataset) -> None:
        transforms = dataset.pipeline.transforms
        self.random = transforms[1:1 + len(RANDOM)]
        load = transforms[0]
        self.loaded = [load(copy.deepcopy(dataset.get_data_info(i)))
                       for i in range(len(dataset))]

    @classmethod
    def of(cls, dataset) -> Optional['PipelineReplay']:
        """A replay of ``dataset``'s pipeline, or None when it is not a flow pipeline replayed
        here (any other transform, or a FormatShape other than NCHW)."""
        transforms = getattr(getattr(dataset, 'pipeline', None), 'transforms', None)
        names = tuple(type(t).__name__ for t in transforms or ())
        if names != (LOAD, ) + RANDOM + FORMAT:
            return None
        if getattr(transforms[names.index('FormatShape')], 'input_format', None) != 'NCHW':
            return None
        return cls(dataset)

    def sample(self, i: int) -> Tuple[np.ndarray, int]:
        """Sample ``i`` through the random transforms: its (H, W, C) float32 image, its label."""
        results = dict(self.loaded[i])
        results['imgs'] = [img.copy() for img in results['imgs']]
        if results.get('au_list') is not None:
            results['au_list'] = list(results['au_list'])
        for transform in self.random:
            results = transform(results)
        [img] = results['imgs']
        return img, int(results['label'])

    def batch(self, ids: List[int]) -> Tuple[np.ndarray, np.ndarray]:
        """(B, H, W, C) images and (B,) labels of the samples ``ids``, drawn in order."""
        samples = [self.sample(i) for i in ids]
        return np.stack([s[0] for s in samples]), np.array([s[1] for s in samples])
