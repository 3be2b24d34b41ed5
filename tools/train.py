"""Train a recognizer with mmengine's Runner (OpenMMLab style).

    python tools/train.py configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py
    python tools/train.py configs/mer_clip_samm.py --loso-subject 006 --resume
    tools/dist_train.sh configs/mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py 2 \
        --cfg-options loso_subject=006

``--resume`` (without a path) continues from the checkpoint named in ``work_dir/last_checkpoint``;
cut-off or damaged checkpoints (checked against the sha256 written when they were saved) are
removed first and the newest complete one is used. A user error ends with one ``error: ...`` line
(``--debug`` adds the traceback).

``--reproducible`` (:mod:`mer_clip.utils.reproducible`): the command restarts itself with the pinned
kernel paths and one thread, so that it trains to the same numbers on any x86-64 processor.
"""
import argparse
import sys

import mer_clip  # noqa: F401  (applies compat workarounds, registers components)
from mer_clip.apis.config import add_config_arguments, config_from_args
from mer_clip.apis.training import apply_train_options, train
from mer_clip.utils.cli import (add_debug_argument, add_partial_load_argument,
                                add_reproducible_argument, run_tool)
from mer_clip.utils.reproducible import reexec_with_pins


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train an MER model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or the latest one in work_dir '
                        'when no path is given')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument('--no-amp', action='store_true',
                        help='train in float32 even if the config uses AmpOptimWrapper (automatic '
                        'on machines without CUDA, where mmengine cannot run AmpOptimWrapper)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr with the total batch size (auto_scale_lr in config)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='set deterministic options for CUDNN')
    add_partial_load_argument(parser)
    add_reproducible_argument(parser)
    add_config_arguments(parser)
    add_debug_argument(parser)
    return parser.parse_args(argv)


def merge_args(cfg, args):
    """The training options of the command line applied to ``cfg``
    (:func:`mer_clip.apis.training.apply_train_options`)."""
    return apply_train_options(cfg, resume=args.resume, amp=args.amp, no_amp=args.no_amp,
                               validate=not args.no_validate, auto_scale_lr=args.auto_scale_lr,
                               seed=args.seed, deterministic=args.deterministic,
                               allow_partial_load=args.allow_partial_load)


def run(argv=None, command=None):
    """``command``: the arguments when this process is the tool (it may restart itself)."""
    args = parse_args(argv)
    if args.reproducible:  # restarts this command with the pins unless it has them
        reexec_with_pins(command, __file__)
    train(merge_args(config_from_args(args), args))


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(lambda a: run(a, command=a if argv is None else None), argv)


if __name__ == '__main__':
    sys.exit(main())
