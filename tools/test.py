"""Test a checkpoint with mmengine's Runner and print UF1 / UAR / ACC.

    python tools/test.py configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py \
        work_dirs/.../epoch_20.pth
    tools/dist_test.sh configs/mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py CKPT 2 \
        --dump work_dirs/preds.csv

The checkpoint is read by mer_clip's safe reader (weights only, integrity checked), whatever
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` says. A user error ends with one ``error: ...`` line
(``--debug`` adds the traceback).
"""
import argparse
import os
import os.path as osp
import sys

import mer_clip  # noqa: F401  (applies compat workarounds, registers components)
from mmengine.runner import Runner

from mer_clip.apis.config import load_config
from mer_clip.utils.cli import add_debug_argument, run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test an MER model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the evaluation logs')
    parser.add_argument('--dump', type=str,
                        help='CSV file for per-sample predictions (sample_id, subject, gt, pred, '
                        'scores), used to pool LOSO folds')
    parser.add_argument('--loso-subject', type=str, default=None,
                        help='hold out this subject (LOSO fold): sets loso_subject of the train, '
                        'val and test datasets')
    parser.add_argument('--fold-key', default=None,
                        help='record field that defines the folds, with --held-out: "dataset" '
                        '(leave-one-dataset-out), "subject" (= --loso-subject) or any field')
    parser.add_argument('--held-out', default=None,
                        help='hold out the samples whose --fold-key field (default: the '
                        "config's fold_key, else subject) has this value")
    parser.add_argument('--cfg-options', nargs='+',
                        help='override config settings, key=value (e.g. loso_subject=006)')
    parser.add_argument('--strict', action='store_true',
                        help='an emotion label that is no known emotion of the class scheme (a '
                        'typo) is an error instead of a warning')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def run(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, loso_subject=args.loso_subject,
                      fold_key=args.fold_key, held_out=args.held_out, strict_labels=args.strict)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.dump:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [
            cfg.test_evaluator]
        for ev in evaluators:
            if ev.get('type') == 'MERMetric':
                ev['out_file'] = args.dump
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    print(format_metrics(metrics))


def format_metrics(metrics: dict) -> str:
    """A small table of the headline numbers (UF1, UAR, ACC) first, then the rest."""
    head = [k for k in metrics if k.split('/')[-1] in ('UF1', 'UAR', 'ACC')
            and not k.split('/')[-2:-1] == ['subject_mean']]
    lines = ['| metric | value |', '| --- | --- |']
    lines += [f'| {k} | {metrics[k]:.4f} |' for k in head]
    lines += [f'| {k} | {v:.4f} |' for k, v in metrics.items()
              if k not in head and isinstance(v, float)]
    return '\n'.join(lines)


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
