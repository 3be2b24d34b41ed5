from .mer_uniformerv2 import MERUniFormerV2  # noqa: F401
from .ststnet import STSTNet  # noqa: F401
from .off_apexnet import OFFApexNet  # noqa: F401
from .feature_map_tokens import FeatureMapTokens  # noqa: F401
from .visual_features import VisualFeatures, split_fused_and_tokens  # noqa: F401
from .htnet import HTNet  # noqa: F401
