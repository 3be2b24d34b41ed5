"""bench/batch_search.py: the largest train_step batch before CUDA runs out of memory.

The search logic with a fake try (fits up to a limit, OOM above), and the whole tool with a fake
bench/train_step.py that prints torch's OOM error above a batch: what fits, the tries, why it
stopped, and a failure that is no OOM ending the search with exit status 1.
"""
import json

import pytest

from tests.bench.bench_import import load_bench

bs = load_bench('batch_search')
GiB = 2**30


def fake(limit, calls=None, error_at=None):
    def run_try(batch, seconds_left):
        if calls is not None:
            calls.append(batch)
        if batch == error_at:
            return dict(outcome='error', error='exit 1: KeyError')
        return dict(outcome='fits' if batch <= limit else 'oom')
    return run_try


def test_oom_line_finds_torch_and_cublas_messages_only():
    assert bs.oom_line('x\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB\n')
    assert bs.oom_line('RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling')
    assert bs.oom_line('Traceback\nKeyError: batch\n') is None


def test_prediction_extrapolates_the_activation_memory_per_clip():
    run = dict(batch=8, device_memory_bytes=80 * GiB, resident_bytes=8 * GiB,
               models=dict(a=dict(peak_mem_bytes=14 * GiB)))
    # (0.9 x 80 - 8) / ((14 - 8) / 8) = 85.3 clips: the first try is 64, then 128
    assert bs.predicted_batch(run) == 85
    assert bs.first_try(8, 85, 256) == 64
    assert bs.first_try(8, 85, 32) == 32  # --max-batch caps it
    cpu = dict(batch=2, device_memory_bytes=None, resident_bytes=None,
               models=dict(a=dict(peak_mem_bytes=float('nan'))))
    assert bs.predicted_batch(cpu) is None and bs.first_try(2, None, 4) == 4


def test_doubling_up_to_the_first_oom():
    calls = []
    tries, fits, why = bs.search(fake(64, calls), base=8, start=16, max_batch=512,
                                 time_budget=1e9)
    assert calls == [16, 32, 64, 128] and fits == 64
    assert [t['outcome'] for t in tries] == ['fits'] * 3 + ['oom'] and '128' in why


def test_a_first_try_that_does_not_fit_halves_down():
    calls = []
    _, fits, why = bs.search(fake(40, calls), base=8, start=128, max_batch=512, time_budget=1e9)
    assert calls == [128, 64, 32] and fits == 32 and 'batch 64 ran out of memory' in why
    calls = []
    _, fits, why = bs.search(fake(8, calls), base=8, start=32, max_batch=512, time_budget=1e9)
    assert calls == [32, 16] and fits is None and '8 fits (the base run)' in why


def test_max_batch_and_time_budget_stop_the_search():
    calls = []
    _, fits, why = bs.search(fake(10**6, calls), base=8, start=16, max_batch=64, time_budget=1e9)
    assert calls == [16, 32, 64] and fits == 64 and '--max-batch 64' in why
    now = [0.0]

    def slow(batch, seconds_left):
        now[0] += 50  # every try takes 50 s
        return dict(outcome='fits')

    tries, fits, why = bs.search(slow, base=8, start=16, max_batch=512, time_budget=160,
                                 clock=lambda: now[0])
    # after 16 (50 s) and 32 (100 s) only 60 s are left, less than 1.5 x 50 s
    assert [t['batch'] for t in tries] == [16, 32] and fits == 32 and 'out of time' in why
    tries, fits, why = bs.search(slow, base=8, start=16, max_batch=512, time_budget=-5)
    assert tries == [] and fits is None and 'out of time' in why


def test_an_error_that_is_no_oom_stops_with_it():
    tries, fits, why = bs.search(fake(64, error_at=32), base=8, start=16, max_batch=512,
                                 time_budget=1e9)
    assert fits == 16 and tries[-1]['outcome'] == 'error' and 'KeyError' in why


FAKE_TRAIN_STEP = '''
import json, sys
args = sys.argv[1:]
batch, out = int(args[args.index('--batch') + 1]), args[args.index('--json') + 1]
assert '--models' in args, args  # the search passes the train_step arguments through
if batch > {limit}:
    print('Traceback (most recent call last):')
    print('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 9.00 GiB')
    sys.exit(1)
if batch == {broken}:
    print('KeyError: something else'); sys.exit(1)
json.dump(dict(batch=batch, models=dict(a=dict(peak_mem_bytes=batch))), open(out, 'w'))
'''


def _run_tool(tmp_path, monkeypatch, limit, broken=-1):
    script = tmp_path / 'fake_train_step.py'
    script.write_text(FAKE_TRAIN_STEP.format(limit=limit, broken=broken))
    monkeypatch.setattr(bs, 'TRAIN_STEP', str(script))
    base = tmp_path / 'b8.json'
    base.write_text(json.dumps(dict(batch=8, device_memory_bytes=None, resident_bytes=None,
                                    models=dict(a=dict(peak_mem_bytes=None)))))
    out = tmp_path / 'search.json'
    rc = bs.main(['--from-json', str(base), '--json', str(out), '--log-dir', str(tmp_path / 'l'),
                  '--', '--models', 'a,b'])
    return rc, json.loads(out.read_text())


def test_the_tool_runs_train_step_per_batch_and_reads_its_oom(tmp_path, monkeypatch):
    rc, res = _run_tool(tmp_path, monkeypatch, limit=32)
    assert rc == 0 and res['largest_batch'] == 32 and not res['failed']
    assert [(t['batch'], t['outcome']) for t in res['tries']] == [
        (16, 'fits'), (32, 'fits'), (64, 'oom')]
    assert 'CUDA out of memory' in res['tries'][-1]['oom']
    assert res['result'] == dict(batch=32, models=dict(a=dict(peak_mem_bytes=32)))


def test_the_tool_fails_on_an_error_that_is_no_oom(tmp_path, monkeypatch):
    rc, res = _run_tool(tmp_path, monkeypatch, limit=64, broken=32)
    assert rc == 1 and res['failed'] and res['largest_batch'] == 16
    assert 'KeyError: something else' in res['tries'][-1]['error']


def test_the_tool_refuses_batch_and_json_in_the_train_step_arguments(tmp_path):
    with pytest.raises(SystemExit):
        bs.main(['--json', str(tmp_path / 'x.json'), '--log-dir', str(tmp_path), '--',
                 '--batch', '8'])

