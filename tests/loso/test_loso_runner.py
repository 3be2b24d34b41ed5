"""The LOSO runner's safeguards, without training: one folder per subject, pooling that counts every
sample and subject once, reports that keep the folds' provenance, free DDP ports, and a final
checkpoint that is verified before train_done.json is trusted."""
import io
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from mer_clip.checkpoint import save_checkpoint
from mer_clip.evaluation.mer_metric import write_predictions_csv
from mer_clip.loso import LOSOExperiment, fold_dirname
from mer_clip.loso.fold_files import check_trained, is_trained, pending_steps, prediction_file
from mer_clip.loso.progress import Progress
from mer_clip.loso.scheduler import FoldScheduler
from tests.conftest import SYNTHETIC_CONFIG


def _renamed_annotation(synthetic_root, tmp_path, names):
    """The synthetic annotation with its 4 subjects renamed (``names``, in subject order)."""
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        ann = json.load(f)
    subjects = sorted({r['subject'] for r in ann['data_list']})
    rename = dict(zip(subjects, names))
    for r in ann['data_list']:
        r['subject'] = rename[r['subject']]
    path = tmp_path / 'renamed.json'
    path.write_text(json.dumps(ann))
    return str(path), ann['data_list']


def _finish_folds(exp, records):
    """Write what tools/train.py + test.py would leave: each fold's predictions and fold.json."""
    os.makedirs(exp.work_dir, exist_ok=True)
    exp.prepare_work_dir()
    classes = exp.fold_list.classes
    for fold in exp.folds:
        os.makedirs(fold.work_dir, exist_ok=True)
        rows = [dict(sample_id=r['sample_id'], subject=r['subject'].strip(), gt=0, pred=0,
                     scores=[1.0] + [0.0] * (len(classes) - 1))
                for r in records if r['subject'].strip() == fold.held_out]
        write_predictions_csv(prediction_file(fold), rows, classes)
        with open(osp.join(fold.work_dir, 'fold.json'), 'w') as f:
            json.dump(dict(fold=fold.name, held_out=fold.held_out, seed=exp.seed), f)


def _finished_experiment(synthetic_root, tmp_path, data_options):
    """The synthetic set's LOSO with every fold finished (:func:`_finish_folds`)."""
    exp = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'run'),
                         cfg_options=data_options(synthetic_root))
    exp.plan()
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        records = json.load(f)['data_list']
    _finish_folds(exp, records)
    return exp, records


def test_fold_folders_are_one_per_subject(synthetic_root, tmp_path, in_repo, data_options):
    names = ['s 2', 's_2', 's02 ', 's02']  # 's02 ' and 's02' are one subject once stripped
    ann, records = _renamed_annotation(synthetic_root, tmp_path, names)
    exp = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'run'),
                         cfg_options=data_options(synthetic_root, ann))
    folds = exp.plan()
    assert sorted(f.held_out for f in folds) == ['s 2', 's02', 's_2']
    dirs = [osp.basename(f.work_dir) for f in folds]
    assert len(set(dirs)) == 3 and 'fold_s_2' in dirs and 'fold_s02' in dirs
    assert fold_dirname('s 2').startswith('fold_s_2~') and fold_dirname('a/b') != 'fold_a_b'
    _finish_folds(exp, records)
    summary = exp.report(plots=False)
    assert summary.pooled['num_samples'] == len(records)
    assert sorted(f['subjects'][0] for f in summary.per_fold) == ['s 2', 's02', 's_2']


def test_pooling_refuses_a_sample_or_subject_twice(synthetic_root, tmp_path, in_repo,
                                                   data_options):
    exp, records = _finished_experiment(synthetic_root, tmp_path, data_options)
    first, second = exp.folds[:2]
    good = open(prediction_file(second)).read()
    # another fold's predictions in this fold's folder (what colliding folders produced)
    open(prediction_file(second), 'w').write(open(prediction_file(first)).read())
    with pytest.raises(ValueError, match=f"belongs to subject '{first.held_out}'"):
        exp.report(plots=False)
    # a sample id twice (within the right subject)
    lines = good.splitlines()
    open(prediction_file(second), 'w').write('\n'.join(lines + lines[1:2]) + '\n')
    with pytest.raises(ValueError, match='appears in .* pooling would count it twice'):
        exp.report(plots=False)


def test_no_summary_from_a_fold_with_nan_scores(synthetic_root, tmp_path, in_repo, data_options):
    """A fold's predictions.csv of NaN scores (a diverged model, written before training stopped on
    a NaN loss) stops the report with the file and the sample named; no summary.json."""
    exp, records = _finished_experiment(synthetic_root, tmp_path, data_options)
    fold = exp.folds[1]
    rows = [dict(sample_id=r['sample_id'], subject=r['subject'], gt=0, pred=0,
                 scores=[float('nan')] * len(exp.fold_list.classes))
            for r in records if r['subject'] == fold.held_out]
    write_predictions_csv(prediction_file(fold), rows, exp.fold_list.classes)
    with pytest.raises(ValueError, match=f"{prediction_file(fold)}: sample {rows[0]['sample_id']} "
                       r'has scores that are not finite \(nan, nan, nan; .* Delete the fold '
                       f'folder {fold.work_dir} and run tools/loso.py again'):
        exp.report(plots=False)
    assert not osp.exists(osp.join(exp.work_dir, 'summary.json'))
    assert not osp.exists(osp.join(exp.work_dir, 'predictions.csv'))


def test_report_only_keeps_the_provenance_of_the_trained_folds(synthetic_root, tmp_path,
                                                                in_repo, data_options, repo_root):
    opts = data_options(synthetic_root)
    work = str(tmp_path / 'run')
    exp = LOSOExperiment(SYNTHETIC_CONFIG, work, cfg_options=opts)
    exp.plan()
    with open(osp.join(synthetic_root, 'annotations.json')) as f:
        _finish_folds(exp, json.load(f)['data_list'])
    trained = exp.report(plots=False)
    assert trained.seeds['base'] == 0
    out = subprocess.run([sys.executable, 'tools/loso.py', SYNTHETIC_CONFIG, '--work-dir', work,
                          '--report-only', '--no-plots', '--seed', '9', '--cfg-options', *opts],
                         cwd=repo_root, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
    last = out.stderr.strip().splitlines()
    assert last[-2].startswith('error: ') and "seed was 0, now 9 (from --seed)" in last[-2]
    assert 'Traceback' not in out.stderr
    with open(osp.join(work, 'summary.json')) as f:
        summary = json.load(f)
    assert summary['seeds']['base'] == 0 and summary['config_hash'] == trained.config_hash
    assert set(summary['seeds']['per_fold'].values()) == {0}


def test_ddp_ports_are_free_at_launch_and_honour_port(synthetic_root, tmp_path, in_repo,
                                                      data_options, monkeypatch):
    exp = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'run'),
                         cfg_options=data_options(synthetic_root), device_groups=[['0', '1']])
    fold = exp.plan()[0]
    scheduler = FoldScheduler(exp.device_groups, Progress(1, 1, stream=io.StringIO()))
    monkeypatch.delenv('PORT', raising=False)
    with socket.socket() as busy:  # the old fixed port, taken by another job
        busy.bind(('', 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setenv('PORT', str(taken))
        with pytest.raises(Exception, match=f'port {taken} .* in use'):
            scheduler.step_command(fold, 'train', ['0', '1'], 0)
        monkeypatch.setenv('PORT', str(taken + 100))
        assert scheduler.step_command(fold, 'train', ['0', '1'], 1)[1]['PORT'] == str(taken + 101)
        monkeypatch.delenv('PORT')
        cmd, env = scheduler.step_command(fold, 'train', ['0', '1'], 0)
    port = int(env['PORT'])
    assert port != 29500 and cmd[cmd.index('--nproc') + 1] == '2'
    assert env['CUDA_VISIBLE_DEVICES'] == '0,1'
    assert cmd[1:4] == ['-m', 'mer_clip.loso', 'fold']
    test_cmd, test_env = scheduler.step_command(fold, 'test', ['0', '1'], 0)
    assert '--nproc' not in test_cmd and test_env['CUDA_VISIBLE_DEVICES'] == '0'
    with socket.socket() as s:
        s.bind(('', port))  # free


def test_damaged_final_checkpoint_is_not_trusted(synthetic_root, tmp_path, in_repo,
                                                 data_options):
    import torch
    exp = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'run'),
                         cfg_options=data_options(synthetic_root) + ['train_cfg.max_epochs=2'])
    fold = exp.plan()[0]
    os.makedirs(fold.work_dir)
    for epoch in (1, 2):
        save_checkpoint({'meta': {'epoch': epoch}, 'state_dict': {'w': torch.ones(500) * epoch}},
                        osp.join(fold.work_dir, f'epoch_{epoch}.pth'))
    final = osp.join(fold.work_dir, 'epoch_2.pth')
    with open(osp.join(fold.work_dir, 'last_checkpoint'), 'w') as f:
        f.write(final)
    with open(osp.join(fold.work_dir, 'train_done.json'), 'w') as f:
        json.dump(dict(checkpoint=final, seed=0), f)
    data = open(final, 'rb').read()
    open(final, 'wb').write(data[:-200])  # damaged after it was marked done
    assert is_trained(fold)
    note = check_trained(fold)
    assert 'cannot be used' in note and not is_trained(fold) and not osp.exists(final)
    assert pending_steps(fold)[0] == 'train'
    from mer_clip.apis.training import repair_auto_resume
    assert 'resuming from epoch_1.pth' in repair_auto_resume(fold.train_config())
    assert check_trained(fold) is None  # nothing to distrust now
