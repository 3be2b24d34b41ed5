"""What the reproducible CPU mode costs: MER-CLIP's training step in the default mode and in the
reproducible mode (mer_clip.utils.reproducible), side by side.

Each round runs ``bench/train_step.py --size small --models a,b --threads 1`` (MER-CLIP: ``a``)
twice, in a fresh process with this environment and with the mode's pins (``pinned_environ``), the
order alternating every round, so that the load of a shared machine hits both alike. Reported: each
mode's median step time over rounds and the median of the per-round ratios reproducible / default.
Both modes run one thread, so the ratio is the cost of the pinned kernel paths alone (the default
mode's extra threads are not counted against the mode).

    python bench/reproducible_cost.py --rounds 5 --json work_dirs/bench/reproducible_cost.json

Results: docs/reproducibility.md ("Cost").
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'projects'))


def step_time(env: Dict[str, str], steps: int, warmup: int) -> float:
    """Median training-step seconds of MER-CLIP (tiny) in a fresh process with ``env``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'step.json')
        subprocess.run([sys.executable, osp.join(ROOT, 'bench', 'train_step.py'), '--size',
                        'small', '--models', 'a,b', '--threads', '1', '--no-flops', '--steps',
                        str(steps), '--warmup', str(warmup), '--json', out], env=env,
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)['models']['a']['step_time_s']['median']


def main(argv: Optional[List[str]] = None) -> int:
    from mer_clip.utils.reproducible import MODE_ENV, ENV_PINS, pinned_environ
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--json')
    args = p.parse_args(argv)
    plain = {k: v for k, v in os.environ.items() if k not in ENV_PINS and k != MODE_ENV}
    plain.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    envs = {'default': plain, 'reproducible': pinned_environ(plain)}
    times: Dict[str, List[float]] = {'default': [], 'reproducible': []}
    for r in range(args.rounds):
        for mode in (('default', 'reproducible') if r % 2 == 0 else
                     ('reproducible', 'default')):
            times[mode].append(step_time(envs[mode], args.steps, args.warmup))
        print(f'[cost] round {r}: default {times["default"][-1] * 1e3:.1f} ms, reproducible '
              f'{times["reproducible"][-1] * 1e3:.1f} ms', flush=True)
    ratios = [b / a for a, b in zip(times['default'], times['reproducible'])]
    res = dict(rounds=args.rounds, steps=args.steps,
               median_step_s={k: statistics.median(v) for k, v in times.items()},
               step_s=times, ratio_median=statistics.median(ratios),
               ratio_range=[min(ratios), max(ratios)])
    print(f'[cost] reproducible / default step time: {res["ratio_median"]:.2f} (median of '
          f'{args.rounds} rounds, range {min(ratios):.2f}-{max(ratios):.2f})')
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
