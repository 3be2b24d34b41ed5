"""Train a recognizer with mmengine's Runner (OpenMMLab style).

    python tools/train.py configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py
    python tools/train.py configs/mer_clip_samm.py --loso-subject 006 --resume
    tools/dist_train.sh configs/mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py 2 \
        --cfg-options loso_subject=006

``--resume`` (without a path) continues from the checkpoint named in ``work_dir/last_checkpoint``;
cut-off or damaged checkpoints (checked against the sha256 written when they were saved) are
removed first and the newest complete one is used. A user error ends with one ``error: ...`` line
(``--debug`` adds the traceback).
"""
import argparse
import logging
import os
import os.path as osp
import sys

import torch

import mer_clip  # noqa: F401  (applies compat workarounds, registers components)
from mmengine.logging import print_log
from mmengine.runner import Runner

from mer_clip.apis.config import add_config_arguments, config_from_args
from mer_clip.engine.resume import repair_resume_point
from mer_clip.utils.cli import add_debug_argument, run_tool


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
    add_config_arguments(parser)
    add_debug_argument(parser)
    return parser.parse_args(argv)


def merge_args(cfg, args):
    """The training options (validation, AMP, resume, lr scaling, seed) applied to ``cfg``."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper != 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.no_amp or (cfg.optim_wrapper.get('type') == 'AmpOptimWrapper'
                       and not torch.cuda.is_available()):
        disable_amp(cfg, reason='--no-amp' if args.no_amp else 'no CUDA device')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.seed is not None or args.deterministic:
        cfg.setdefault('randomness', dict())
        if args.seed is not None:
            cfg.randomness.seed = args.seed
        cfg.randomness.deterministic = args.deterministic
    return cfg


def disable_amp(cfg, reason: str) -> None:
    """Switch an AmpOptimWrapper config to the float32 OptimWrapper (drops dtype / loss_scale)."""
    if cfg.optim_wrapper.get('type') != 'AmpOptimWrapper':
        return
    cfg.optim_wrapper.type = 'OptimWrapper'
    for key in ('dtype', 'loss_scale'):
        cfg.optim_wrapper.pop(key, None)
    print_log(f'Mixed precision disabled ({reason}): training in float32.', logger='current',
              level=logging.WARNING)


def repair_auto_resume(cfg) -> None:
    """Before an automatic resume, make ``last_checkpoint`` name a complete checkpoint (one
    process does it: rank 0, or the only one)."""
    if not (cfg.get('resume') and cfg.get('load_from') is None):
        return
    if os.environ.get('RANK', '0') != '0' or not osp.isdir(cfg.work_dir):
        return
    note = repair_resume_point(cfg.work_dir)
    if note:
        print_log(f'resume: {note}', logger='current', level=logging.WARNING)


def run(argv=None):
    args = parse_args(argv)
    cfg = config_from_args(args)
    cfg = merge_args(cfg, args)
    repair_auto_resume(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
