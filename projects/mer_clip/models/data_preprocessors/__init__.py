
from .local_static_face_mix import LocalStaticFaceMix  # noqa: F401
from .no_copy import NoCopyActionDataPreprocessor  # noqa: F401
from .onset_difference import OnsetDifferencePreprocessor  # noqa: F401
