"""bench/gpu_check_summary.py: the JSON and the table of bench/gpu_check.sh.

From stage records and stage results written here: the targets judged (meets / MISSES) on a GPU
run and not judged in a dry run; exit status 1 for a failed stage, a stage that never recorded
and a passed stage that left no result.
"""
import json
import os

from tests.bench.bench_import import load_bench

summary = load_bench('gpu_check_summary')
GiB = 2**30


def train_step(batch, a_ms, b_ms, fraction, samples_per_s):
    model = dict(step_time_s=dict(median=a_ms / 1e3), flops_per_step=1.083e12,
                 peak_mem_bytes=20 * GiB, samples_per_s=samples_per_s,
                 achieved_flops_per_s=fraction * 800e12, fraction_of_matmul_rate=fraction)
    base = dict(step_time_s=dict(median=b_ms / 1e3), flops_per_step=1e12)
    return dict(batch=batch, device_name='NVIDIA H100 80GB HBM3', device_memory_bytes=80 * GiB,
                models=dict(a=model, b=base), ratios={'a/b': dict(ratio_of_medians=a_ms / b_ms)},
                matmul_rate=dict(flops_per_s=800e12, dtype='bfloat16'))


def write_work(work, ratio_ms=(41.0, 38.0), cache_rate=1500.0, skip=(), status=None):
    os.makedirs(work / 'stages')
    files = {
        'train_step.json': train_step(8, *ratio_ms, 0.40, 195.0),
        'batch_search.json': dict(largest_batch=64, stopped='batch 128 ran out of memory',
                                  result=train_step(64, 300.0, 290.0, 0.45, 213.0)),
        'resume.json': dict(resumed_from_epoch=1, meta_epoch=2, checkpoint='x'),
        'loso/summary.json': dict(pooled=dict(UF1=0.25), num_folds=2),
        'test_predictions.json': dict(samples=4, max_score_diff=0.0),
        'clip_cache.json': dict(procs=4, clips_per_s={'cache256-mmap': cache_rate,
                                                      'jpeg-ours': 160.0}),
        'synthetic/annotations.json': {}, 'train/last_checkpoint': 'epoch_1.pth'}
    for rel, obj in files.items():
        os.makedirs(os.path.dirname(work / rel), exist_ok=True)
        (work / rel).write_text(obj if isinstance(obj, str) else json.dumps(obj))
    for name in summary.STAGES:
        if name in skip:
            continue
        summary.record(str(work / 'stages'), name, status=(status or {}).get(name, 'passed'),
                       rc=0, seconds=1.5, limit=60, log=str(work / f'{name}.log'))


def report(tmp_path, capsys, mode='gpu', **kw):
    work, out = tmp_path / 'work', tmp_path / 'out'
    write_work(work, **kw)
    rc = summary.report(str(work), str(out), mode, 'configs/x.py', 300)
    text = capsys.readouterr().out
    assert (out / 'gpu_check.txt').read_text() == text
    return rc, text, json.loads((out / 'gpu_check.json').read_text())


def row(text, start):
    return next(line for line in text.splitlines() if line.startswith(start))


def test_a_gpu_run_that_meets_the_targets(tmp_path, capsys):
    rc, text, js = report(tmp_path, capsys)
    assert rc == 0 and js['passed'] and 'every stage passed' in text
    assert 'NVIDIA H100 80GB HBM3' in text
    assert row(text, 'step MER-CLIP').split()[-3:] == ['<=', '1.15', 'meets']
    assert '1.079 = 41.0 / 38.0 ms (FLOPs 1.083)' in row(text, 'step MER-CLIP')
    assert '320 / 800 TFLOP/s bfloat16 = 40.0%' in row(text, 'MER-CLIP FLOP/s')
    assert row(text, 'MER-CLIP FLOP/s').endswith('meets')
    assert '  1.034 = 300.0 / 290.0 ms' in row(text, '  at b64 (largest that fits)')
    assert 'b8: 20.0, b64: 20.0 GiB of 80.0' in row(text, 'peak memory')
    assert 'largest 64: batch 128 ran out of memory' in row(text, 'batch search')
    assert row(text, 'data: clip cache 256, mmap, 4 workers').endswith('meets')
    assert row(text, 'data: JPEG frames, 4 workers').endswith('does NOT keep up')
    assert 'epoch 1 -> 2' in row(text, 'train.py, then --resume')
    assert 'pooled UF1 0.250' in row(text, 'loso.py --gpus 1, 2 folds')
    assert max(len(line) for line in text.splitlines()) <= 110
    assert js['results']['train_step']['batch'] == 8
    assert [m['verdict'] for m in js['measures'] if m['target']] == ['meets'] * 3


def test_missed_targets_are_printed_not_failures(tmp_path, capsys):
    rc, text, js = report(tmp_path, capsys, ratio_ms=(50.0, 40.0), cache_rate=100.0)
    assert rc == 0
    assert row(text, 'step MER-CLIP').endswith('MISSES')
    assert row(text, 'data: clip cache').endswith('MISSES')


def test_the_cpu_rehearsal_judges_no_target(tmp_path, capsys):
    rc, text, js = report(tmp_path, capsys, mode='dry-run')
    assert rc == 0 and '--dry-run (CPU, tiny sizes)' in text
    assert [m['verdict'] for m in js['measures'] if m['target']] == ['dry run'] * 3
    assert 'keeps up' not in text and 'NOT' not in text


def test_a_failed_or_missing_stage_fails_the_run(tmp_path, capsys):
    rc, text, js = report(tmp_path, capsys, skip=('test',), status=dict(loso='timeout'))
    assert rc == 1 and not js['passed'] and js['failed_stages'] == ['loso', 'test']
    assert 'FAILED: loso, test' in text
    assert row(text, 'loso ').split()[1] == 'timeout' and 'loso.log' in row(text, 'loso ')
    assert row(text, 'test ').split()[1:3] == ['not', 'run']


def test_a_passed_stage_without_its_result_fails_the_run(tmp_path, capsys):
    work = tmp_path / 'work'
    write_work(work)
    os.remove(work / 'resume.json')
    rc = summary.report(str(work), str(tmp_path / 'out'), 'gpu', 'configs/x.py', 300)
    text = capsys.readouterr().out
    assert rc == 1 and 'train_resume: passed but left no resume.json' in text
    assert row(text, 'train.py, then --resume').split()[-1] == '-'


def test_targets_without_their_numbers_are_not_measured(tmp_path, capsys):
    work = tmp_path / 'work'
    write_work(work, status=dict(train_step='failed'))
    os.remove(work / 'train_step.json')
    rc = summary.report(str(work), str(tmp_path / 'out'), 'gpu', 'configs/x.py', 300)
    text = capsys.readouterr().out
    assert rc == 1 and 'FAILED: train_step' in text
    assert row(text, 'step MER-CLIP').split()[-2:] == ['not', 'measured']
    assert row(text, 'data: clip cache').endswith('not measured')
    assert '1500 clips/s; model -' in row(text, 'data: clip cache')
