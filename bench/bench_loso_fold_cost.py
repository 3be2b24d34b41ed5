"""The fixed and per-epoch cost of one LOSO fold of a small flow model, and the two fold modes of
tools/loso.py side by side.

Part 1, breakdown of one fold (``--config``, default STSTNet on the MEGC2019 composite; fold
``--subject``), wall and CPU seconds of each piece:

- process start + imports: ``python -c 'import torch, mmengine.runner, mmaction, mer_clip'``, as
  tools/train.py and tools/test.py pay them in a fresh process (median of 3);
- training: Runner build; every epoch split into data loading (pipeline + collation), the
  network's ``train_step`` (data preprocessor, forward, backward, optimizer) and the Runner's own
  work (hooks, logging, schedulers); the final checkpoint write; mmengine's config formatting
  (``Config.pretty_text``: yapf, run at ``before_run`` and for every checkpoint's meta);
- test: Runner build + loading the checkpoint + the pass over the held-out subject.

Part 2, end to end: ``tools/loso.py --subjects <K subjects> --parallel 1`` in ``--fold-mode
subprocess`` and ``--fold-mode inprocess``, in turn (A B A B ...), wall and CPU seconds (the
children's), the ratio pair by pair; the folds' predictions of both modes are compared.

    python bench/bench_loso_fold_cost.py                        # both parts, defaults
    python bench/bench_loso_fold_cost.py --folds 4 --repeats 2 --json out.json

Needs the converted composite (data/megc2019_htnet/annotations.json, docs/prepare_data.md). One
thread per process (OMP_NUM_THREADS=1). The machine's load (printed) moves wall times; CPU seconds
move less.
"""
import argparse
import json
import os
import os.path as osp
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/megc2019/ststnet_flow-28px_1xb32-40e_megc2019-3cls.py'
IMPORTS = 'import torch, mmengine.runner, mmaction, mer_clip'


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Clock:
    """Wall and CPU seconds of a block: ``with clock('name'): ...``; repeated names add up."""

    def __init__(self):
        self.wall, self.cpu = {}, {}

    def add(self, name, wall, cpu):
        self.wall[name] = self.wall.get(name, 0.0) + wall
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu

    def __call__(self, name):
        clock = self

        class _Block:
            def __enter__(self):
                self.t, self.c = time.perf_counter(), cpu_self()

            def __exit__(self, *exc):
                clock.add(name, time.perf_counter() - self.t, cpu_self() - self.c)
        return _Block()


def import_cost(python: str, runs: int = 3):
    walls, cpus = [], []
    env = dict(os.environ, OMP_NUM_THREADS='1')
    for _ in range(runs):
        c0, t0 = cpu_children(), time.perf_counter()
        subprocess.run([python, '-c', IMPORTS], check=True, env=env, cwd=REPO)
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu_children() - c0)
    return statistics.median(walls), statistics.median(cpus)


def fold_breakdown(config: str, subject: str, work_dir: str, cfg_options):
    """Train and test one fold in this process, timing each piece (module docstring)."""
    import torch
    torch.set_num_threads(1)
    import mer_clip  # noqa: F401
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    from mer_clip.datasets.protocol import apply_fold
    from mer_clip.apis.config import apply_cfg_options

    clock = Clock()
    pretty = Config.pretty_text

    def timed_pretty(self):
        with clock('config formatting (pretty_text)'):
            return pretty.fget(self)
    Config.pretty_text = property(timed_pretty)

    def fold_config(test_ckpt=None):
        cfg = Config.fromfile(osp.join(REPO, config))
        apply_cfg_options(cfg, cfg_options)
        apply_fold(cfg, subject, None, None)
        cfg.work_dir = work_dir if test_ckpt is None else osp.join(work_dir, 'test')
        cfg.randomness.seed = 0
        cfg.log_level = 'WARNING'
        if test_ckpt:
            cfg.load_from = test_ckpt
        return cfg

    class EpochTimer(Hook):
        def __init__(self):
            self.epochs = []

        def before_train_epoch(self, runner):
            self.t, self.c = time.perf_counter(), cpu_self()

        def after_train_epoch(self, runner):
            self.epochs.append((time.perf_counter() - self.t, cpu_self() - self.c))

    class TimedLoader:
        """The train dataloader, timing each ``next()`` (pipeline + collation)."""

        def __init__(self, loader):
            self._loader = loader

        def __getattr__(self, name):
            return getattr(self._loader, name)

        def __len__(self):
            return len(self._loader)

        def __iter__(self):
            it = iter(self._loader)
            while True:
                with clock('data loading'):
                    try:
                        batch = next(it)
                    except StopIteration:
                        return
                yield batch

    with clock('train: Runner build'):
        runner = Runner.from_cfg(fold_config())
    timer = EpochTimer()
    runner.register_hook(timer, priority='HIGHEST')
    runner.train_loop.dataloader = TimedLoader(runner.train_loop.dataloader)
    step = runner.model.train_step

    def timed_step(*a, **k):
        with clock('train_step'):
            return step(*a, **k)
    runner.model.train_step = timed_step
    save = runner.save_checkpoint

    def timed_save(*a, **k):
        with clock('train: checkpoint write'):
            return save(*a, **k)
    runner.save_checkpoint = timed_save
    with clock('train: total'):
        runner.train()
    ckpt = osp.join(work_dir, f'epoch_{runner.max_epochs}.pth')
    del runner
    with clock('test: Runner build + checkpoint + pass'):
        Runner.from_cfg(fold_config(ckpt)).test()
    Config.pretty_text = pretty

    n = len(timer.epochs)
    epoch_wall = sum(e[0] for e in timer.epochs)
    epoch_cpu = sum(e[1] for e in timer.epochs)
    data_wall, data_cpu = clock.wall['data loading'], clock.cpu['data loading']
    step_wall, step_cpu = clock.wall['train_step'], clock.cpu['train_step']
    rows = {
        'train: Runner build': (clock.wall['train: Runner build'],
                                clock.cpu['train: Runner build']),
        f'epochs x {n}: data loading (pipeline, collation)': (data_wall, data_cpu),
        f'epochs x {n}: train_step (network)': (step_wall, step_cpu),
        f'epochs x {n}: Runner (hooks, logging, schedulers)': (
            epoch_wall - data_wall - step_wall, epoch_cpu - data_cpu - step_cpu),
        'train: checkpoint write': (clock.wall['train: checkpoint write'],
                                    clock.cpu['train: checkpoint write']),
        'train: rest (before_run, config formatting, ...)': (
            clock.wall['train: total'] - epoch_wall - clock.wall['train: checkpoint write'],
            clock.cpu['train: total'] - epoch_cpu - clock.cpu['train: checkpoint write']),
        'test: Runner build + checkpoint + pass': (
            clock.wall['test: Runner build + checkpoint + pass'],
            clock.cpu['test: Runner build + checkpoint + pass']),
    }
    fmt = clock.wall.get('config formatting (pretty_text)', 0.0), clock.cpu.get(
        'config formatting (pretty_text)', 0.0)
    return rows, fmt, n


def loso_run(python, config, work_dir, subjects, mode, cfg_options):
    cmd = [python, osp.join(REPO, 'tools', 'loso.py'), config, '--work-dir', work_dir,
           '--subjects', *subjects, '--parallel', '1', '--no-plots', '--fold-mode', mode]
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    c0, t0 = cpu_children(), time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, cpu_children() - c0
    if out.returncode:
        raise RuntimeError(f'{mode}: tools/loso.py failed:\n{out.stdout[-2000:]}'
                           f'{out.stderr[-3000:]}')
    return wall, cpu


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--config', default=CONFIG)
    p.add_argument('--subject', default='casme2_sub01', help='fold of the breakdown')
    p.add_argument('--folds', type=int, default=4, help='folds of the end-to-end comparison')
    p.add_argument('--repeats', type=int, default=2, help='A/B pairs of the comparison')
    p.add_argument('--skip-breakdown', action='store_true')
    p.add_argument('--skip-modes', action='store_true')
    p.add_argument('--cfg-options', nargs='+', default=[])
    p.add_argument('--json', help='write the numbers here')
    args = p.parse_args()
    os.environ['OMP_NUM_THREADS'] = '1'
    python = sys.executable
    results = dict(config=args.config, load_before=os.getloadavg())
    print(f'config {args.config}; load average {os.getloadavg()[0]:.2f} on '
          f'{os.cpu_count()} cores; 1 thread per process')
    tmp = tempfile.mkdtemp(prefix='bench_fold_cost_')
    try:
        if not args.skip_breakdown:
            imp = import_cost(python)
            rows, fmt, epochs = fold_breakdown(args.config, args.subject, osp.join(tmp, 'fold'),
                                               args.cfg_options)
            print(f'\nOne fold ({args.subject}), seconds, wall / CPU:\n')
            print('| piece | wall s | CPU s |')
            print('| --- | ---: | ---: |')
            print(f'| process start + imports (x2 per fold in subprocess mode) | {imp[0]:.2f} | '
                  f'{imp[1]:.2f} |')
            for name, (w, c) in rows.items():
                print(f'| {name} | {w:.2f} | {c:.2f} |')
            total = sum(w for w, _ in rows.values())
            print(f'| **fold in one process (no start-up)** | **{total:.2f}** | '
                  f'**{sum(c for _, c in rows.values()):.2f}** |')
            per_epoch = sum(w for n, (w, _) in rows.items() if n.startswith('epochs')) / epochs
            print(f'\nof which config formatting (pretty_text, yapf): {fmt[0]:.2f} s wall; '
                  f'per epoch {per_epoch:.3f} s')
            results.update(imports=dict(wall=imp[0], cpu=imp[1]),
                           breakdown={k: dict(wall=w, cpu=c) for k, (w, c) in rows.items()},
                           pretty_text=dict(wall=fmt[0], cpu=fmt[1]), epochs=epochs)
        if not args.skip_modes:
            import mer_clip  # noqa: F401
            from mer_clip.loso.runner import LOSOExperiment
            exp = LOSOExperiment(osp.join(REPO, args.config), osp.join(tmp, 'plan'),
                                 cfg_options=args.cfg_options)
            subjects = [f.name for f in exp.plan()][:args.folds]
            pairs = []
            for r in range(args.repeats):
                dirs = {m: osp.join(tmp, f'{m}{r}') for m in ('subprocess', 'inprocess')}
                times = {m: loso_run(python, args.config, d, subjects, m, args.cfg_options)
                         for m, d in dirs.items()}
                same = all(open(osp.join(dirs['subprocess'], f'fold_{s}', 'predictions.csv'),
                                'rb').read()
                           == open(osp.join(dirs['inprocess'], f'fold_{s}', 'predictions.csv'),
                                   'rb').read() for s in subjects)
                pairs.append(dict(times, same_predictions=same))
                for d in dirs.values():
                    shutil.rmtree(d, ignore_errors=True)
            print(f'\ntools/loso.py, {len(subjects)} folds, --parallel 1, '
                  f'{args.repeats} pair(s) (wall / CPU s, whole command incl. reports):\n')
            print('| pair | subprocess | inprocess | ratio wall | ratio CPU | same predictions |')
            print('| --- | --- | --- | ---: | ---: | --- |')
            for i, pr in enumerate(pairs):
                (sw, sc), (iw, ic) = pr['subprocess'], pr['inprocess']
                print(f'| {i} | {sw:.1f} / {sc:.1f} | {iw:.1f} / {ic:.1f} | {sw / iw:.2f} | '
                      f'{sc / ic:.2f} | {pr["same_predictions"]} |')
            results['modes'] = dict(subjects=subjects, pairs=pairs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results['load_after'] = os.getloadavg()
    print(f'\nload average after: {os.getloadavg()[0]:.2f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
