"""The readers' error: a release file that cannot be converted."""
from ..annotation import AnnotationError


class ReaderError(AnnotationError):
    """A release file that cannot be converted; the message names file, row, column and value."""
