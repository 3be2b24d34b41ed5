"""Compare a finished LOSO run with the README's numbers: exact in the reproducible mode, inside the
seed range in the default mode (mer_clip.loso.reference_results).

    python tools/check_result.py work_dirs/demo

Exit status 0 when the run matches (exact or inside the range) or the README has no number for it,
1 when it does not match.
"""
import argparse
import sys

from mer_clip.loso.reference_results import check_against_reference
from mer_clip.loso.summary import LOSOSummary
from mer_clip.utils.cli import add_debug_argument, run_tool


def run(argv=None):
    p = argparse.ArgumentParser(description='a LOSO run beside the README\'s numbers')
    p.add_argument('work_dir', help='a tools/loso.py work dir (or its summary.json)')
    add_debug_argument(p)
    args = p.parse_args(argv)
    lines = check_against_reference(LOSOSummary.load(args.work_dir))
    print('\n'.join(lines))
    return 1 if lines[-1].startswith(('[check] DIFFERENT', '[check] OUTSIDE')) else 0


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
