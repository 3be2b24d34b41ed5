"""Choose the training schedule of a LOSO comparison on inner-validation subjects (cross-fitted:
the schedule of each fold is chosen without its test subject; mer_clip/loso/selection.py).

    python tools/select_schedule.py configs/megc2019/ststnet_flow-28px_1xb32-40e_megc2019-3cls.py \
        configs/megc2019/mer-clip_ststnet-flow-28px_1xb32-40e_megc2019-3cls.py \
        --setting "optim_wrapper.optimizer.lr=0.001 train_cfg.max_epochs=20 ..." \
        --setting "..." --groups 5 --workers 2 --out work_dirs/selection

Each ``--setting`` is one candidate: ``--cfg-options`` strings applied to every config. The
subjects of the configs' annotation are dealt into ``--groups`` groups stratified by dataset; for
group j every config trains (in-process, last epoch) on the subjects outside G_j and G_j+1 and is
scored on G_j+1; the setting with the best UF1 averaged over the configs is chosen for the LOSO
folds of G_j's subjects. Prints and writes ``selection.json`` / ``selection.md`` in ``--out``;
runs already finished there are reused (the command resumes).
"""
import argparse
import multiprocessing as mp
import os
import os.path as osp
import shlex
import sys
import time

import mer_clip  # noqa: F401
from mer_clip.loso.selection import (choose, group_annotation, setting_names, subject_groups,
                                     summary_markdown, write_result)
from mer_clip.loso.summary import LOSOSummary
from mer_clip.utils.cli import add_debug_argument, run_tool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('configs', nargs='+', help='the configs of the comparison (same data)')
    p.add_argument('--setting', action='append', required=True,
                   help='one candidate schedule: cfg-options, space separated (repeat)')
    p.add_argument('--groups', type=int, default=5, help='subject groups (default 5)')
    p.add_argument('--group-seed', type=int, default=0, help='seed of the subject groups')
    p.add_argument('--seed', type=int, default=0, help='training seed of every run')
    p.add_argument('--workers', type=int, default=1, help='runs side by side (processes)')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='options of every run (e.g. the annotation file)')
    p.add_argument('--out', required=True, help='folder of the runs and the result')
    add_debug_argument(p)
    return p.parse_args(argv)


def _run_one(job):
    """One training + test (fixed split: train / test = inner validation), in this process."""
    from mer_clip.loso.inprocess import run_jobs
    from mer_clip.loso.runner import LOSOExperiment
    config, work_dir, options, seed = job
    done = osp.join(work_dir, 'summary.json')
    if not osp.exists(done):
        exp = LOSOExperiment(config, work_dir, cfg_options=options, seed=seed,
                             fold_mode='inprocess')
        exp.plan()
        exp.prepare_work_dir()
        with open(osp.join(work_dir, 'runs.log'), 'a') as log:
            status = run_jobs(exp.folds, log=lambda m: (log.write(m + '\n'), log.flush()))
        if status:
            raise RuntimeError(f'{work_dir}: the run failed; see {work_dir}/runs.log and the '
                               'fold logs')
        exp.report(plots=False)
    return LOSOSummary.load(done).splits['test']['UF1']


def _init_worker():
    from mer_clip.loso.scheduler import _set_pdeathsig
    _set_pdeathsig()  # a worker dies with the tool
    import torch
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))


def run(argv=None):
    args = parse_args(argv)
    from mer_clip.apis.config import load_config
    from mer_clip.loso.folds import build_index_dataset
    cfg = load_config(args.configs[0], args.cfg_options)
    dataset = build_index_dataset(cfg)
    records = [dataset.get_data_info(i) for i in range(len(dataset))]
    ann_file = dataset.ann_file
    groups = subject_groups(records, args.groups, args.group_seed)
    os.makedirs(args.out, exist_ok=True)
    # records as the annotation file holds them (the dataset joined paths with data_prefix)
    from mer_clip.datasets.annotation import load_annotations
    file_meta, raw = load_annotations(ann_file)
    anns = []
    for j in range(args.groups):
        path = osp.abspath(osp.join(args.out, f'annotations_g{j}.json'))
        counts = group_annotation(raw, groups, j, path, file_meta)
        print(f'[select] G{j}: {len(groups[j])} subjects left out; validation '
              f'G{(j + 1) % args.groups} ({counts.get("test", 0)} samples), training '
              f'{counts.get("train", 0)} samples')
        anns.append(path)
    settings = [shlex.split(s) for s in args.setting]
    names = setting_names(settings)
    if len(set(names)) != len(names):
        raise ValueError(f'two settings have the same options: {names}')
    jobs, keys = [], []
    for j, ann in enumerate(anns):
        data = [f'{loader}.dataset.ann_file={ann}' for loader in
                ('train_dataloader', 'val_dataloader', 'test_dataloader')]
        for setting, name in zip(settings, names):
            for config in args.configs:
                stem = osp.splitext(osp.basename(config))[0]
                work_dir = osp.join(args.out, stem, name, f'g{j}')
                jobs.append((config, work_dir, list(args.cfg_options) + data + setting,
                             args.seed))
                keys.append((name, stem, j))
    print(f'[select] {len(jobs)} runs ({len(settings)} settings x {len(args.configs)} configs x '
          f'{args.groups} groups), {args.workers} at a time; folder {args.out}', flush=True)
    t0 = time.time()
    scores = {n: {osp.splitext(osp.basename(c))[0]: {} for c in args.configs} for n in names}
    if args.workers > 1:
        with mp.get_context('spawn').Pool(args.workers, initializer=_init_worker) as pool:
            for i, ((name, stem, j), uf1) in enumerate(zip(keys, pool.imap(_run_one, jobs))):
                scores[name][stem][j] = uf1
                print(f'[select] {i + 1}/{len(jobs)} {stem} {name} G{j}: UF1 {uf1:.4f} '
                      f'({time.time() - t0:.0f}s)', flush=True)
    else:
        for i, ((name, stem, j), job) in enumerate(zip(keys, jobs)):
            scores[name][stem][j] = _run_one(job)
            print(f'[select] {i + 1}/{len(jobs)} {stem} {name} G{j}: UF1 '
                  f'{scores[name][stem][j]:.4f} ({time.time() - t0:.0f}s)', flush=True)
    chosen = choose(scores, args.groups)
    result = dict(ann_file=ann_file, k=args.groups, seed=args.group_seed, train_seed=args.seed,
                  configs=[osp.splitext(osp.basename(c))[0] for c in args.configs],
                  settings={n: s for n, s in zip(names, settings)},
                  scores={n: {c: {str(j): v for j, v in per.items()} for c, per in sc.items()}
                          for n, sc in scores.items()},
                  chosen={str(j): n for j, n in chosen.items()}, groups=groups,
                  fold_settings={s: settings[names.index(chosen[j])]
                                 for j, g in enumerate(groups) for s in g},
                  seconds=time.time() - t0)
    write_result(result, args.out)
    print(summary_markdown(result))
    same = len(set(chosen.values())) == 1
    what = 'one setting for every fold' if same else 'the groups chose different settings'
    print(f'[select] {what}: {sorted(set(chosen.values()))}; '
          f'{osp.join(args.out, "selection.md")}')


def main(argv=None) -> int:
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
