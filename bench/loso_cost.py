"""GPU-hours of the paper's experiments (full LOSO per task, DFME's fixed split) from a step time.

For every task of the paper's tables the sample and subject counts come from the MER-CLIP
authors' lists (/work/shared/data/merclip_official_lists, read with
``mer_clip.datasets.readers.read_merclip_lists`` and filtered by the task's class scheme), and the
schedule is the paper's: 55 epochs, batch 8 per GPU, on 1 GPU or 2 GPUs (the authors' setup,
DDP). A LOSO fold trains on every other subject and tests on one; validation runs every 5 epochs
(``val_interval=5``) plus the final test, on the held-out subject. DFME is one training run on its
train split (1,856 clips) tested on test A and test B.

    cost(fold) = 55 * ceil(ceil(n_train / G) / 8) * t_step * G            (training, GPU-seconds)
               + 12 * ceil(ceil(n_test / G) / 8) * t_step / 3 * G          (11 validations + test)
    floor      = 55 * n_train * F_sample + 12 * n_test * F_sample / 3       (FLOPs) / peak FLOP/s

``t_step`` is the measured time of one training step of batch 8 on one GPU
(bench/train_step.py --size full --device cuda, ``--from-json`` its ``--json`` output, or
``--step-time-s``); a forward-only evaluation batch is taken as 1/3 of it (backward ~ 2 x
forward). ``F_sample`` = counted FLOPs of a training step / batch. The floor is the time at the
device's bf16 matmul rate (measured by train_step.py on the GPU; otherwise ``--peak-tflops``,
default the H100 SXM's nominal dense bf16 989 TFLOP/s). DDP communication, data loading stalls,
start-up and checkpointing are not counted. Without a measured GPU step time the table uses
assumed model-FLOP utilisations (``--mfu``), labelled as such.

    python bench/loso_cost.py                                  # newest work_dirs/bench/*.json
    python bench/loso_cost.py --from-json work_dirs/bench/train_step_full_cuda.json
    python bench/loso_cost.py --step-time-s 0.85 --flops-per-step 7.9e12
    python bench/loso_cost.py --disk       # the disk peak of each task's checkpoints instead

``--disk`` measures the tiny config's checkpoints through the real save path and scales them to
the B/16 model by parameter count (bench/checkpoint_disk.py; its method is printed with the
table), then gives each task's disk peak: before this layout (text tower and optimizer in every
checkpoint), now (finished folds keep one weights-only checkpoint) and with
``tools/loso.py --keep-checkpoints none``.
"""
import argparse
import glob
import json
import math
import os.path as osp
import sys
from collections import Counter
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
LISTS = '/work/shared/data/merclip_official_lists'
H100_SXM_BF16_DENSE = 989.4e12  # NVIDIA H100 SXM datasheet, dense bf16 tensor-core peak

# (task, paper table, dataset, emotion list, AU list, class scheme)
TASKS = [
    ('SAMM 5-class', 'SAMM / CASME II (5-class)', 'samm', 'samm_5class_emolabel_list.txt',
     'samm_5class_AU_list.txt', 'samm_5'),
    ('CASME II 5-class', 'SAMM / CASME II (5-class)', 'casme2', 'casme2_5class_emolabel_list.txt',
     'casme2_5class_AU_list.txt', 'casme2_5'),
    ('SAMM 3-class', 'SAMM / CASME II (3-class)', 'samm', 'samm_3class_emolabel_list.txt',
     'samm_3class_AU_list.txt', 'samm_3'),
    ('CASME II 3-class', 'SAMM / CASME II (3-class)', 'casme2', 'casme2_3class_emolabel_list.txt',
     'casme2_3class_AU_list.txt', 'casme2_3'),
    ('CAS(ME)^3 7-class', 'CAS(ME)^3', 'casme3', 'casme3_7class_emolabel_list.txt',
     'casme3_AU_list.txt', 'casme3_7'),
    ('CAS(ME)^3 4-class', 'CAS(ME)^3', 'casme3', 'casme3_4class_emolabel_list.txt',
     'casme3_AU_list.txt', 'casme3_4'),
    ('CAS(ME)^3 3-class', 'CAS(ME)^3', 'casme3', 'casme3_3class_emolabel_list.txt',
     'casme3_3class_AU_list.txt', 'casme3_3'),
    ('DFME 7-class', 'DFME (test A + test B)', 'dfme', None, None, 'dfme_7'),
]


def task_folds(dataset: str, emo: Optional[str], au: Optional[str], scheme: str,
               lists_root: str) -> List[Dict[str, int]]:
    """[{'train': n, 'test': n}] per run: one per subject (LOSO) or one (DFME's fixed split)."""
    from mer_clip.datasets.class_schemes import get_class_scheme
    from mer_clip.datasets.readers import read_merclip_lists
    records = read_merclip_lists(dataset, lists_root, emotion_lists=[emo] if emo else None,
                                 au_lists=[au] if au else None, num_frames=16)
    scheme = get_class_scheme(scheme)
    records = [r for r in records if scheme.class_of(r['emotion']) is not None]
    if dataset == 'dfme':
        splits = Counter(r['split'] for r in records)
        return [dict(train=splits['train'], test=splits['test_a'] + splits['test_b'],
                     samples=len(records), subjects=len({r['subject'] for r in records}))]
    per_subject = Counter(r['subject'] for r in records)
    n = len(records)
    return [dict(train=n - k, test=k, samples=n, subjects=len(per_subject))
            for k in per_subject.values()]


def run_cost(folds, gpus: int, epochs: int, batch: int, evals: int, step_s: float,
             flops_sample: float, peak: float):
    """(GPU-hours, wall hours, floor GPU-hours, optimizer steps) of all runs of a task."""
    steps = eval_batches = 0
    flops = 0.0
    for f in folds:
        steps += epochs * math.ceil(math.ceil(f['train'] / gpus) / batch)
        eval_batches += evals * math.ceil(math.ceil(f['test'] / gpus) / batch)
        flops += epochs * f['train'] * flops_sample + evals * f['test'] * flops_sample / 3
    wall = (steps + eval_batches / 3) * step_s if step_s else float('nan')
    return wall * gpus / 3600, wall / 3600, flops / peak / 3600, steps


def load_bench(path: Optional[str]):
    if path is None:
        found = sorted(glob.glob(osp.join(ROOT, 'work_dirs', 'bench', '*.json')),
                       key=lambda p: (json.load(open(p)).get('size') == 'full',
                                      json.load(open(p)).get('device') == 'cuda',
                                      osp.getmtime(p)))
        if not found:
            return None
        path = found[-1]
    with open(path) as f:
        res = json.load(f)
    res['_path'] = path
    return res


#: the MEGC2019 composite (tools/data/build_megc2019.py): a LOSO over its 68 subjects
MEGC2019_ANN = osp.join(ROOT, 'data', 'megc2019_htnet', 'annotations.json')


def composite_folds(ann_file: str) -> Optional[int]:
    """Folds (subjects) of a converted annotation file's LOSO; None when there is no file."""
    if not osp.isfile(ann_file):
        return None
    with open(ann_file) as f:
        return len({r['subject'] for r in json.load(f)['data_list']})


def print_disk_table(lists_root: str, repeats: int, megc2019_ann: str = MEGC2019_ANN) -> None:
    """The ``--disk`` table (see the module docstring)."""
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    import checkpoint_disk as disk
    res = disk.measure(repeats)
    tiny, b16 = res['tiny'], res['b16']
    gib = disk.GiB
    for line in disk.METHOD:
        print(f'# {line}')
    c, t = tiny['counts'], res['b16_counts']
    print(f'# tensors: tiny {c["nontext"]:,} + text tower {c["text"]:,} ({c["trainable"]:,} '
          f'trainable); B/16 {t["nontext"]:,} + text tower {t["text"]:,} ({t["trainable"]:,} '
          'trainable)')
    print(f'# tiny files: resume {tiny["sizes"]["resume"] / 2**20:.2f} MiB, final weights-only '
          f'{tiny["sizes"]["final"] / 2**20:.2f} MiB, old layout {tiny["sizes"]["old"] / 2**20:.2f}'
          ' MiB')
    print(f'# B/16 checkpoint: old {b16["old"] / gib:.2f} GiB (weights {b16["weights"] / gib:.2f}'
          f' + text tower {b16["text"] / gib:.2f} + optimizer {b16["optimizer"] / gib:.2f}); now '
          f'resume {b16["resume"] / gib:.2f} GiB, final weights-only {b16["final"] / gib:.2f} GiB')
    med = {k: v[len(v) // 2] for k, v in tiny['save_seconds'].items()}
    print(f'# save time, tiny config, median of {repeats} interleaved (shared machine): ' +
          ', '.join(f'{k} {v * 1000:.0f} ms' for k, v in med.items()) +
          ' (mostly mmengine formatting the config into the meta, whatever the size)')
    med = {k: v[len(v) // 2] for k, v in tiny['write_seconds'].items()}
    print('# of which serialise + write + sha256 (grows with the bytes): ' +
          ', '.join(f'{k} {v * 1000:.1f} ms' for k, v in med.items()))
    print()
    print('| task | folds | peak before (GiB) | peak now (GiB) | now, --keep-checkpoints none '
          '(GiB) |')
    print('| --- | --- | --- | --- | --- |')
    rows = [(name, len(task_folds(ds, emo, au, scheme, lists_root)))
            for name, _, ds, emo, au, scheme in TASKS]
    composite = composite_folds(megc2019_ann)
    if composite is None:
        print(f'# MEGC2019 composite: {megc2019_ann} not found (tools/data/build_megc2019.py '
              'writes it); its row is left out', file=sys.stderr)
    else:
        rows.insert(-1, ('MEGC2019 composite 3-class (B/16)', composite))
    for name, n in rows:
        print(f'| {name} | {n} | {disk.loso_peak(n, b16, "old") / gib:.1f} | '
              f'{disk.loso_peak(n, b16) / gib:.1f} | {disk.loso_peak(n, b16, "none") / gib:.1f} |')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--from-json', default=None,
                   help='bench/train_step.py --json output (default: the newest full-size one '
                        'in work_dirs/bench/)')
    p.add_argument('--step-time-s', type=float, default=None,
                   help='measured MER-CLIP training step (batch 8, one GPU), seconds')
    p.add_argument('--baseline-step-time-s', type=float, default=None)
    p.add_argument('--flops-per-step', type=float, default=None,
                   help='FLOPs of one training step of batch 8 (default: from the JSON)')
    p.add_argument('--peak-tflops', type=float, default=None,
                   help='bf16 matmul rate for the floor (default: measured in the JSON on CUDA, '
                        'else the H100 SXM nominal 989.4)')
    p.add_argument('--mfu', default='0.15,0.3',
                   help='assumed model-FLOP utilisations when no GPU step time is measured')
    p.add_argument('--epochs', type=int, default=55)
    p.add_argument('--batch', type=int, default=8, help='per GPU')
    p.add_argument('--lists-root', default=LISTS)
    p.add_argument('--disk', action='store_true',
                   help='print the disk peak of each task\'s checkpoints (B/16, scaled from the '
                   'tiny config\'s) instead of the GPU-hours')
    p.add_argument('--save-repeats', type=int, default=5, help='--disk: timed saves per layout')
    p.add_argument('--megc2019-ann', default=MEGC2019_ANN,
                   help='--disk: the converted MEGC2019 composite (its subjects are the folds)')
    args = p.parse_args(argv)
    if args.disk:
        print_disk_table(args.lists_root, args.save_repeats, args.megc2019_ann)
        return 0
    evals = args.epochs // 5 + 1  # val_interval=5, and the final test

    bench = load_bench(args.from_json) if (args.from_json or args.step_time_s is None) else None
    models = {}
    if bench is not None:
        for k in ('a', 'b'):
            m = bench['models'].get(k)
            if m and 'flops_per_step' in m:
                models[k] = dict(flops_sample=m['flops_per_step'] / bench['batch'],
                                 step_s=(m['step_time_s']['median'] if bench['device'] == 'cuda'
                                         and bench['size'] == 'full' else None))
                if models[k]['step_s'] and bench['batch'] != args.batch:
                    models[k]['step_s'] *= args.batch / bench['batch']  # rough: linear in batch
        if bench['size'] != 'full':
            print(f'WARNING: {bench["_path"]} is a --size {bench["size"]} run; the FLOPs are not '
                  'those of the paper-size model', file=sys.stderr)
    for k, step in (('a', args.step_time_s), ('b', args.baseline_step_time_s)):
        if step is not None or (args.flops_per_step and k == 'a'):
            models.setdefault(k, {})
            if step is not None:
                models[k]['step_s'] = step
            if args.flops_per_step and k == 'a':
                models[k]['flops_sample'] = args.flops_per_step / args.batch
    if 'a' not in models or 'flops_sample' not in models['a']:
        p.error('no FLOPs: run bench/train_step.py --size full --json work_dirs/bench/X.json '
                '(on a GPU, or on CPU with --steps 2 --warmup 1 --batch 1 for the FLOPs only), '
                'or pass --flops-per-step and --step-time-s')
    if args.peak_tflops:
        peak, peak_src = args.peak_tflops * 1e12, 'given'
    elif bench and bench['device'] == 'cuda' and 'matmul_rate' in bench:
        peak, peak_src = bench['matmul_rate']['flops_per_s'], \
            f'measured bf16 matmul on {bench["device_name"]}'
    else:
        peak, peak_src = H100_SXM_BF16_DENSE, 'H100 SXM nominal dense bf16 (not measured)'

    measured = models['a'].get('step_s') is not None
    if measured:
        variants = [('a', models['a']['step_s'], 'measured')]
        if models.get('b', {}).get('step_s'):
            variants.append(('b', models['b']['step_s'], 'measured'))
    else:
        variants = []
        for mfu in (float(x) for x in args.mfu.split(',') if x):
            step = models['a']['flops_sample'] * args.batch / (peak * mfu)
            variants.append(('a', step, f'assumed MFU {mfu:.0%}'))

    src = bench['_path'] if bench else 'command line'
    print(f'# FLOPs: {src}: MER-CLIP {models["a"]["flops_sample"] * args.batch / 1e12:.2f} TFLOP'
          f' per training step of {args.batch} clips (forward + backward)' +
          (f'; baseline {models["b"]["flops_sample"] * args.batch / 1e12:.2f}'
           if 'b' in models and 'flops_sample' in models['b'] else ''))
    print(f'# peak for the floor: {peak / 1e12:.1f} TFLOP/s ({peak_src})')
    print(f'# schedule: {args.epochs} epochs, batch {args.batch}/GPU, {evals} evaluations of the '
          f'test subject per run; step times: ' + ', '.join(
              f'{"MER-CLIP" if k == "a" else "baseline"} {s:.3g} s ({how})'
              for k, s, how in variants))
    if not measured:
        print('# NO GPU STEP TIME MEASURED: the GPU-hour columns are estimates at the assumed '
              'MFU; only the floor is computed from counts')
    print()
    cols = ''.join(f' | {("MER-CLIP" if k == "a" else "baseline")}, {how}: GPU-h 1 GPU / 2 GPUs'
                   f' (wall h on 2)' for k, _, how in variants)
    print(f'| task | paper table | samples | subjects | runs | steps (1 GPU) | floor GPU-h{cols} |')
    print('|' + ' --- |' * (7 + len(variants)))
    totals = [0.0] * (1 + 3 * len(variants))
    for name, table, ds, emo, au, scheme in TASKS:
        folds = task_folds(ds, emo, au, scheme, args.lists_root)
        samples = (f'{folds[0]["train"]} train + {folds[0]["test"]} test' if ds == 'dfme'
                   else str(folds[0]['samples']))
        row = f'| {name} | {table} | {samples} | {folds[0]["subjects"]} | {len(folds)} |'
        cells = []
        for i, (k, step, _) in enumerate(variants):
            fs = models[k].get('flops_sample', models['a']['flops_sample'])
            gh1, _, floor, steps1 = run_cost(folds, 1, args.epochs, args.batch, evals, step, fs,
                                             peak)
            gh2, wall2, _, _ = run_cost(folds, 2, args.epochs, args.batch, evals, step, fs, peak)
            if i == 0:
                row += f' {steps1} | {floor:.3g} |'
                totals[0] += floor
            cells.append(f' {gh1:.1f} / {gh2:.1f} ({wall2:.1f}) |')
            totals[1 + 3 * i] += gh1
            totals[2 + 3 * i] += gh2
            totals[3 + 3 * i] += wall2
        print(row + ''.join(cells))
    tot = f'| all tasks | | | | | | {totals[0]:.3g} |' + ''.join(
        f' {totals[1 + 3 * i]:.1f} / {totals[2 + 3 * i]:.1f} ({totals[3 + 3 * i]:.1f}) |'
        for i in range(len(variants)))
    print(tot)
    print('\nGPU-h = wall-clock hours x GPUs; with 2 GPUs (DDP, batch 8 per GPU) each step sees '
          '16 clips, so the step count halves and the GPU-hours stay about the same (DDP '
          'all-reduce not counted). floor = counted FLOPs at the peak rate (100% MFU).')
    return 0


if __name__ == '__main__':
    sys.exit(main())
