"""Which sources make CPU results differ: the demo's two folds under each pin and kernel path.

Every row runs ``tools/loso.py`` on the demo config (``--subjects s01 s02 --parallel 2``, one
thread per fold unless the row says otherwise) in a fresh process tree with some environment
variables set, and compares its ``predictions.csv`` with the first row's (the reference): how many
predicted labels differ and the largest difference of a class score. A kernel path this machine
can run (``ATEN_CPU_CAPABILITY=avx2`` on an AVX512 machine, ``ONEDNN_MAX_CPU_ISA``,
``MKL_CBWR``, numpy's and OpenCV's dispatch switches) stands in for another processor.

Settings that act inside the process (``torch.use_deterministic_algorithms``,
``torch.backends.mkldnn.enabled``) are set by a ``sitecustomize.py`` in a temporary folder put first
on ``PYTHONPATH``, so they hold in every process of the run.

    python bench/reproducibility_matrix.py --out work_dirs/bench/repro.json      # every row
    python bench/reproducibility_matrix.py --rows native native_again aten_avx2
    python bench/reproducibility_matrix.py --fold-mode inprocess \
        --cfg-options train_cfg.max_epochs=1 train_dataloader.dataset.indices=16  # the golden run
    python bench/reproducibility_matrix.py --from-json work_dirs/bench/repro.json  # table only

The table it prints is in docs/reproducibility.md.
"""
import argparse
import csv
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py'
SUBJECTS = ('s01', 's02')
NUMPY_NO_AVX512 = 'X86_V4 AVX512_ICL AVX512_SPR'   # numpy 2.x dispatch targets above AVX2
OPENCV_NO_AVX512 = 'AVX512F,AVX512-SKX,AVX512-CLX'  # OpenCV's names of its AVX512 targets
PINNED = {'ATEN_CPU_CAPABILITY': 'default', 'ONEDNN_MAX_CPU_ISA': 'SSE41',
          'MKL_CBWR': 'COMPATIBLE'}

#: what an AVX2 processor runs, stood in for on this AVX512 machine
AVX2_MACHINE = {'ATEN_CPU_CAPABILITY': 'avx2', 'ONEDNN_MAX_CPU_ISA': 'AVX2', 'MKL_CBWR': 'AVX2',
                'NPY_DISABLE_CPU_FEATURES': NUMPY_NO_AVX512, 'OPENCV_CPU_DISABLE': OPENCV_NO_AVX512}

# name -> (what it changes, environment, in-process torch settings)
ROWS: Dict[str, tuple] = {
    'native': ('nothing (reference): native paths, 1 thread per fold', {}, []),
    'native_again': ('nothing: the same command again', {}, []),
    'aten_avx2': ('ATen kernels: avx2', {'ATEN_CPU_CAPABILITY': 'avx2'}, []),
    'aten_default': ('ATen kernels: default (no SIMD dispatch)',
                     {'ATEN_CPU_CAPABILITY': 'default'}, []),
    'onednn_avx2': ('oneDNN ISA: AVX2', {'ONEDNN_MAX_CPU_ISA': 'AVX2'}, []),
    'onednn_sse41': ('oneDNN ISA: SSE41', {'ONEDNN_MAX_CPU_ISA': 'SSE41'}, []),
    'mkl_avx2': ('MKL code path: AVX2', {'MKL_CBWR': 'AVX2'}, []),
    'mkl_compatible': ('MKL code path: COMPATIBLE', {'MKL_CBWR': 'COMPATIBLE'}, []),
    'numpy_avx2': ('numpy dispatch: no AVX512', {'NPY_DISABLE_CPU_FEATURES': NUMPY_NO_AVX512}, []),
    'opencv_avx2': ('OpenCV dispatch: no AVX512', {'OPENCV_CPU_DISABLE': OPENCV_NO_AVX512}, []),
    'threads_2': ('2 threads per fold', {'OMP_NUM_THREADS': '2', 'MKL_NUM_THREADS': '2'}, []),
    'deterministic': ('torch.use_deterministic_algorithms(True)', {}, ['deterministic']),
    'no_mkldnn': ('torch.backends.mkldnn.enabled = False', {}, ['no_mkldnn']),
    'avx2_machine': ('an AVX2 processor: ATen avx2, oneDNN AVX2, MKL AVX2, numpy / OpenCV '
                     'without AVX512', dict(AVX2_MACHINE), []),
    'pinned': ('the three library pins: ATen default, oneDNN SSE41, MKL COMPATIBLE',
               dict(PINNED), []),
    'pinned_avx2_machine': ('the three pins on the stand-in AVX2 processor (numpy / OpenCV '
                            'without AVX512)',
                            dict(PINNED, NPY_DISABLE_CPU_FEATURES=NUMPY_NO_AVX512,
                                 OPENCV_CPU_DISABLE=OPENCV_NO_AVX512), []),
    'pinned_threads_2': ('the three pins, 2 threads per fold',
                         dict(PINNED, OMP_NUM_THREADS='2', MKL_NUM_THREADS='2'), []),
    'reproducible': ('tools/loso.py --reproducible', {}, ['--reproducible']),
    'reproducible_avx2_machine': ('tools/loso.py --reproducible started from the stand-in AVX2 '
                                  "processor's environment",
                                  dict(AVX2_MACHINE), ['--reproducible']),
}

SITECUSTOMIZE = {
    'deterministic': 'torch.use_deterministic_algorithms(True)',
    'no_mkldnn': 'torch.backends.mkldnn.enabled = False',
}


def read_predictions(path: str) -> Dict[str, Dict]:
    """sample_id -> {'pred': label, 'scores': [floats]} of a predictions.csv."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    out = {}
    for r in rows:
        scores = [float(v) for k, v in r.items() if k.startswith('score_')]
        out[r['sample_id']] = dict(pred=r['pred'], scores=scores)
    return out


def compare(ref: Dict[str, Dict], other: Dict[str, Dict]) -> Dict:
    """Labels that differ and the largest score difference, over the reference's samples."""
    if set(ref) != set(other):
        raise ValueError(f'the runs predicted different samples: {sorted(set(ref) ^ set(other))}')
    labels = sum(ref[s]['pred'] != other[s]['pred'] for s in ref)
    diff = max(abs(a - b) for s in ref for a, b in zip(ref[s]['scores'], other[s]['scores']))
    return dict(labels_differ=int(labels), max_score_diff=diff, samples=len(ref))


def run_row(name: str, work_root: str, cfg_options: List[str], log_dir: str,
            fold_mode: str = 'subprocess') -> Dict:
    """One row: a fresh LOSO run of the demo folds; its predictions, pooled metrics, seconds."""
    what, env_extra, inproc = ROWS[name]
    env = dict(os.environ, MPLBACKEND='Agg', OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env.update(env_extra)
    args = [a for a in inproc if a.startswith('--')]
    settings = [a for a in inproc if not a.startswith('--')]
    site = None
    if settings:
        site = tempfile.mkdtemp(prefix='repro_site_')
        with open(osp.join(site, 'sitecustomize.py'), 'w') as f:
            f.write('import torch\n' + ''.join(SITECUSTOMIZE[s] + '\n' for s in settings))
        env['PYTHONPATH'] = os.pathsep.join([site] + [p for p in [env.get('PYTHONPATH')] if p])
    work_dir = osp.join(work_root, name)
    shutil.rmtree(work_dir, ignore_errors=True)
    cmd = [sys.executable, 'tools/loso.py', CONFIG, '--work-dir', work_dir, '--parallel', '2',
           '--subjects', *SUBJECTS, '--no-plots', '--fold-mode', fold_mode, *args]
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    t0 = time.time()
    with open(osp.join(log_dir, f'{name}.log'), 'w') as log:
        status = subprocess.call(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.time() - t0
    if site:
        shutil.rmtree(site, ignore_errors=True)
    if status:
        raise RuntimeError(f'row {name} failed (exit {status}): see {log_dir}/{name}.log')
    with open(osp.join(work_dir, 'summary.json')) as f:
        summary = json.load(f)
    pooled = summary['pooled']
    return dict(name=name, what=what, env=env_extra, settings=inproc, seconds=seconds,
                pooled={k: pooled[k] for k in ('UF1', 'UAR', 'ACC')},
                kernel_paths=summary.get('cpu', {}).get('kernel_paths'),
                predictions=read_predictions(osp.join(work_dir, 'predictions.csv')))


def table(results: List[Dict], reference: Optional[str] = None) -> str:
    """The markdown table: each row against the first (or the row named ``reference``)."""
    ref = next(r for r in results if r['name'] == reference) if reference else results[0]
    lines = ['| row | what it changes | labels differ | max score diff | UF1 / UAR / ACC | s |',
             '|---|---|---|---|---|---|']
    for r in results:
        c = compare(ref['predictions'], r['predictions'])
        m = r['pooled']
        lines.append(f"| {r['name']} | {r['what']} | {c['labels_differ']} / {c['samples']} | "
                     f"{c['max_score_diff']:.6f} | {m['UF1']:.4f} / {m['UAR']:.4f} / "
                     f"{m['ACC']:.4f} | {r['seconds']:.0f} |")
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rows', nargs='+', choices=list(ROWS), default=list(ROWS),
                   help='rows to run, the first is the reference (default: all)')
    p.add_argument('--cfg-options', nargs='+', default=[], help='for every row (a smaller run)')
    p.add_argument('--fold-mode', default='subprocess', choices=['subprocess', 'inprocess'])
    p.add_argument('--work-root', default=osp.join(tempfile.gettempdir(), 'repro_matrix'))
    p.add_argument('--out', help='JSON of the results (written after every row)')
    p.add_argument('--from-json', help='print the table of an earlier --out')
    p.add_argument('--reference', help='with --from-json: compare with this row, not the first')
    args = p.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as f:
            print(table(json.load(f)['results'], args.reference))
        return 0
    os.makedirs(args.work_root, exist_ok=True)
    results = []
    for name in args.rows:
        results.append(run_row(name, args.work_root, args.cfg_options, args.work_root,
                               args.fold_mode))
        print(f'[repro] {name}: {results[-1]["seconds"]:.0f}s', flush=True)
        if args.out:
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            with open(args.out, 'w') as f:
                json.dump(dict(cfg_options=args.cfg_options, results=results), f, indent=1)
    print(table(results))
    return 0


if __name__ == '__main__':
    sys.exit(main())
