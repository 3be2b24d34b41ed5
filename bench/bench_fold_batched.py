"""The fold-batched LOSO beside the in-process one and beside a plain PyTorch loop (the floor).

Three measurements of the MEGC2019 STSTNet LOSO at a fixed ``--epochs`` (40), in one run:

- ``batched`` and ``inprocess``: ``tools/loso.py CONFIG --fold-mode M --subjects <first --folds
  subjects>`` end to end (a fresh work dir each), wall and CPU seconds of the child process, and
  the largest difference of the two modes' predicted scores;
- ``floor``: the same steps (each fold's training-set size, batch 32, every epoch) as a plain
  PyTorch loop of one ``nn.Sequential`` per fold on random tensors, AdamW: no data pipeline, no
  framework. Printed per sample-step (microseconds) for all three;
- the stacked model's step alone (``StackedSTSTNet``, 2, 4 and 8 folds of batch 32 per call),
  with a ``torch.profiler`` split of its operators at the trainer's ``FOLDS_PER_CALL``;
- one fold's batches drawn through ``dataset[i]`` and through the pipeline replay
  (:mod:`mer_clip.loso.batched.pipeline_replay`), CPU us per sample.

    python bench/bench_fold_batched.py --folds 68 --json out.json
    python bench/bench_fold_batched.py --folds 8 --epochs 40      # a slice on a busy machine

One thread (OMP_NUM_THREADS=1). The machine's load is printed: on a shared machine wall times
move, CPU seconds and the ratios measured in one run move less.
"""
import argparse
import csv
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/megc2019/ststnet_flow-28px_1xb32-40e_megc2019-3cls.py'


def epoch_options(epochs: int):
    return [f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
            f'param_scheduler.1.end={epochs}', f'param_scheduler.1.T_max={epochs - 1}']


def run_mode(mode: str, subjects, epochs: int, work: str, config: str = CONFIG):
    """tools/loso.py in ``mode``; returns wall, CPU seconds (the child's) and the scores."""
    cmd = [sys.executable, 'tools/loso.py', config, '--work-dir', work, '--fold-mode', mode,
           '--no-plots', '--subjects', *subjects, '--cfg-options', *epoch_options(epochs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise SystemExit(f'{mode} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}')
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(osp.join(work, 'predictions.csv')) as f:
        rows = {r['sample_id']: [float(v) for k, v in r.items() if k.startswith('score_')]
                for r in csv.DictReader(f)}
    return dict(wall=wall, cpu=cpu), rows


def fold_sizes(subjects):
    """Training-set size of each fold (the annotation's samples without its subject)."""
    sys.path.insert(0, osp.join(REPO, 'projects'))
    from mer_clip.loso.plan import LOSOPlan
    plan = LOSOPlan(CONFIG, tempfile.mkdtemp(), subjects=subjects or None)
    plan.plan()
    found = plan.folds_found
    total = found.num_samples
    return [total - len(found.fold_samples(s)) for s in subjects or found.folds], found.folds


def floor_loop(sizes, epochs: int):
    """Plain PyTorch: one STSTNet + dense layer per fold, AdamW, random batches of 32."""
    import torch
    from torch import nn
    t0, c0 = time.time(), time.process_time()
    steps = 0
    for n in sizes:
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=2), nn.ReLU(inplace=True),
                            nn.BatchNorm2d(16), nn.MaxPool2d(3, 3, 1), nn.Dropout(0.5),
                            nn.AvgPool2d(2, 2), nn.Flatten(), nn.Linear(400, 3))
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
        x_all = torch.randn(n, 3, 28, 28)
        y_all = torch.randint(0, 3, (n, ))
        for _ in range(epochs):
            for i in range(0, n, 32):
                loss = nn.functional.cross_entropy(net(x_all[i:i + 32]), y_all[i:i + 32])
                opt.zero_grad()
                loss.backward()
                opt.step()
                steps += 1
    return dict(wall=time.time() - t0, cpu=time.process_time() - c0, steps=steps)


def stacked_step(folds: int, iters: int, profile: bool = False):
    """The stacked model's forward + backward + AdamW, one call of ``folds`` folds at batch 32,
    inputs and masks laid out as the fold streams give them (channels_last per fold)."""
    import torch
    sys.path.insert(0, osp.join(REPO, 'projects'))
    from mer_clip.loso.batched.stacked_adamw import StackedAdamW
    from mer_clip.loso.batched.stacked_ststnet import StackedSTSTNet
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/models/ststnet_flow.py'))
    model = StackedSTSTNet([MODELS.build(cfg.model) for _ in range(folds)]).train()
    params = dict(model.named_parameters())
    opt = StackedAdamW(params)
    cl = torch.channels_last
    x = torch.stack([torch.randn(32, 28, 28, 3).permute(0, 3, 1, 2) for _ in range(folds)])
    masks = [torch.stack([torch.empty((32, 16, 10, 10), memory_format=cl).bernoulli_(0.5)
                          .div_(0.5) for _ in range(folds)])]
    y = torch.randint(0, 3, (folds, 32))
    idx = torch.arange(folds)
    active = torch.ones(folds, dtype=torch.bool)
    lr = {n: torch.full((folds, ), 1e-3, dtype=torch.float64) for n in params}
    wd = {n: torch.full((folds, ), 0.01, dtype=torch.float64) for n in params}

    def step():
        for p in params.values():
            p.grad = None
        model.fold_losses(model(x, idx, masks), y, 0).sum().backward()
        opt.step(active, lr, wd)

    for _ in range(3):
        step()
    c0 = time.process_time()
    for _ in range(iters):
        step()
    per = (time.process_time() - c0) / iters
    table = None
    if profile:
        from torch.profiler import ProfilerActivity, profile as prof
        with prof(activities=[ProfilerActivity.CPU]) as p:
            for _ in range(5):
                step()
        table = p.key_averages().table(sort_by='self_cpu_time_total', row_limit=15)
    return per, table


def pipeline_cost(subject: str, rounds: int = 3):
    """CPU us per training sample of one fold's batches (with its dropout masks), drawn through
    ``dataset[i]`` and through the pipeline replay, alternately; the best of ``rounds`` each."""
    sys.path.insert(0, osp.join(REPO, 'projects'))
    from mer_clip.loso.batched.fold_stream import FoldStream
    from mer_clip.loso.batched.stacked_ststnet import StackedSTSTNet
    from mmaction.registry import DATASETS, MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    best = {}
    masks = StackedSTSTNet([MODELS.build(cfg.model)]).mask_specs  # the masks the trainer draws
    for r in range(rounds):
        for replay in (False, True):
            ds = DATASETS.build(dict(cfg.train_dataloader.dataset, loso_subject=subject,
                                     serialize_data=False))
            stream = FoldStream(ds, 32, seed=0, replay=replay, log=lambda m: None)
            c0 = time.process_time()
            stream.start_epoch(r)
            for step in range(len(stream)):
                stream.batch(step, masks)
            per = (time.process_time() - c0) / len(ds) * 1e6
            key = 'replay' if replay else 'dataset[i]'
            best[key] = min(best.get(key, per), per)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--folds', type=int, default=68, help='the first N subjects (default all 68)')
    p.add_argument('--epochs', type=int, default=40)
    p.add_argument('--modes', nargs='+', default=['batched', 'inprocess'])
    p.add_argument('--json', help='write the figures here')
    p.add_argument('--config', default=CONFIG, help='a flow config (default STSTNet); the '
                   'plain-loop floor and the stacked step alone are measured for STSTNet only')
    args = p.parse_args(argv)
    ststnet = args.config == CONFIG
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    import torch
    torch.set_num_threads(1)
    print(f'load average {os.getloadavg()}, {os.cpu_count()} cores; torch {torch.__version__}')
    _, all_folds = fold_sizes(None)
    subjects = all_folds[:args.folds]
    sizes, _ = fold_sizes(subjects)
    sample_steps = sum(sizes) * args.epochs
    res = dict(folds=len(subjects), epochs=args.epochs, sample_steps=sample_steps,
               load_before=os.getloadavg())
    scores = {}
    for mode in args.modes:
        with tempfile.TemporaryDirectory() as work:
            res[mode], scores[mode] = run_mode(mode, subjects, args.epochs, work, args.config)
        print(f'{mode:10s} wall {res[mode]["wall"]:7.1f} s  CPU {res[mode]["cpu"]:7.1f} s  '
              f'{1e6 * res[mode]["cpu"] / sample_steps:6.1f} us CPU per sample-step', flush=True)
    if ststnet:
        res['floor'] = floor_loop(sizes, args.epochs)
        print(f'{"floor":10s} wall {res["floor"]["wall"]:7.1f} s  CPU {res["floor"]["cpu"]:7.1f} '
              f's  {1e6 * res["floor"]["cpu"] / sample_steps:6.1f} us CPU per sample-step '
              '(plain loop)')
    if 'batched' in scores and 'inprocess' in scores:
        diff = max(abs(a - b) for k in scores['batched'] for a, b in
                   zip(scores['batched'][k], scores['inprocess'][k]))
        same = sum(max(range(3), key=lambda c: scores['batched'][k][c])
                   == max(range(3), key=lambda c: scores['inprocess'][k][c])
                   for k in scores['batched'])
        res['max_score_difference'] = diff
        res['same_predictions'] = f'{same}/{len(scores["batched"])}'
        for key in ('wall', 'cpu'):
            res[f'inprocess_over_batched_{key}'] = res['inprocess'][key] / res['batched'][key]
        print(f'inprocess / batched: wall {res["inprocess_over_batched_wall"]:.2f}x, CPU '
              f'{res["inprocess_over_batched_cpu"]:.2f}x; scores differ by at most {diff:.2e}; '
              f'same predicted class for {res["same_predictions"]} samples')
    if ststnet:
        from mer_clip.loso.batched.trainer import FOLDS_PER_CALL
        for f in sorted({2, FOLDS_PER_CALL, 8}):
            per, table = stacked_step(f, max(10, 160 // f), profile=f == FOLDS_PER_CALL)
            res[f'stacked_step_{f}_folds_us_per_sample'] = 1e6 * per / (32 * f)
            mark = " (the trainer's)" if f == FOLDS_PER_CALL else ''
            print(f'stacked step, {f} folds x 32 per call{mark}: {per * 1e3:.1f} ms CPU, '
                  f'{1e6 * per / (32 * f):.1f} us per sample-step')
            if table:
                print(table)
                res['profile'] = table
        res['pipeline_us_per_sample'] = pipeline_cost(subjects[0])
        print('one fold\'s batches and masks, CPU us per sample: ' + ', '.join(
            f'{k} {v:.1f}' for k, v in res['pipeline_us_per_sample'].items()))
    res['load_after'] = os.getloadavg()
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
