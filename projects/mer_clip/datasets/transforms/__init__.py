from .loading import LoadMEFrames, LoadMEVideo  # noqa: F401
from .sampling import MESampleFrames, sample_me_indices  # noqa: F401
from .clip_cache import LoadClipCache  # noqa: F401
from .augmix import VideoAugMix  # noqa: F401
from .color_jitter import VideoColorJitter  # noqa: F401
from .flip import MEFlip, swap_au_sides  # noqa: F401
from .au_prompt import GenerateAUPrompt  # noqa: F401
from .image_loading import LoadMEImage  # noqa: F401
from .image_geometry import MEImageRandomResizedCrop, MEImageResize  # noqa: F401
from .facial_areas import CropFacialAreas  # noqa: F401
