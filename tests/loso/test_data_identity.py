"""The data as part of a LOSO run's identity (mer_clip/loso/data_identity.py, plan.py): a rerun on
changed data is refused with what changed, ``--retrain-changed`` retrains exactly the folds whose
data changed, and pooling checks each fold's rows against the annotation's samples."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from mer_clip.loso import DataChanged, LOSOExperiment, PoolingError
from mer_clip.loso.data_identity import affected_folds, data_record, diff_data
from mer_clip.loso.fold_files import is_trained, prediction_file
from tests.conftest import SYNTHETIC_CONFIG
from tests.loso.test_loso_runner import _finish_folds


def _records(n=3):
    return [dict(sample_id=f'{s}_{k}', subject=s, label=k % 3, emotion='x')
            for s in ('a', 'b', 'c') for k in range(n)]


def _data(records):
    return data_record(records, {r['sample_id']: r['subject'] for r in records},
                       ['n', 'p', 's'], 'subject')


def test_what_changed_and_which_folds():
    old = _records()
    assert not diff_data(_data(old), _data(old))
    new = [dict(r) for r in old]
    new[1]['label'] = 2  # a_1 relabelled
    new[4]['emotion'] = 'y'  # b_1 modified, label kept
    new = [r for r in new if r['sample_id'] != 'c_2'] + [dict(sample_id='c_9', subject='c',
                                                              label=0, emotion='x')]
    change = diff_data(_data(old), _data(new))
    assert (change.relabelled, change.modified, change.removed, change.added) == (
        ['a_1'], ['b_1'], ['c_2'], ['c_9'])
    assert '1 sample(s) relabelled (a_1)' in change.describe()
    assert affected_folds(change, ['a', 'b', 'c'], 'loso') == (['a', 'b', 'c'], [])
    only_a = [dict(r, label=(r['label'] + 1) % 3) if r['sample_id'] == 'a_0' else r for r in old]
    change = diff_data(_data(old), _data(only_a))
    # fold a does not train on subject a: its test set alone changed; b and c train on it
    assert affected_folds(change, ['a', 'b', 'c'], 'loso') == (['b', 'c'], ['a'])
    other_classes = dict(_data(old), classes=['n', 'p'])
    assert diff_data(other_classes, _data(old)).scheme
    # fixed splits: a change in a test split re-tests, one in train retrains
    split = {'a': 'train', 'b': 'test_a', 'c': 'test_b'}
    rec = lambda rs: data_record(rs, {r['sample_id']: split[r['subject']] for r in rs},  # noqa
                                 ['n', 'p', 's'], 'split')
    change = diff_data(rec(old), rec([dict(r, label=0) if r['subject'] == 'c' else r
                                      for r in old]))
    assert affected_folds(change, ['test_a', 'test_b'], 'fixed') == ([], ['fixed_split'])
    change = diff_data(rec(old), rec([dict(r, label=2) if r['subject'] == 'a' else r
                                      for r in old]))
    assert affected_folds(change, ['test_a', 'test_b'], 'fixed') == (['fixed_split'], [])


def _finished_run(synthetic_root, tmp_path, data_options):
    ann = tmp_path / 'ann.json'
    shutil.copy(osp.join(synthetic_root, 'annotations.json'), ann)
    opts = data_options(synthetic_root, str(ann))
    work = str(tmp_path / 'run')
    exp = LOSOExperiment(SYNTHETIC_CONFIG, work, cfg_options=opts)
    exp.plan()
    records = json.loads(ann.read_text())['data_list']
    _finish_folds(exp, records)
    exp.report(plots=False)
    return ann, opts, work


def _relabel(ann, sample_id, emotion):
    data = json.loads(ann.read_text())
    for r in data['data_list']:
        if r['sample_id'] == sample_id:
            r['emotion'] = emotion
    ann.write_text(json.dumps(data))


def test_changed_data_is_refused_then_retrained_exactly(synthetic_root, tmp_path, in_repo,
                                                        data_options, repo_root):
    ann, opts, work = _finished_run(synthetic_root, tmp_path, data_options)
    records = json.loads(ann.read_text())['data_list']
    first = records[0]
    _relabel(ann, first['sample_id'], 'surprise' if first['emotion'] != 'surprise' else
             'negative')
    # the same command again: refused in one line, exit 2; --report-only too
    for extra in ([], ['--report-only']):
        out = subprocess.run([sys.executable, 'tools/loso.py', SYNTHETIC_CONFIG, '--work-dir',
                              work, '--no-plots', *extra, '--cfg-options', *opts],
                             cwd=repo_root, capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, OMP_NUM_THREADS='1'))
        assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
        line = out.stderr.strip().splitlines()[-2]
        assert line.startswith('error: ') and 'the data changed since its folds were trained' \
            in line and f"1 sample(s) relabelled ({first['sample_id']})" in line, line
        assert '--retrain-changed' in line and 'Traceback' not in out.stderr
    exp = LOSOExperiment(SYNTHETIC_CONFIG, work, cfg_options=opts)
    exp.plan()
    with pytest.raises(DataChanged, match=r"3 fold\(s\) train on it, 1 only test on it"):
        exp.prepare_work_dir()
    # --retrain-changed: the subject's own fold is re-tested, the others retrain
    subject = first['subject'].strip()
    exp = LOSOExperiment(SYNTHETIC_CONFIG, work, cfg_options=opts, retrain_changed=True)
    jobs = {j.name: j for j in exp.plan()}
    for job in jobs.values():  # what a trained fold has
        open(osp.join(job.work_dir, 'train_done.json'), 'w').write('{}')
    exp.prepare_work_dir()
    assert is_trained(jobs[subject]) and not osp.exists(prediction_file(jobs[subject]))
    for name, job in jobs.items():
        if name != subject:
            assert not is_trained(job) and not osp.exists(prediction_file(job))
    stale = [d for d in os.listdir(work) if d.startswith('stale_')]
    assert len(stale) == 1 and sorted(os.listdir(osp.join(work, stale[0]))) == sorted(
        osp.basename(j.work_dir) for j in jobs.values())
    again = LOSOExperiment(SYNTHETIC_CONFIG, work, cfg_options=opts)
    again.plan()
    again.prepare_work_dir()  # the new data is recorded: no change any more


def test_pooling_checks_each_fold_against_the_annotation(synthetic_root, tmp_path, in_repo,
                                                         data_options):
    ann, opts, work = _finished_run(synthetic_root, tmp_path, data_options)
    exp = LOSOExperiment(SYNTHETIC_CONFIG, work, cfg_options=opts)
    job = exp.plan()[1]
    path = prediction_file(job)
    lines = open(path).read().splitlines()
    open(path, 'w').write('\n'.join(lines[:-1]) + '\n')  # one row lost
    n = len(lines) - 1
    with pytest.raises(PoolingError, match=rf'{n - 1} of the {n} samples the annotation holds '
                       rf"out in '{job.name}': 1 missing"):
        exp.report(plots=False)


def test_runs_recorded_without_data_still_report(synthetic_root, tmp_path, in_repo,
                                                 data_options):
    ann, opts, work = _finished_run(synthetic_root, tmp_path, data_options)
    path = osp.join(work, 'loso_run.json')
    state = json.load(open(path))
    assert len(state['data']['samples']) == len(json.loads(ann.read_text())['data_list'])
    del state['data']  # written by a version before the data was recorded
    json.dump(state, open(path, 'w'))
    exp = LOSOExperiment(SYNTHETIC_CONFIG, work, cfg_options=opts)
    exp.plan()
    assert exp.report(plots=False).pooled['num_samples'] > 0


@pytest.mark.slow
def test_retrain_changed_equals_a_fresh_run_on_the_new_data(tmp_path, repo_root):
    """A real LOSO (tiny STSTNet), one label changed, --retrain-changed: every fold's predictions
    are byte-identical to those of a fresh run on the changed annotation. The fresh run reads its
    own copy of the set (changed from the start) and runs beside the first run."""
    from tests.loso.test_loso_inprocess import make_flow_set, write_config
    root = make_flow_set(str(tmp_path / 'data'), subjects=['a', 'b', 'c'], per_subject=4)
    cfg = write_config(tmp_path / 'cfg.py', root, repo_root)
    env = dict(os.environ, OMP_NUM_THREADS='1')

    def relabel(root):
        ann = osp.join(root, 'annotations.json')
        data = json.load(open(ann))
        data['data_list'][0]['emotion'] = 'surprise'  # a_0, was negative
        json.dump(data, open(ann, 'w'))

    def loso(work, config, *extra, wait=True):
        proc = subprocess.Popen([sys.executable, 'tools/loso.py', config, '--work-dir', work,
                                 '--no-plots', '--cfg-options', 'train_cfg.max_epochs=2', *extra],
                                cwd=repo_root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        return proc.communicate(timeout=600) + (proc.returncode,) if wait else proc

    fresh_root = make_flow_set(str(tmp_path / 'fresh_data'), subjects=['a', 'b', 'c'],
                               per_subject=4)
    relabel(fresh_root)
    work, fresh = str(tmp_path / 'run'), str(tmp_path / 'fresh')
    p_fresh = loso(fresh, write_config(tmp_path / 'fresh_cfg.py', fresh_root, repo_root),
                   wait=False)
    try:
        assert loso(work, cfg)[2] == 0
        relabel(root)
        _, err, rc = loso(work, cfg, '--retrain-changed')
        assert rc == 0, err[-3000:]
        assert '1 sample(s) relabelled (a_0)): 2 fold(s) retrain, 1 re-test' in err
    finally:
        _, err = p_fresh.communicate(timeout=600)
    assert p_fresh.returncode == 0, err[-3000:]
    for s in 'abc':
        assert open(osp.join(work, f'fold_{s}', 'predictions.csv'), 'rb').read() == open(
            osp.join(fresh, f'fold_{s}', 'predictions.csv'), 'rb').read()
