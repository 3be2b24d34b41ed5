"""The largest batch of bench/train_step.py that fits on the GPU: doubling until CUDA runs out of
memory.

Each try is one ``bench/train_step.py ... --batch B --json`` process (an OOM leaves nothing behind
in the next one); a try that fails for any other reason ends the search with an error. The first
try is the largest ``base x 2^k`` the ``--from-json`` run (at the base batch, e.g. 8) predicts to
fit (see :func:`predicted_batch`), so a search usually takes two tries: one that fits and the
doubled one that runs out of memory; a first try that does not fit halves down to the base. No
new try starts when the time left (``--time-budget``) is less than the last try took times 1.5.

    python bench/batch_search.py --from-json b8.json --json search.json --log-dir logs -- \\
        --size full --device cuda --amp bf16 --models a,b --steps 10 --warmup 2

Writes ``--json``: the tries (batch, outcome ``fits`` / ``oom`` / ``timeout``, seconds, the OOM
line), the largest batch that fitted, why the search stopped and that batch's train_step JSON.
Exit status 1 when a try failed for another reason than memory (the log names it).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
TRAIN_STEP = osp.join(HERE, 'train_step.py')
#: what a try that ran out of GPU memory prints (torch's error, cuBLAS / cuDNN allocation failures)
OOM_MARKERS = ('torch.OutOfMemoryError', 'torch.cuda.OutOfMemoryError', 'CUDA out of memory',
               'CUBLAS_STATUS_ALLOC_FAILED', 'CUDNN_STATUS_NOT_ENOUGH_WORKSPACE')
#: the share of the card a prediction may plan to use (allocator fragmentation, CUDA context)
USABLE = 0.9


def oom_line(text):
    """The first line of ``text`` that says CUDA ran out of memory, or None."""
    for line in text.splitlines():
        if any(m in line for m in OOM_MARKERS):
            return line.strip()
    return None


def predicted_batch(base_json):
    """The batch that fits by linear extrapolation from a train_step run at the base batch:
    (usable memory - what the models keep between steps) / (MER-CLIP's step peak above that, per
    clip). Conservative: the peak includes gradients and workspaces, counted as per-clip. None
    when the run has no CUDA memory figures (CPU)."""
    total, resident = base_json.get('device_memory_bytes'), base_json.get('resident_bytes')
    peak = base_json['models']['a'].get('peak_mem_bytes')
    batch = base_json['batch']
    if not total or resident is None or not peak or peak != peak or peak <= resident:
        return None
    per_clip = (peak - resident) / batch
    return int((USABLE * total - resident) / per_clip)


def first_try(base, predicted, max_batch):
    """The largest ``base x 2^k`` (k >= 1) up to the prediction (at least ``2 x base``)."""
    b = 2 * base
    if predicted is not None:
        while b * 2 <= min(predicted, max_batch):
            b *= 2
    return b


def search(run_try, base, start, max_batch, time_budget, clock=time.monotonic):
    """Doubling from ``start`` while tries fit; down by halves (to ``base``, known to fit) while
    they do not. ``run_try(batch, seconds_left)`` -> dict(outcome='fits' | 'oom' | 'timeout' |
    'error', ...). Returns (tries, largest fitting batch or None, why it stopped)."""
    t0, tries, fits, oom = clock(), [], None, None
    b, last = start, None
    while True:
        if b > max_batch:
            return tries, fits, f'--max-batch {max_batch} reached'
        if fits is not None and oom is not None and b >= oom:
            return tries, fits, f'batch {oom} ran out of memory'
        if b <= base:
            return tries, fits, f'batch {oom} ran out of memory; {base} fits (the base run)'
        left = time_budget - (clock() - t0)
        if left <= 0:
            return tries, fits, 'out of time: no time left for a try'
        if last is not None and left < 1.5 * last:
            return tries, fits, f'out of time: {left:.0f} s left, the last try took {last:.0f} s'
        t = clock()
        res = dict(batch=b, **run_try(b, left))
        last = res['seconds'] = clock() - t
        tries.append(res)
        if res['outcome'] == 'fits':
            fits = b
            b *= 2
        elif res['outcome'] == 'oom':
            oom = b
            if fits is not None:
                return tries, fits, f'batch {b} ran out of memory'
            b //= 2
        elif res['outcome'] == 'timeout':
            return tries, fits, f'out of time: batch {b} was stopped after {last:.0f} s'
        else:
            return tries, fits, f'batch {b} failed: {res.get("error")}'


def subprocess_try(train_step_args, work, log_dir):
    """A ``run_try`` that runs bench/train_step.py at the batch, its log in ``log_dir``."""

    def run_try(batch, seconds_left):
        out = osp.join(work, f'train_step_b{batch}.json')
        log = osp.join(log_dir, f'batch_search_b{batch}.log')
        cmd = [sys.executable, TRAIN_STEP, *train_step_args, '--batch', str(batch), '--json', out]
        with open(log, 'w') as f:
            try:
                rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT,
                                    timeout=max(seconds_left, 1)).returncode
            except subprocess.TimeoutExpired:
                return dict(outcome='timeout', log=log)
        text = open(log, errors='replace').read()
        if rc == 0 and osp.exists(out):
            return dict(outcome='fits', log=log, json=out)
        line = oom_line(text)
        if line:
            return dict(outcome='oom', log=log, oom=line)
        tail = [x for x in text.splitlines() if x.strip()][-1:] or ['(no output)']
        return dict(outcome='error', log=log, error=f'exit {rc}: {tail[0]} (see {log})')

    return run_try


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--from-json', help='train_step JSON of the base batch: the base and the '
                   'first try come from it')
    p.add_argument('--base', type=int, default=8, help='a batch known to fit (without --from-json)')
    p.add_argument('--start', type=int, help='first batch to try (default: predicted)')
    p.add_argument('--max-batch', type=int, default=256)
    p.add_argument('--time-budget', type=float, default=150.0, help='seconds for all tries')
    p.add_argument('--json', required=True)
    p.add_argument('--log-dir', required=True)
    p.add_argument('train_step_args', nargs=argparse.REMAINDER,
                   help='after --: the arguments of every bench/train_step.py try')
    args = p.parse_args(argv)
    ts_args = [a for a in args.train_step_args if a != '--']
    if '--batch' in ts_args or '--json' in ts_args:
        p.error('--batch and --json of the tries are set by the search')
    base, predicted = args.base, None
    if args.from_json:
        with open(args.from_json) as f:
            base_json = json.load(f)
        base, predicted = base_json['batch'], predicted_batch(base_json)
    start = args.start or first_try(base, predicted, args.max_batch)
    work = osp.dirname(osp.abspath(args.json))
    os.makedirs(work, exist_ok=True)
    os.makedirs(args.log_dir, exist_ok=True)
    print(f'batch search: base {base}, predicted to fit {predicted}, first try {start}, '
          f'max {args.max_batch}, {args.time_budget:.0f} s', flush=True)
    tries, fits, why = search(subprocess_try(ts_args, work, args.log_dir), base, start,
                              args.max_batch, args.time_budget)
    for t in tries:
        print(f'  batch {t["batch"]}: {t["outcome"]} in {t["seconds"]:.0f} s'
              + (f' ({t["oom"]})' if t.get('oom') else ''), flush=True)
    result = None
    if fits is not None:
        with open(next(t['json'] for t in tries if t['batch'] == fits)) as f:
            result = json.load(f)
    failed = any(t['outcome'] == 'error' for t in tries)
    print(f'largest batch that fits: {fits if fits is not None else f"{base} (the base)"}; '
          f'stopped: {why}')
    with open(args.json, 'w') as f:
        json.dump(dict(base=base, predicted=predicted, start=start, max_batch=args.max_batch,
                       tries=tries, largest_batch=fits, stopped=why, failed=failed,
                       result=result), f, indent=1)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
