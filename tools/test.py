"""Test a checkpoint with mmengine's Runner and print UF1 / UAR / ACC.

    python tools/test.py configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py \
        work_dirs/.../epoch_20.pth
    tools/dist_test.sh configs/mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py CKPT 2 \
        --dump work_dirs/preds.csv

The checkpoint is read by mer_clip's safe reader (weights only, integrity checked), whatever
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` says, and must give every model tensor its value (a
checkpoint of another layout is refused, naming the key prefixes on both sides;
``--allow-partial-load`` loads it anyway, and the run log says PARTIAL LOAD). A user error ends
with one ``error: ...`` line (``--debug`` adds the traceback).

``--reproducible`` (:mod:`mer_clip.utils.reproducible`): the command restarts itself with the pinned
kernel paths and one thread, so that it tests to the same numbers on any x86-64 processor.
"""
import argparse
import sys

import mer_clip  # noqa: F401  (applies compat workarounds, registers components)
from mer_clip.apis.config import add_config_arguments, config_from_args
from mer_clip.apis.testing import format_metrics, test
from mer_clip.utils.cli import (add_debug_argument, add_partial_load_argument,
                                add_reproducible_argument, run_tool)
from mer_clip.utils.reproducible import reexec_with_pins


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test an MER model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--dump', type=str,
                        help='CSV file for per-sample predictions (sample_id, subject, gt, pred, '
                        'scores), used to pool LOSO folds')
    add_partial_load_argument(parser)
    add_reproducible_argument(parser)
    add_config_arguments(parser)
    add_debug_argument(parser)
    return parser.parse_args(argv)


def run(argv=None, command=None):
    """``command``: the arguments when this process is the tool (it may restart itself)."""
    args = parse_args(argv)
    if args.reproducible:  # restarts this command with the pins unless it has them
        reexec_with_pins(command, __file__)
    cfg = config_from_args(args)
    if args.allow_partial_load:
        cfg.allow_partial_load = True
    print(format_metrics(test(cfg, args.checkpoint, dump=args.dump)))


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(lambda a: run(a, command=a if argv is None else None), argv)


if __name__ == '__main__':
    sys.exit(main())
