"""Colour jitter that applies one and the same pixel-wise colour map to every frame of a clip.

mmaction's :class:`ColorJitter` draws its four factors once per clip (good), but
(a) its contrast step blends each frame towards that frame's own mean grey level, so frames whose
    mean differs (a moving face) get different offsets: fake flicker that a micro-expression model
    can read as motion;
(b) its order of the four operations is drawn once at construction, not per clip;
(c) it has no probability;
(d) its hue step adds a negative Python int to a uint8 array, which numpy >= 2 rejects
    (OverflowError for every negative shift), and scales the shift by 255 on OpenCV's 180-step
    hue circle.
:class:`VideoColorJitter` keeps mmaction's operations and ranges and fixes all four: the contrast
reference is the mean grey level of the whole clip, the order is drawn per clip, ``prob`` gates
the transform, and the hue shift is ``hue * 180`` OpenCV steps computed in int16. Every frame goes
through the same map, so equal input pixels give equal output pixels in every frame.
"""
import cv2
import numpy as np

from mmaction.datasets.transforms import ColorJitter
from mmaction.registry import TRANSFORMS

from .augmix import clip_to_array


@TRANSFORMS.register_module()
class VideoColorJitter(ColorJitter):
    """Clip-consistent colour jitter (arguments as mmaction's ColorJitter, plus ``prob``).

    Args:
        brightness, contrast, saturation (float | tuple[float]): factor ranges; a float v means
            (1 - v, 1 + v). Defaults 0.5 as mmaction.
        hue (float | tuple[float]): hue shift range (fraction of the hue circle), default 0.1.
        prob (float): probability of jittering a clip. Default 1.0 (configs use 0.5).

    Reads and writes ``results['imgs']`` (list of HxWx3 uint8 RGB); sets ``results['color_jitter']``
    to the factors used (or None when not applied).
    """

    def __init__(self, brightness=0.5, contrast=0.5, saturation=0.5, hue=0.1, prob=1.0):
        super().__init__(brightness=brightness, contrast=contrast, saturation=saturation,
                         hue=hue)
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'VideoColorJitter: prob must be in [0, 1], got {prob}')
        self.prob = prob

    @staticmethod
    def shift_hue(img: np.ndarray, factor: float) -> np.ndarray:
        """Rotate the hue of an RGB float image by ``factor`` of the full circle."""
        hsv = cv2.cvtColor(np.clip(np.rint(img), 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
        hue = hsv[..., 0].astype(np.int16) + int(round(factor * 180))  # OpenCV hue: 0..179
        hsv[..., 0] = np.mod(hue, 180).astype(np.uint8)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            results['color_jitter'] = None
            return results
        clip = clip_to_array(results, 'VideoColorJitter').astype(np.float32)  # (T, H, W, 3)
        num_frames, height, width, _ = clip.shape
        factors = dict(
            brightness=np.random.uniform(*self.brightness),
            contrast=np.random.uniform(*self.contrast),
            saturation=np.random.uniform(*self.saturation),
            hue=np.random.uniform(*self.hue))
        order = np.random.permutation(4)
        for fn_id in order:
            if fn_id == 0:
                clip *= factors['brightness']
            elif fn_id == 1:  # one reference grey level for the whole clip
                c = factors['contrast']
                clip = c * clip + (1 - c) * np.mean(self.rgb_to_grayscale(clip))
            elif fn_id == 2:
                s = factors['saturation']
                clip = s * clip + (1 - s) * self.rgb_to_grayscale(clip)[..., None]
            elif factors['hue'] != 0:  # cv2 per pixel: the clip as one (T*H, W, 3) image
                clip = self.shift_hue(clip.reshape(num_frames * height, width, 3),
                                      factors['hue']).reshape(clip.shape)
        out = np.clip(np.rint(clip), 0, 255).astype(np.uint8)
        results['imgs'] = list(out)
        results['color_jitter'] = dict(factors, order=order.tolist())
        return results

    def __repr__(self):
        return super().__repr__()[:-1] + f', prob={self.prob})'
