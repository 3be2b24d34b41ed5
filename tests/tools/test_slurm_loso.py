"""tools/slurm_loso.sh and tools/loso.py --write-jobs, with fake ``sbatch`` and ``squeue`` that run
the jobs here (STSTNet on the tiny flow set of tests/loso/test_loso_inprocess.py, 3 subjects):

- a 3-fold LOSO through the script: one array task per fold, a report job after them; its
  predictions are byte-identical to a plain tools/loso.py run's, and sbatch got the array range,
  the dependency on the array, the partition, job name and GPUs per fold;
- resume: a fold whose predictions are gone is the only one submitted again (``--array=0-0``);
- an earlier submission still queued: refused, nothing submitted;
- ``--write-jobs`` alone: the list of the unfinished folds' jobs (empty when all are done).

The fake sbatch records its argv, runs each array task (``SLURM_ARRAY_TASK_ID``) one after another
with its output in ``--output`` (``%A``, ``%a``, ``%j``), and a job with ``--dependency=afterok:ID``
only if every task of ID exited 0; it prints the job id (``--parsable``). The fake squeue lists a
job as ``PENDING`` while a marker file ``queued_<id>`` exists, as ended (``COMPLETED`` /
``FAILED``, what squeue shows for a moment after the end) once it ran, and else fails like squeue
for an unknown id.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mer_clip.loso import FoldJob
from tests.loso.test_loso_inprocess import SUBJECTS, make_flow_set, write_config

pytestmark = pytest.mark.slow

FAKE_SBATCH = r'''#!{python}
import json, os, re, subprocess, sys
state = os.environ['FAKE_SLURM_DIR']
argv = sys.argv[1:]
with open(os.path.join(state, 'calls.jsonl'), 'a') as f:
    f.write(json.dumps(dict(cmd='sbatch', argv=argv)) + '\n')
opts, i = {{}}, 0
while i < len(argv):
    a = argv[i]
    if a in ('-p', '-J'):
        opts[a], i = argv[i + 1], i + 2
        continue
    key, _, value = a.partition('=')
    opts[key] = value
    i += 1
id_file = os.path.join(state, 'next_id')
job_id = int(open(id_file).read()) if os.path.exists(id_file) else 1000
open(id_file, 'w').write(str(job_id + 1))
dep = opts.get('--dependency', '')
runs = not os.environ.get('FAKE_SLURM_DRY')
if dep and runs:
    kind, _, after = dep.partition(':')
    assert kind == 'afterok', dep
    runs = open(os.path.join(state, f'job_{{after}}.rc')).read() == '0'
array = opts.get('--array')
tasks = [None]
if array:
    first, last = map(int, re.match(r'(\d+)-(\d+)', array).groups())
    tasks = list(range(first, last + 1))
rc = 0
if runs:
    script = os.path.join(state, f'job_{{job_id}}.sh')
    open(script, 'w').write('#!/bin/sh\n' + opts['--wrap'] + '\n')
    for task in tasks:
        env = dict(os.environ, SLURM_JOB_ID=str(job_id))
        out = opts.get('--output', 'slurm-%j.out').replace('%j', str(job_id))
        if task is not None:
            env.update(SLURM_ARRAY_JOB_ID=str(job_id), SLURM_ARRAY_TASK_ID=str(task))
            out = out.replace('%A', str(job_id)).replace('%a', str(task))
        with open(out, 'w') as log:
            rc = max(rc, subprocess.call(['sh', script], env=env, stdout=log, stderr=log,
                                         cwd=opts.get('--chdir') or None))
elif dep:
    rc = 'cancelled'  # --kill-on-invalid-dep=yes
open(os.path.join(state, f'job_{{job_id}}.rc'), 'w').write(str(rc))
print(job_id if '--parsable' in opts else f'Submitted batch job {{job_id}}')
'''

FAKE_SQUEUE = r'''#!{python}
import json, os, sys
state = os.environ['FAKE_SLURM_DIR']
argv = sys.argv[1:]
with open(os.path.join(state, 'calls.jsonl'), 'a') as f:
    f.write(json.dumps(dict(cmd='squeue', argv=argv)) + '\n')
job = argv[argv.index('-j') + 1]
queued, rc = (os.path.join(state, f'{{name}}_{{job}}{{ext}}') for name, ext in
              (('queued', ''), ('job', '.rc')))
if os.path.exists(queued):
    print(open(queued).read().strip() or 'PENDING')
elif os.path.exists(rc):
    print('COMPLETED' if open(rc).read() == '0' else 'FAILED')
else:
    sys.exit('slurm_load_jobs error: Invalid job id specified')
'''


class FakeSlurm:
    """The fake commands in ``<dir>/bin`` (first on PATH) and their state in ``<dir>``."""

    def __init__(self, root):
        self.dir = str(root)
        os.makedirs(osp.join(self.dir, 'bin'))
        for name, text in (('sbatch', FAKE_SBATCH), ('squeue', FAKE_SQUEUE)):
            path = osp.join(self.dir, 'bin', name)
            with open(path, 'w') as f:
                f.write(text.format(python=sys.executable))
            os.chmod(path, 0o755)

    def env(self):
        return dict(os.environ, PATH=osp.join(self.dir, 'bin') + os.pathsep + os.environ['PATH'],
                    FAKE_SLURM_DIR=self.dir, PYTHON=sys.executable, OMP_NUM_THREADS='1',
                    MPLBACKEND='Agg', CPUS_PER_TASK='2')

    def calls(self, cmd='sbatch'):
        path = osp.join(self.dir, 'calls.jsonl')
        if not osp.exists(path):
            return []
        return [c['argv'] for c in map(json.loads, open(path)) if c['cmd'] == cmd]

    def queue(self, job_id, state='PENDING'):
        with open(osp.join(self.dir, f'queued_{job_id}'), 'w') as f:
            f.write(state)


def option(argv, name):
    """The value of ``name`` (``--name=value`` or ``-p value``) in an sbatch argv."""
    for i, a in enumerate(argv):
        if a == name:
            return argv[i + 1]
        if a.startswith(name + '='):
            return a[len(name) + 1:]
    return None


def slurm_loso(repo_root, fake, cfg, work, *extra, check=True, gpus='1', **env):
    out = subprocess.run(
        ['bash', 'tools/slurm_loso.sh', 'gpu-part', 'mer-loso', cfg, '--gpus-per-fold', gpus,
         '--work-dir', work, '--seed', '3', '--no-plots', *extra],
        cwd=repo_root, env=dict(fake.env(), **env), capture_output=True, text=True, timeout=600)
    if check:
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    return out


def predictions(work, subject):
    with open(osp.join(work, f'fold_{subject}', 'predictions.csv'), 'rb') as f:
        return f.read()


def summary(work):
    with open(osp.join(work, 'summary.json')) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def experiment(tmp_path_factory, repo_root):
    """The tiny flow set and config; a plain tools/loso.py run of it (the reference, started in
    the background); and the same LOSO through tools/slurm_loso.sh."""
    tmp = tmp_path_factory.mktemp('slurm_loso')
    root = make_flow_set(str(tmp / 'data'))
    cfg = write_config(tmp / 'cfg.py', root, repo_root)
    ref, work = str(tmp / 'ref'), str(tmp / 'slurm')
    fake = FakeSlurm(tmp / 'fake')
    with open(tmp / 'ref.log', 'w') as log:  # inprocess: one worker (predictions are the same)
        ref_proc = subprocess.Popen(
            [sys.executable, 'tools/loso.py', cfg, '--work-dir', ref, '--seed', '3',
             '--no-plots', '--fold-mode', 'inprocess'], cwd=repo_root, env=fake.env(),
            stdout=log, stderr=subprocess.STDOUT)
    try:
        out = slurm_loso(repo_root, fake, cfg, work)
    finally:
        rc = ref_proc.wait(timeout=600)
    assert rc == 0, open(tmp / 'ref.log').read()[-4000:]
    return dict(tmp=tmp, cfg=cfg, ref=ref, work=work, fake=fake, out=out)


def test_slurm_loso_end_to_end(experiment):
    fake, work, ref = experiment['fake'], experiment['work'], experiment['ref']
    out = experiment['out'].stdout
    assert '[loso] 3 of 3 folds to run: ' in out, out
    assert summary(work)['num_folds'] == 3 and summary(work)['seeds']['base'] == 3
    for s in SUBJECTS:
        assert predictions(work, s) == predictions(ref, s), s
    array, report = fake.calls()
    assert option(array, '--array') == '0-2'
    assert option(array, '-p') == 'gpu-part' and option(array, '-J') == 'mer-loso'
    assert option(array, '--gres') == 'gpu:1' and option(array, '--ntasks') == '1'
    assert option(array, '--cpus-per-task') == '2'
    assert option(array, '--output') == osp.join(work, 'slurm', 'fold_%A_%a.out')
    wrap = option(array, '--wrap')
    assert '-m mer_clip.loso fold --list' in wrap and wrap.endswith('--nproc 1 ')
    with open(osp.join(work, 'slurm_jobs.txt')) as f:
        assert [line.split('/')[-2] for line in f] == ['fold_a', 'fold_b', 'fold_c']
    record = json.load(open(osp.join(work, 'slurm_submission.json')))
    assert option(report, '--dependency') == f'afterok:{record["array_job"]}'
    assert option(report, '-p') == 'gpu-part' and option(report, '-J') == 'mer-loso-report'
    assert option(report, '--gres') is None
    wrap = option(report, '--wrap')
    assert 'tools/loso.py' in wrap and wrap.endswith('--seed 3 --no-plots --report-only ')
    assert f'report job {record["report_job"]} after all folds succeed' in out
    # each array task ran one fold, logged in its own file
    for task, s in enumerate(SUBJECTS):
        log = open(osp.join(work, 'slurm', f'fold_{record["array_job"]}_{task}.out')).read()
        assert f'[loso] fold {s}: train' in log and f'[loso] fold {s}: test' in log, log
    log = open(osp.join(work, 'slurm', f'report_{record["report_job"]}.out')).read()
    assert '[loso] pooled: UF1' in log, log


def test_slurm_loso_resubmits_only_unfinished_folds(experiment, repo_root):
    fake, work, ref = experiment['fake'], experiment['work'], experiment['ref']
    os.remove(osp.join(work, 'fold_b', 'predictions.csv'))
    os.remove(osp.join(work, 'fold_b', 'train_done.json'))
    os.remove(osp.join(work, 'summary.json'))
    earlier = json.load(open(osp.join(work, 'slurm_submission.json')))
    before = len(fake.calls())
    out = slurm_loso(repo_root, fake, experiment['cfg'], work)
    assert '[loso] 1 of 3 folds to run: ' in out.stdout, out.stdout
    array, report = fake.calls()[before:]
    assert option(array, '--array') == '0-0'
    with open(osp.join(work, 'slurm_jobs.txt')) as f:
        assert f.read() == osp.join(work, 'fold_b', 'fold_job.json') + '\n'
    record = json.load(open(osp.join(work, 'slurm_submission.json')))
    assert option(report, '--dependency') == f'afterok:{record["array_job"]}'
    log = open(osp.join(work, 'slurm', f'fold_{record["array_job"]}_0.out')).read()
    assert '[loso] fold b: train' in log and 'fold a' not in log, log
    assert summary(work)['num_folds'] == 3  # the report, rebuilt
    for s in SUBJECTS:
        assert predictions(work, s) == predictions(ref, s), s
    # the earlier jobs ended (squeue shows them COMPLETED for a while): asked, not refused
    asked = [c[c.index('-j') + 1] for c in fake.calls('squeue')]
    assert earlier['array_job'] in asked and earlier['report_job'] in asked


def test_slurm_loso_refuses_while_queued(experiment, repo_root):
    fake, work = experiment['fake'], experiment['work']
    record = json.load(open(osp.join(work, 'slurm_submission.json')))
    before = len(fake.calls())
    fake.queue(record['report_job'], 'PENDING')
    try:
        out = slurm_loso(repo_root, fake, experiment['cfg'], work, check=False)
    finally:
        os.remove(osp.join(fake.dir, f'queued_{record["report_job"]}'))
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines == [f'error: {work}: job {record["report_job"]} of an earlier submission '
                     f'(report_job, {work}/slurm_submission.json) is still queued or running; '
                     f'wait for it to end (or scancel {record["report_job"]}), then run this '
                     'again'], out.stderr
    assert len(fake.calls()) == before and out.stdout == ''


def test_slurm_loso_all_done_submits_the_report_only(experiment, repo_root):
    fake, work = experiment['fake'], experiment['work']
    before = len(fake.calls())
    out = slurm_loso(repo_root, fake, experiment['cfg'], work)
    assert '[loso] 0 of 3 folds to run: ' in out.stdout and 'all folds are done' in out.stdout
    (report,) = fake.calls()[before:]
    assert option(report, '--dependency') is None and option(report, '--array') is None
    record = json.load(open(osp.join(work, 'slurm_submission.json')))
    assert record['array_job'] == '' and record['folds'] == 0
    with open(osp.join(work, 'slurm_jobs.txt')) as f:
        assert f.read() == ''


def test_slurm_loso_user_errors(repo_root, tmp_path):
    fake = FakeSlurm(tmp_path / 'fake')
    for extra, message in ((['--gpus', '2'], 'give --gpus-per-fold N'),
                           (['--report-only'], 'submits the report job itself'),
                           (['--gpus-per-fold', 'x'], 'must be a number')):
        out = slurm_loso(repo_root, fake, 'cfg.py', str(tmp_path / 'w'), *extra, check=False)
        assert out.returncode == 1 and message in out.stderr, out.stderr
    assert fake.calls() == []


def test_slurm_loso_gpus_per_fold_and_environment(experiment, repo_root):
    """What is submitted for DDP folds (not run: FAKE_SLURM_DRY), with ARRAY_LIMIT and
    SBATCH_ARGS."""
    fake = FakeSlurm(experiment['tmp'] / 'fake_dry')
    work = str(experiment['tmp'] / 'ddp')
    slurm_loso(repo_root, fake, experiment['cfg'], work, '--subjects', 'a', 'c', gpus='2',
               FAKE_SLURM_DRY='1', ARRAY_LIMIT='1', SBATCH_ARGS='--time=1:00:00 --qos=low')
    array, report = fake.calls()
    assert option(array, '--array') == '0-1%1' and option(array, '--gres') == 'gpu:2'
    assert option(array, '--wrap').endswith('--nproc 2 ')
    assert option(report, '--wrap').endswith('--subjects a c --report-only ')
    for argv in (array, report):
        assert option(argv, '--time') == '1:00:00' and option(argv, '--qos') == 'low'
    assert not osp.exists(osp.join(work, 'fold_a', 'train.out'))  # nothing ran


def write_jobs(repo_root, cfg, work, jobs, *extra):
    return subprocess.run(
        [sys.executable, 'tools/loso.py', cfg, '--work-dir', work, '--write-jobs', jobs, *extra],
        cwd=repo_root, capture_output=True, text=True, timeout=300)


def loso_lines(out):
    """The tool's own lines (not mmengine's log of the annotations it read)."""
    return [line for line in out.stdout.splitlines() if ' - mmengine - ' not in line]


def test_write_jobs(experiment, repo_root):
    tmp, cfg = experiment['tmp'], experiment['cfg']
    # a fresh work dir: every fold's job, nothing run
    fresh, jobs = str(tmp / 'fresh'), str(tmp / 'lists' / 'jobs.txt')
    out = write_jobs(repo_root, cfg, fresh, jobs, '--subjects', 'a', 'c')
    assert out.returncode == 0, out.stderr[-3000:]
    assert loso_lines(out) == [f'[loso] 2 of 2 folds to run: {jobs}']
    paths = open(jobs).read().splitlines()
    assert paths == [osp.join(fresh, f'fold_{s}', 'fold_job.json') for s in 'ac']
    job = FoldJob.load(paths[1])
    assert job.held_out == 'c' and job.work_dir == osp.join(fresh, 'fold_c')
    assert sorted(os.listdir(job.work_dir)) == ['fold_job.json']  # nothing trained
    assert osp.exists(osp.join(fresh, 'loso_run.json'))
    # all done: an empty list
    out = write_jobs(repo_root, cfg, experiment['work'], jobs, '--seed', '3')
    assert out.returncode == 0, out.stderr[-3000:]
    assert loso_lines(out) == [f'[loso] 0 of 3 folds to run: {jobs}']
    assert open(jobs).read() == ''
    # a work dir of another experiment: refused like a run
    out = write_jobs(repo_root, cfg, experiment['work'], jobs, '--seed', '4')
    assert out.returncode == 2 and 'holds folds of another experiment' in out.stderr, out.stderr
