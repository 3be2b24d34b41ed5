"""The records and the summary of bench/gpu_check.sh: one JSON and one table, with the targets.

    record STAGES_DIR NAME --status S --rc N --seconds T --limit L --log LOG --command CMD
        one stage's outcome -> STAGES_DIR/NAME.json (written by the script after each stage)
    report WORK OUT --mode gpu|dry-run --config CONFIG --seconds T
        every stage record and what the stages wrote in WORK -> OUT/gpu_check.json and
        OUT/gpu_check.txt (the table, also printed); exit status 1 when a stage did not pass or
        a passed stage left no result

The targets are printed beside the numbers; a missed target is a finding, not a failure (the exit
status says whether every stage ran). A dry run (CPU, tiny models) prints its numbers without
verdicts: the targets are for the paper-size model on a GPU.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

#: the stages of bench/gpu_check.sh in the order they run, and what each leaves in WORK
STAGES = {
    'synthetic_set': 'synthetic/annotations.json',
    'train_step': 'train_step.json',
    'train': 'train/last_checkpoint',
    'train_resume': 'resume.json',
    'loso': 'loso/summary.json',
    'test': 'test_predictions.json',
    'data_path': 'clip_cache.json',
    'batch_search': 'batch_search.json',
}
TARGET_STEP_RATIO = 1.15  # MER-CLIP / UniFormerV2+linear step time, batch 8, bf16 (FLOPs: 1.083)
TARGET_MATMUL_FRACTION = 0.35  # MER-CLIP's FLOP/s over the measured bf16 matmul rate
CACHE_LOADER = 'cache256-mmap'  # the clip cache of docs/speed.md (--cache-short-side 256)
JPEG_LOADER = 'jpeg-ours'  # what the configs load: LoadMEFrames over the JPEG frames


def record(stages_dir, name, **fields):
    os.makedirs(stages_dir, exist_ok=True)
    with open(osp.join(stages_dir, f'{name}.json'), 'w') as f:
        json.dump(dict(name=name, **fields), f, indent=1)


def _load(path):
    if not osp.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def collect(work):
    """The stage records (every expected stage; one that left none: status 'not run') and the
    stages' results."""
    stages, problems = {}, []
    for name, product in STAGES.items():
        rec = _load(osp.join(work, 'stages', f'{name}.json'))
        if rec is None:
            rec = dict(name=name, status='not run', seconds=None, limit=None)
        if rec['status'] == 'passed' and not osp.exists(osp.join(work, product)):
            problems.append(f'{name}: passed but left no {product}')
        stages[name] = rec
    results = dict(
        train_step=_load(osp.join(work, 'train_step.json')),
        batch_search=_load(osp.join(work, 'batch_search.json')),
        resume=_load(osp.join(work, 'resume.json')),
        loso=_load(osp.join(work, 'loso', 'summary.json')),
        test=_load(osp.join(work, 'test_predictions.json')),
        data_path=_load(osp.join(work, 'clip_cache.json')))
    return stages, results, problems


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d


def _num(x):
    return x is not None and x == x  # not None, not NaN


def measures(results, dry_run):
    """Rows (what, value, target, verdict) of the table; '' where a row has no target."""
    b8, search = results['train_step'], results['batch_search']
    big, largest = _get(search, 'result'), _get(search, 'largest_batch')
    batch = _get(b8, 'batch') or 8

    def judged(ok):
        if dry_run:
            return 'dry run'
        return 'not measured' if ok is None else ('meets' if ok else 'MISSES')

    def ratio(ts):
        r = _get(ts, 'ratios', 'a/b', 'ratio_of_medians')
        if not _num(r):
            return None, '-'
        a, b = (_get(ts, 'models', k, 'step_time_s', 'median') for k in 'ab')
        fa, fb = (_get(ts, 'models', k, 'flops_per_step') for k in 'ab')
        flops = f' (FLOPs {fa / fb:.3f})' if _num(fa) and _num(fb) else ''
        return r, f'{r:.3f} = {a * 1e3:.1f} / {b * 1e3:.1f} ms{flops}'

    def matmul(ts):
        f, rate = _get(ts, 'models', 'a', 'fraction_of_matmul_rate'), _get(ts, 'matmul_rate')
        if not _num(f):
            return None, '-'
        achieved = ts['models']['a']['achieved_flops_per_s'] / 1e12
        return f, (f'{achieved:.3g} / {rate["flops_per_s"] / 1e12:.3g} TFLOP/s {rate["dtype"]} '
                   f'= {100 * f:.1f}%')

    def peak(ts):
        x = _get(ts, 'models', 'a', 'peak_mem_bytes')
        return f'{x / 2**30:.1f}' if _num(x) else 'n/a'

    r8, text = ratio(b8)
    rows = [(f'step MER-CLIP / UniFormerV2+lin, b{batch}', text, f'<= {TARGET_STEP_RATIO}',
             judged(None if r8 is None else r8 <= TARGET_STEP_RATIO))]
    if largest:
        rows.append((f'  at b{largest} (largest that fits)', ratio(big)[1], '', ''))
    f8, text = matmul(b8)
    rows.append((f'MER-CLIP FLOP/s / matmul rate, b{batch}', text,
                 f'>= {100 * TARGET_MATMUL_FRACTION:.0f}%',
                 judged(None if f8 is None else f8 >= TARGET_MATMUL_FRACTION)))
    if largest:
        rows.append((f'  at b{largest}', matmul(big)[1], '', ''))
    total = _get(b8, 'device_memory_bytes')
    mem = f'b{batch}: {peak(b8)}' + (f', b{largest}: {peak(big)}' if largest else '') + ' GiB'
    if not b8:
        mem = '-'
    elif _get(b8, 'device') == 'cpu':
        mem = 'n/a on the CPU'
    rows.append(('peak memory MER-CLIP (max allocated)',
                 mem + (f' of {total / 2**30:.1f}' if total else ''), '', ''))
    rows.append(('batch search', f'largest {largest or batch}: {search["stopped"]}'
                 if search else '-', '', ''))

    data, model = results['data_path'], _get(b8, 'models', 'a', 'samples_per_s')
    workers = _get(data, 'procs') or '?'
    for loader, what, target in ((CACHE_LOADER, 'clip cache 256, mmap', True),
                                 (JPEG_LOADER, 'JPEG frames', False)):
        rate = _get(data, 'clips_per_s', loader)
        ok = None if not (_num(rate) and _num(model)) else rate >= model
        value = '-' if not _num(rate) else f'{rate:.0f} clips/s; model ' + (
            f'{model:.0f} (b{batch})' if _num(model) else '-')
        if target:
            rows.append((f'data: {what}, {workers} workers', value, '>= model', judged(ok)))
        else:
            verdict = '' if ok is None or dry_run else ('keeps up' if ok else 'does NOT keep up')
            rows.append((f'data: {what}, {workers} workers', value, '', verdict))

    res, loso, test = results['resume'], results['loso'], results['test']
    rows.append(('train.py, then --resume', f'epoch {res["resumed_from_epoch"]} -> '
                 f'{res["meta_epoch"]}, checkpoint complete' if res else '-', '', ''))
    uf1 = _get(loso, 'pooled', 'UF1')
    rows.append((f'loso.py --gpus 1, {_get(loso, "num_folds") or "?"} folds',
                 f'pooled UF1 {uf1:.3f} (random weights)' if _num(uf1) else '-', '', ''))
    rows.append(('test.py = the fold\'s LOSO predictions',
                 f'{test["samples"]} samples, scores within {test["max_score_diff"]:.2g}'
                 if test else '-', '', ''))
    return rows


def table(stages, rows, head):
    lines = [head, '', f'{"stage":<14} {"result":<8} {"seconds":>8} {"limit":>6}  log']
    for s in stages.values():
        secs = '-' if s.get('seconds') is None else f'{s["seconds"]:.1f}'
        lim = '-' if s.get('limit') is None else f'{s["limit"]}'
        log = s['log'] if s.get('log') and s['status'] != 'passed' else ''
        lines.append(f'{s["name"]:<14} {s["status"]:<8} {secs:>8} {lim:>6}  {log}'.rstrip())
    w = max(len(r[0]) for r in rows)
    v = max(len(r[1]) for r in rows)
    lines += ['', f'{"measure":<{w}}  {"value":<{v}}  {"target":<8}  verdict']
    for what, value, target, verdict in rows:
        lines.append(f'{what:<{w}}  {value:<{v}}  {target:<8}  {verdict}'.rstrip())
    return '\n'.join(lines)


def report(work, out, mode, config, seconds):
    stages, results, problems = collect(work)
    dry = mode == 'dry-run'
    rows = measures(results, dry)
    failed = [n for n, s in stages.items() if s['status'] != 'passed']
    ok = not failed and not problems
    device = _get(results, 'train_step', 'device_name') or '?'
    head = (f'bench/gpu_check.sh{" --dry-run (CPU, tiny sizes)" if dry else ""}: {config} on '
            f'{device}, {seconds:.0f} s; '
            + ('every stage passed' if ok else f'FAILED: {", ".join(failed + problems)}'))
    text = table(stages, rows, head)
    summary = dict(mode=mode, config=config, seconds=seconds, passed=ok, failed_stages=failed,
                   problems=problems, created=time.strftime('%Y-%m-%dT%H:%M:%S%z'),
                   stages=stages, targets=dict(step_ratio_max=TARGET_STEP_RATIO,
                                               matmul_fraction_min=TARGET_MATMUL_FRACTION,
                                               data_loader=CACHE_LOADER),
                   measures=[dict(zip(('what', 'value', 'target', 'verdict'), r)) for r in rows],
                   results=results)
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'gpu_check.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    with open(osp.join(out, 'gpu_check.txt'), 'w') as f:
        f.write(text + '\n')
    print(text)
    return 0 if ok else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('record')
    r.add_argument('stages_dir')
    r.add_argument('name', choices=sorted(STAGES))
    r.add_argument('--status', required=True, choices=['passed', 'failed', 'timeout', 'skipped'])
    r.add_argument('--rc', type=int, required=True)
    r.add_argument('--seconds', type=float, required=True)
    r.add_argument('--limit', type=int, required=True)
    r.add_argument('--log', required=True)
    r.add_argument('--command', default='')
    s = sub.add_parser('report')
    s.add_argument('work')
    s.add_argument('out')
    s.add_argument('--mode', choices=['gpu', 'dry-run'], required=True)
    s.add_argument('--config', required=True)
    s.add_argument('--seconds', type=float, required=True)
    args = p.parse_args(argv)
    if args.cmd == 'record':
        record(args.stages_dir, args.name, status=args.status, rc=args.rc, seconds=args.seconds,
               limit=args.limit, log=args.log, command=args.command, ended=time.time())
        return 0
    return report(args.work, args.out, args.mode, args.config, args.seconds)


if __name__ == '__main__':
    sys.exit(main())
