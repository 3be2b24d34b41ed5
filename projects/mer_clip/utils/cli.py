"""What every tool does with a user error: one clear line, the traceback only on request.

Tools are thin ``main(argv)`` functions run by :func:`run_tool`. An error a user can fix (a missing
file, a bad annotation, an unusable checkpoint, a wrong option: the ``ValueError`` / ``KeyError`` /
``OSError`` / ``RuntimeError`` families and this package's errors, which name the file and what to
do) ends the tool with exit status 2 and one line on stderr, ``error: <message>``, printed last, so
that it is not lost behind hundreds of log lines. ``--debug`` adds the traceback after it. Other
exceptions (programming errors) keep Python's traceback.
"""
import argparse
import sys
import traceback
from typing import Callable, Optional, Sequence

#: exception families reported as one line (their messages are written for users)
USER_ERRORS = (ValueError, KeyError, IndexError, OSError, RuntimeError, ImportError)


def add_debug_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument('--debug', action='store_true',
                        help='on an error, also print the traceback')
    return parser


def add_reproducible_argument(parser: argparse.ArgumentParser,
                              more: str = '') -> argparse.ArgumentParser:
    """``--reproducible`` (:mod:`mer_clip.utils.reproducible`), one wording for every tool."""
    parser.add_argument('--reproducible', action='store_true',
                        help='CPU runs whose numbers do not depend on the processor: pinned kernel '
                        'paths (ATen, oneDNN, MKL, OpenCV, numpy), one thread, deterministic '
                        'algorithms in every process (docs/reproducibility.md); slower' + more)
    return parser


def add_partial_load_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--allow-partial-load`` (:mod:`mer_clip.engine.checkpoint_fit`) for the tools that load."""
    parser.add_argument('--allow-partial-load', action='store_true',
                        help='load a checkpoint that leaves model tensors at their initialisation '
                        '(refused otherwise); the run log\'s checkpoint line says PARTIAL LOAD')
    return parser


def error_line(err: BaseException) -> str:
    """``error: <message>`` (``KeyError`` messages unquoted; the type when there is no message)."""
    msg = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return f'error: {msg.strip() or type(err).__name__}'


def run_tool(main: Callable[[Optional[Sequence[str]]], Optional[int]],
             argv: Optional[Sequence[str]] = None) -> int:
    """Run ``main(argv)``; returns the exit status (``sys.exit(run_tool(main))``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = '--debug' in argv
    try:
        status = main(argv)
    except KeyboardInterrupt:
        sys.stderr.write('\ninterrupted\n')
        return 130
    except USER_ERRORS as err:
        sys.stdout.flush()
        line = error_line(err)
        sys.stderr.write(line + ('' if debug else '\n(run again with --debug to see the '
                                 'traceback)') + '\n')
        if debug:
            traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        return 2
    return 0 if status is None else int(status)
