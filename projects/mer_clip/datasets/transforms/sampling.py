"""Onset/apex/offset-preserving temporal sampling of a micro-expression clip.

A micro-expression lives between its onset and offset; the apex carries the strongest motion. Uniform
sampling can skip the apex of a 0.2 s movement, so we always keep the three key frames and spread the
remaining frames over onset->apex and apex->offset in proportion to their lengths (the temporally
adaptive sampling of ME-PLAN).
"""
from typing import Dict, List, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmaction.registry import TRANSFORMS


def _spread(lo: int, hi: int, n: int) -> List[int]:
    """``n`` distinct frame numbers strictly between ``lo`` and ``hi``, evenly spaced."""
    if n <= 0:
        return []
    pos = lo + (hi - lo) * np.arange(1, n + 1) / (n + 1)
    return np.floor(pos + 0.5).astype(np.int64).tolist()


def sample_me_indices(onset: int, apex: Optional[int], offset: int, clip_len: int = 16) -> np.ndarray:
    """Frame numbers (sorted, length ``clip_len``) that always include onset, apex and offset.

    Args:
        onset, offset: first and last frame numbers of the expression (inclusive).
        apex: apex frame number, or None when unknown (then frames are spread uniformly).
        clip_len: number of frames to return.

    Returns:
        np.int64 array of shape (clip_len,). Clips shorter than ``clip_len`` repeat frames
        (nearest-neighbour upsampling in time), so every frame of the clip appears at least once.
    """
    onset, offset = int(onset), int(offset)
    if offset < onset:
        raise ValueError(f'offset ({offset}) is before onset ({onset})')
    if apex is not None and not onset <= int(apex) <= offset:
        raise ValueError(f'apex ({apex}) is outside [onset, offset] = [{onset}, {offset}]')
    if clip_len < 1:
        raise ValueError(f'clip_len must be >= 1, got {clip_len}')
    num_frames = offset - onset + 1
    if apex is None or num_frames <= clip_len or clip_len < 3:
        inds = np.floor(np.linspace(onset, offset, clip_len) + 0.5).astype(np.int64)
        if apex is not None and clip_len >= 3 and apex not in inds:
            # only reachable for very short targets; put the apex at its nearest slot
            inds[np.argmin(np.abs(inds - apex))] = apex
            inds.sort()
        return inds

    anchors = sorted({onset, int(apex), offset})
    free = clip_len - len(anchors)
    # interior capacity of each segment between consecutive anchors
    caps = np.array([b - a - 1 for a, b in zip(anchors[:-1], anchors[1:])])
    # proportional allocation (largest remainder), capped by capacity
    share = free * caps / caps.sum()
    alloc = np.minimum(np.floor(share).astype(int), caps)
    order = np.argsort(-(share - np.floor(share)), kind='stable')
    while alloc.sum() < free:
        for k in order:
            if alloc.sum() < free and alloc[k] < caps[k]:
                alloc[k] += 1
    inds = list(anchors)
    for (a, b), n in zip(zip(anchors[:-1], anchors[1:]), alloc):
        inds.extend(_spread(a, b, int(n)))
    return np.array(sorted(inds), dtype=np.int64)


@TRANSFORMS.register_module()
class MESampleFrames(BaseTransform):
    """Sample ``clip_len`` frame numbers of one ME clip, keeping onset, apex and offset.

    Required keys: ``onset``, ``offset`` (and ``apex``, may be None).
    Added keys: ``frame_inds`` (absolute frame numbers, sorted), ``clip_len``, ``num_clips`` (1),
    ``frame_interval`` (None), ``onset_index`` and ``apex_index`` (positions inside the clip).
    Sampling is deterministic (the key frames are the information), so train and test agree.
    """

    def __init__(self, clip_len: int = 16) -> None:
        self.clip_len = clip_len

    def transform(self, results: Dict) -> Dict:
        try:
            inds = sample_me_indices(results['onset'], results.get('apex'), results['offset'],
                                     self.clip_len)
        except ValueError as e:
            raise ValueError(f'sample {results.get("sample_id", "?")}: {e}; fix its onset/apex/'
                             'offset in the annotation file') from e
        results['frame_inds'] = inds
        results['clip_len'] = self.clip_len
        results['num_clips'] = 1
        results['frame_interval'] = None
        results['onset_index'] = 0
        apex = results.get('apex')
        results['apex_index'] = int(np.searchsorted(inds, apex)) if apex is not None else (
            self.clip_len // 2)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_len={self.clip_len})'
