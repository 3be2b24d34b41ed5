"""Run a whole LOSO experiment (or another fold protocol, or the fixed splits of DFME) and write
pooled reports.

    python tools/loso.py configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py  # every fold
    python tools/loso.py configs/megc2019/mer-clip_uniformerv2-b16_2xb8-55e_megc2019-3cls.py \
        --protocol lodo                                                    # 1 dataset out
    python tools/loso.py CONFIG --work-dir work_dirs/x --subjects s00 s01  # a subset of folds
    python tools/loso.py CONFIG --gpus 4                                   # 4 folds side by side
    python tools/loso.py CONFIG --devices 0,1,2,3 --launcher-gpus-per-fold 2  # DDP per fold
    python tools/loso.py CONFIG --parallel 2                               # 2 CPU folds at once
    python tools/loso.py CONFIG --report-only                              # rebuild the reports
    python tools/loso.py CONFIG --write-jobs jobs.txt   # only write the unfinished folds' jobs
    python tools/loso.py CONFIG --fold-cfg-options selection.json          # per-fold schedules
    python tools/loso.py CONFIG --parallel 2 --fold-mode inprocess         # small models: many
                                                                           # folds per process
    python tools/loso.py CONFIG --fold-mode batched            # STSTNet, OFF-ApexNet: all folds
                                                                           # as one model

Killed at any moment, the same command resumes: finished folds are skipped, the interrupted fold
continues from its last epoch checkpoint, and the pooled numbers equal an uninterrupted run.
Each fold is tested on its LAST epoch checkpoint. --select-on-test-fold-UNSAFE reproduces the
MER-CLIP authors' protocol (keep the epoch with the best UF1 on the test subject); it inflates
results.

``--protocol``: ``loso`` (default; one fold per subject), ``lodo`` (leave one dataset out: train on
the other datasets of a joint annotation, test on one) or the name of any record field (one fold
per value). Reports in the work dir: predictions.csv, summary.json, summary.md,
confusion_matrix.png, per_fold.png (fixed splits: confusion_matrix_<split>.png); for a joint
annotation (records with ``dataset``) the pooled metrics of each source dataset too. They always
describe the folds as they were trained (loso_run.json): --report-only refuses a --seed, config,
--protocol or --cfg-options that contradicts it.

``--reproducible``: every fold process (and worker, torchrun rank, data worker) starts with the
pins of :mod:`mer_clip.utils.reproducible` (this process computes nothing, so it does not restart
itself); the mode and its pins are part of the experiment (loso_run.json), and summary.json records
the CPU model, the kernel paths the folds ran and the library versions.

No process of a fold outlives this command (SIGTERM, SIGINT or SIGKILL), and DDP folds get free
rendezvous ports (PORT + slot when PORT is set). A user error ends with one ``error: ...`` line
(--debug adds the traceback).

``--write-jobs FILE`` runs nothing: it records the experiment's identity (refusing a work dir of
another experiment), writes every fold's job (``fold_<value>/fold_job.json``) and lists the job
files of the folds not done yet in FILE, one a line (empty when all are done). A cluster array
runs them, one task a line: ``python -m mer_clip.loso fold --list FILE`` (tools/slurm_loso.sh).
"""
import argparse
import json
import os.path as osp
import sys
import time

import mer_clip  # noqa: F401  (compat, registries)
from mer_clip.loso import LOSOExperiment, parse_device_groups
from mer_clip.utils.atomic_write import atomic_write_text
from mer_clip.utils.cli import add_debug_argument, add_reproducible_argument, run_tool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='LOSO / fixed-split MER experiment')
    p.add_argument('config')
    p.add_argument('--work-dir', help='default: work_dirs/<config name>_loso')
    p.add_argument('--protocol', default=None,
                   help='loso (folds by subject), lodo (leave one dataset out) or a record field '
                   "to fold by; default: the config's fold_key, else loso")
    p.add_argument('--subjects', '--folds', dest='subjects', nargs='+',
                   help='run and report only these folds (subjects; datasets with --protocol '
                   'lodo)')
    dev = p.add_mutually_exclusive_group()
    dev.add_argument('--gpus', type=int, help='use GPUs 0..N-1, one fold per GPU (or group)')
    dev.add_argument('--devices', help='comma-separated device ids, e.g. 0,1,2,3')
    dev.add_argument('--parallel', type=int, default=1, help='CPU folds run side by side')
    p.add_argument('--fold-mode', choices=['subprocess', 'inprocess', 'batched'],
                   help="subprocess: every fold's train and test steps are processes of their own; "
                   'inprocess: one worker process per parallel slot runs its share of the folds '
                   '(same steps and files; for small models, whose folds would spend more time '
                   "starting Python than training); batched: every fold of an STSTNet or "
                   'OFF-ApexNet config as one vectorised training in this process (same seeds, '
                   'batches and files). '
                   "Default: the config's loso_fold_mode, else subprocess")
    p.add_argument('--launcher-gpus-per-fold', type=int, default=1,
                   help='devices per fold; >1 trains each fold with DDP (tools/dist_train.sh)')
    p.add_argument('--seed', type=int, help='seed of every fold (default: randomness.seed)')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='key=value overrides passed to every train and test call')
    p.add_argument('--fold-cfg-options', metavar='JSON',
                   help='per-fold key=value overrides, after --cfg-options: a JSON file '
                   '{"fold": ["key=value", ...]} or the selection.json of '
                   'tools/select_schedule.py (its fold_settings: the schedule of each fold, '
                   'chosen without its test subject)')
    p.add_argument('--select-on-test-fold-UNSAFE', dest='unsafe', action='store_true',
                   help='report the epoch with the best UF1 on the test subject (the authors\' '
                   'protocol). This selects on the test fold and INFLATES results; for reproducing '
                   'their numbers only')
    todo = p.add_mutually_exclusive_group()
    todo.add_argument('--report-only', action='store_true',
                      help='only pool the finished folds into the reports')
    todo.add_argument('--write-jobs', metavar='FILE',
                      help='run nothing: write the fold jobs and list those of the unfinished '
                      'folds in FILE, one a line (for a cluster array, tools/slurm_loso.sh)')
    p.add_argument('--no-plots', action='store_true')
    p.add_argument('--keep-checkpoints', choices=['tested', 'all', 'none'], default='tested',
                   help='after a fold is tested: keep its tested checkpoint, weights only '
                   '(default), every checkpoint, or none (the disk of a LOSO is then one running '
                   "fold's; the predictions stay)")
    p.add_argument('--retrain-changed', action='store_true',
                   help='the annotation changed since the folds were trained (samples added, '
                   'removed or relabelled): retrain exactly the folds whose training set changed '
                   '(re-test those whose test set alone did) instead of refusing; their old files '
                   'go to stale_<time>/')
    add_reproducible_argument(p, more='. Part of the experiment (loso_run.json)')
    p.add_argument('--strict', action='store_true',
                   help='an emotion label that is no known emotion of the class scheme (a typo) '
                   'is an error instead of a warning')
    add_debug_argument(p)
    return p.parse_args(argv)


def run(argv=None):
    args = parse_args(argv)
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] + '_loso')
    groups = parse_device_groups(args.devices, args.gpus, args.launcher_gpus_per_fold,
                                 args.parallel)
    if args.launcher_gpus_per_fold > 1 and groups == [None] * len(groups):
        groups = [[str(i) for i in range(args.launcher_gpus_per_fold)]]
    fold_opts = None
    if args.fold_cfg_options:
        with open(args.fold_cfg_options) as f:
            fold_opts = json.load(f)
        fold_opts = fold_opts.get('fold_settings', fold_opts)
    exp = LOSOExperiment(args.config, work_dir, cfg_options=args.cfg_options, seed=args.seed,
                         fold_cfg_options=fold_opts,
                         subjects=args.subjects, device_groups=groups,
                         select_on_test_fold_unsafe=args.unsafe,
                         keep_checkpoints=args.keep_checkpoints, protocol=args.protocol,
                         strict_labels=args.strict, fold_mode=args.fold_mode,
                         retrain_changed=args.retrain_changed, reproducible=args.reproducible)
    folds = exp.plan()
    if args.unsafe:
        print('[loso] WARNING: --select-on-test-fold-UNSAFE: each fold reports the epoch with the '
              'best UF1 on its own test data. The numbers are inflated and not comparable to a '
              'proper LOSO evaluation.', file=sys.stderr, flush=True)
    if args.write_jobs:
        pending = exp.write_jobs()
        atomic_write_text(args.write_jobs, ''.join(f'{path}\n' for path in pending))
        print(f'[loso] {len(pending)} of {len(folds)} folds to run: {args.write_jobs}')
        return
    kind = exp.fold_list.kind if exp.fold_list.kind != 'loso' else exp.fold_list.title
    print(f'[loso] {kind} protocol: {len(folds)} fold(s) '
          f'({", ".join(f.name for f in folds)}), {exp.fold_list.num_samples} samples, classes '
          f'{exp.fold_list.classes}; work dir {work_dir}; fold mode {exp.fold_mode}; CPU mode '
          f'{"reproducible" if args.reproducible else "default"}', flush=True)
    t0 = time.time()
    summary = exp.report(plots=not args.no_plots) if args.report_only else exp.run()
    for group, m in summary.headline().items():
        print(f'[loso] {group}: UF1 {m["UF1"]:.4f}  UAR {m["UAR"]:.4f}  ACC {m["ACC"]:.4f}')
    if summary.protocol == 'loso':
        sm = summary.subject_mean
        print(f'[loso] (subject mean, reference only: UF1 {sm["UF1"]:.4f}  UAR {sm["UAR"]:.4f}  '
              f'ACC {sm["ACC"]:.4f})')
    print(f'[loso] reports in {work_dir} ({time.time() - t0:.0f}s): '
          + ', '.join(osp.basename(p) for p in summary.report_files.values()))


def main(argv=None) -> int:
    """The tool, with user errors reported in one line (mer_clip.utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
