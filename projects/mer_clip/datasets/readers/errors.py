"""The readers' error: a release file that cannot be converted, and the hint its row
errors end with."""
from ..annotation import AnnotationError

#: How the command line and Python spell "drop bad rows" (error messages name both).
SKIP_HINT = "rerun with --on-error skip (Python: on_error='skip') to drop such rows, counted"


class ReaderError(AnnotationError):
    """A release file that cannot be converted; the message names file, row, column and value."""
