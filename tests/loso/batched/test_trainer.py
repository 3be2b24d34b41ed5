"""The fold-batched LOSO on the real MEGC2019 flow images: a batched fold equals the per-fold
runner's fold (same initial weights, batches and dropout masks: weights and scores after an
epoch within float tolerance), folds with their own schedules, and resume after a kill exact."""
import os.path as osp

import pytest
import torch

from mer_clip.checkpoint import read_checkpoint
from mer_clip.loso.batched import trainer
from mer_clip.loso.fold_steps import run_fold
from mer_clip.loso.plan import LOSOPlan
from mer_clip.evaluation.mer_metric import read_predictions_csv
from tests.conftest import flow_data_options

CONFIG = 'configs/megc2019/ststnet_flow-28px_1xb32-40e_megc2019-3cls.py'
ONE_EPOCH = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'param_scheduler.1.end=2',
             'param_scheduler.1.T_max=1']
# the second fold trains two epochs: per-fold schedules in one batched run
FOLD_OPTIONS = {'samm_006': ['train_cfg.max_epochs=2', 'train_cfg.val_interval=2']}



@pytest.fixture
def data(megc2019_flow_ann):
    """cfg_options reading the converted composite (converted for the session if need be)."""
    return flow_data_options(megc2019_flow_ann)


def _plan(work_dir, subjects, mode, data, fold_options=None, config=CONFIG):
    plan = LOSOPlan(config, str(work_dir), cfg_options=ONE_EPOCH + data, subjects=subjects,
                    fold_mode=mode, fold_cfg_options=fold_options)
    jobs = plan.plan()
    plan.prepare_work_dir()
    plan.write_jobs()
    return jobs


class Killed(Exception):
    pass


def test_batched_folds_equal_per_fold_runs_and_resume_exactly(tmp_path, in_repo, monkeypatch,
                                                               data):
    monkeypatch.setattr(trainer, 'FOLDS_PER_CALL', 1)  # the folds in separate calls, chunked
    # the per-fold runner's fold (in-process mode: mmengine's Runner, train then test)
    [ref] = _plan(tmp_path / 'per_fold', ['casme2_sub01'], 'inprocess', data)
    run_fold(ref)
    jobs = _plan(tmp_path / 'batched', ['casme2_sub01', 'samm_006'], 'batched', data, FOLD_OPTIONS)
    trainer.train_batched(jobs, str(tmp_path / 'batched'), log=lambda m: None)
    a = read_checkpoint(osp.join(ref.work_dir, 'epoch_1.pth'))['state_dict']
    b = read_checkpoint(osp.join(jobs[0].work_dir, 'epoch_1.pth'))['state_dict']
    assert a.keys() == b.keys()
    for key in a:  # same init, batches and masks: only the summation order differs
        torch.testing.assert_close(b[key].float(), a[key].float(), rtol=1e-4, atol=1e-5)
    pa = read_predictions_csv(osp.join(ref.work_dir, 'predictions.csv'))
    pb = read_predictions_csv(osp.join(jobs[0].work_dir, 'predictions.csv'))
    assert [r['sample_id'] for r in pa] == [r['sample_id'] for r in pb]
    torch.testing.assert_close(torch.tensor([r['scores'] for r in pb]),
                               torch.tensor([r['scores'] for r in pa]), rtol=0, atol=2e-5)
    assert osp.exists(osp.join(jobs[1].work_dir, 'epoch_2.pth'))  # its own schedule
    assert not osp.exists(osp.join(jobs[1].work_dir, 'epoch_1.pth'))
    assert not osp.exists(tmp_path / 'batched' / trainer.STATE_FILE)  # removed at the end

    # killed after the first epoch's stacked state: casme2_sub01 is done, samm_006 is not
    work = tmp_path / 'killed'
    killed = _plan(work, ['casme2_sub01', 'samm_006'], 'batched', data, FOLD_OPTIONS)
    save = trainer._BatchedRun._save_state

    def save_then_die(self):
        save(self)
        raise Killed()

    monkeypatch.setattr(trainer._BatchedRun, '_save_state', save_then_die)
    with pytest.raises(Killed):
        trainer.train_batched(killed, str(work), log=lambda m: None)
    monkeypatch.setattr(trainer._BatchedRun, '_save_state', save)
    assert osp.exists(osp.join(killed[0].work_dir, 'predictions.csv'))
    assert not osp.exists(osp.join(killed[1].work_dir, 'predictions.csv'))
    logs = []
    trainer.train_batched([killed[1]], str(work), log=logs.append, all_jobs=killed)
    assert any('resumed 2 folds' in m and 'at epoch 1' in m for m in logs), logs
    for job, done in zip(killed, jobs):
        with open(osp.join(job.work_dir, 'predictions.csv'), 'rb') as f1, \
                open(osp.join(done.work_dir, 'predictions.csv'), 'rb') as f2:
            assert f1.read() == f2.read()  # byte-identical to the uninterrupted run


def _assert_fold_equal(ref, job, rtol, atol, score_atol):
    """The batched fold ``job`` vs the per-fold runner's fold ``ref`` after their epoch."""
    a = read_checkpoint(osp.join(ref.work_dir, 'epoch_1.pth'))['state_dict']
    b = read_checkpoint(osp.join(job.work_dir, 'epoch_1.pth'))['state_dict']
    assert a.keys() == b.keys()
    for key in a:  # same init, batches and masks: only the summation order differs
        torch.testing.assert_close(b[key].float(), a[key].float(), rtol=rtol, atol=atol)
    pa = read_predictions_csv(osp.join(ref.work_dir, 'predictions.csv'))
    pb = read_predictions_csv(osp.join(job.work_dir, 'predictions.csv'))
    assert [r['sample_id'] for r in pa] == [r['sample_id'] for r in pb]
    torch.testing.assert_close(torch.tensor([r['scores'] for r in pb]),
                               torch.tensor([r['scores'] for r in pa]), rtol=0, atol=score_atol)


def test_batched_off_apexnet_fold_equals_the_per_fold_run(tmp_path, in_repo, data):
    config = 'configs/megc2019/off-apexnet_flow-28px_1xb32-40e_megc2019-3cls.py'
    [ref] = _plan(tmp_path / 'per_fold', ['samm_006'], 'inprocess', data, config=config)
    run_fold(ref)
    [job] = _plan(tmp_path / 'batched', ['samm_006'], 'batched', data, config=config)
    trainer.train_batched([job], str(tmp_path / 'batched'), log=lambda m: None)
    _assert_fold_equal(ref, job, rtol=1e-4, atol=1e-5, score_atol=2e-5)


def test_batched_mode_runs_on_the_cpu_only(in_repo):
    from mer_clip.loso.runner import LOSOExperiment
    with pytest.raises(ValueError, match='--fold-mode batched trains every fold in this process'):
        LOSOExperiment(CONFIG, 'unused', fold_mode='batched', device_groups=[['0'], ['1']])
    exp = LOSOExperiment(CONFIG, 'unused', fold_mode='batched', device_groups=[None, None])
    assert exp.fold_mode == 'batched'  # --parallel 2: two threads


def test_select_on_test_fold_unsafe_keeps_each_folds_best_epoch(tmp_path, in_repo, data):
    plan = LOSOPlan(CONFIG, str(tmp_path), subjects=['samm_006'], fold_mode='batched',
                    select_on_test_fold_unsafe=True,
                    cfg_options=['train_cfg.max_epochs=2', 'param_scheduler.1.end=2',
                                 'param_scheduler.1.T_max=1'] + data)
    [job] = plan.plan()
    plan.prepare_work_dir()
    plan.write_jobs()
    trainer.train_batched([job], str(tmp_path), log=lambda m: None)
    import json
    with open(osp.join(job.work_dir, 'train_done.json')) as f:
        tested = json.load(f)['checkpoint']
    assert osp.basename(tested) in ('best_mer_UF1_epoch_1.pth', 'best_mer_UF1_epoch_2.pth')
    with open(osp.join(job.work_dir, 'fold.json')) as f:
        info = json.load(f)
    assert info['fold_mode'] == 'batched' and info['checkpoint'].endswith(osp.basename(tested))
    assert not osp.exists(osp.join(job.work_dir, 'epoch_2.pth'))
