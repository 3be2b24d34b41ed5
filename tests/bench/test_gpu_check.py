"""bench/gpu_check.sh: the first GPU run's script, so that it cannot rot before a GPU runs it.

- ``--dry-run`` (slow: the real tools at tiny sizes on the CPU, two stages at a time, ~1-2
  minutes): every stage passes, the JSON and the table are written and the table is printed last;
  with fake tools: two stages run at once, each after the stages it needs;
- with a fake python that fails one tool: that stage is recorded as failed, the later stages
  still run, the exit status is 1 and the table names it;
- a stage that outlives the time left is stopped (its processes too) and the stages after it are
  skipped, within the deadline;
- usage errors and a work dir that is not the script's: exit status 2, nothing deleted.
"""
import json
import os
import os.path as osp
import stat
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = osp.join(REPO_ROOT, 'bench', 'gpu_check.sh')
STAGES = ['synthetic_set', 'train_step', 'train', 'train_resume', 'loso', 'test', 'data_path',
          'batch_search']


def run(tmp_path, *args, python=sys.executable, timeout=1800, **env):
    env = dict(os.environ, OUT=str(tmp_path / 'out'), GPU_CHECK_WORK=str(tmp_path / 'work'),
               PYTHON=python, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', **env)
    return subprocess.run(['bash', SCRIPT, *args], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=timeout)


def fake_python(tmp_path, body):
    """A PYTHON that runs the summary helper (and ``-c``) for real and ``body`` for the rest."""
    path = tmp_path / 'fake_python'
    path.write_text(f'''#!/bin/sh
case "$1" in
  -c|*gpu_check_summary.py) exec {sys.executable} "$@" ;;
esac
{body}
echo "fake: $*"
''')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def stage_records(tmp_path):
    return {n: json.loads((tmp_path / 'work' / 'stages' / f'{n}.json').read_text())
            for n in STAGES}


@pytest.mark.slow
def test_dry_run_passes_every_stage(tmp_path):
    out = run(tmp_path, '--dry-run')
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    summary = json.loads((tmp_path / 'out' / 'gpu_check.json').read_text())
    assert summary['passed'] and summary['mode'] == 'dry-run'
    assert list(summary['stages']) == STAGES
    assert all(s['status'] == 'passed' for s in summary['stages'].values())
    table = (tmp_path / 'out' / 'gpu_check.txt').read_text()
    assert out.stdout.rstrip().endswith(table.rstrip())  # the table comes last
    assert (tmp_path / 'out' / 'gpu_check_logs.tar.gz').stat().st_size > 0
    res = summary['results']
    # every stage's real output: the numbers of the table come from them
    assert res['train_step']['ratios']['a/b']['ratio_of_medians'] > 0
    # the CUDA memory figures the search extrapolates from: keys present, None on the CPU
    assert res['train_step']['resident_bytes'] is None
    assert res['train_step']['device_memory_bytes'] is None
    assert res['batch_search']['largest_batch'] == 4 and res['batch_search']['result']
    assert res['resume']['meta_epoch'] == 2 and res['resume']['resumed_from_epoch'] == 1
    assert res['loso']['num_folds'] == 2 and res['test']['samples'] == 2
    assert res['data_path']['procs'] == 2  # the tiny config's num_workers
    assert all(v > 0 for v in res['data_path']['clips_per_s'].values())
    for m in summary['measures']:
        assert m['value'] != '-', m  # nothing missing
    assert [m['verdict'] for m in summary['measures'] if m['target']] == ['dry run'] * 3


#: what each stage needs finished first (bench/gpu_check.sh's NEEDS)
NEEDS = {'train': 'synthetic_set', 'train_resume': 'train', 'loso': 'synthetic_set',
         'test': 'loso', 'batch_search': 'train_step'}


def test_dry_run_runs_two_stages_at_once_after_what_they_need(tmp_path):
    """The dry run's stages (single-threaded CPU processes) run two at a time, each once the
    stages it needs have ended; every tool call here takes 1 s and logs its stage."""
    calls = tmp_path / 'calls.txt'
    python = fake_python(tmp_path, f'''\
stage=$(tr '\\0' ' ' < /proc/$PPID/cmdline | awk '{{print $NF}}')
echo "$(date +%s.%N) $stage" >> {calls}
sleep 1
echo "$(date +%s.%N) $stage" >> {calls}''')
    out = run(tmp_path, '--dry-run', python=python)
    # every stage passed (the fake tools wrote no results: the summary's exit status is 1)
    assert all(r['status'] == 'passed' for r in stage_records(tmp_path).values()), out.stdout
    span = {}
    for line in calls.read_text().splitlines():
        t, stage = line.split()
        lo, hi = span.get(stage, (float(t), float(t)))
        span[stage] = (min(lo, float(t)), max(hi, float(t)))
    assert sorted(span) == sorted(STAGES)
    for stage, need in NEEDS.items():
        assert span[stage][0] >= span[need][1], (stage, need, span)
    at_once = [sum(lo <= t < hi for lo, hi in span.values()) for t, _ in span.values()]
    assert max(at_once) == 2, span


def test_a_failed_stage_is_recorded_and_the_next_ones_run(tmp_path):
    python = fake_python(tmp_path, '''case "$1" in
  *tools/loso.py) echo "loso broke on purpose" >&2; exit 3 ;;
esac''')
    out = run(tmp_path, python=python)
    assert out.returncode == 1, out.stdout + out.stderr
    rec = stage_records(tmp_path)
    assert rec['loso']['status'] == 'failed' and rec['loso']['rc'] == 3
    assert all(rec[n]['status'] == 'passed' for n in STAGES if n != 'loso')
    assert 'loso broke on purpose' in out.stdout  # the end of its log, under the stage line
    assert 'FAILED: loso' in out.stdout
    # the fake tools wrote nothing: the stages that "passed" left no results either
    summary = json.loads((tmp_path / 'out' / 'gpu_check.json').read_text())
    assert 'train_step: passed but left no train_step.json' in summary['problems']


def test_a_stage_past_the_deadline_is_stopped_and_the_rest_skipped(tmp_path):
    python = fake_python(tmp_path, '''case "$1" in
  *make_synthetic.py) sleep 120 ;;
esac''')
    t0 = time.time()
    out = run(tmp_path, python=python, GPU_CHECK_DEADLINE='12')
    assert time.time() - t0 < 60, 'the hanging stage was not stopped'
    assert out.returncode == 1
    rec = stage_records(tmp_path)
    assert rec['synthetic_set']['status'] == 'timeout' and rec['synthetic_set']['limit'] == 12
    assert all(rec[n]['status'] == 'skipped' for n in STAGES[1:])


def test_usage_errors_and_a_foreign_work_dir(tmp_path):
    out = run(tmp_path, '--dryrun')
    assert out.returncode == 2 and "unknown argument '--dryrun'" in out.stderr
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'precious.txt').write_text('keep me')
    out = run(tmp_path, python=fake_python(tmp_path, ''))
    assert out.returncode == 2 and 'is no gpu_check work dir' in out.stderr
    assert (work / 'precious.txt').read_text() == 'keep me'
    help_out = run(tmp_path, '--help')
    assert help_out.returncode == 0 and 'GPU_CHECK_WORK' in help_out.stdout
