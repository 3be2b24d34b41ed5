"""A fold job (mer_clip/loso/fold_job.py): one file round trip, and the configs it builds equal to
what tools/train.py and tools/test.py build from the same options."""
import json
import os.path as osp

import pytest

from mer_clip.apis.config import config_from_args
from mer_clip.loso import FoldJob, LOSOExperiment
from mer_clip.loso.fold_job import RULE_BEST_ON_TEST_FOLD
from tests.conftest import SYNTHETIC_CONFIG, load_tool


def test_job_file_round_trip(synthetic_root, tmp_path, in_repo, data_options):
    exp = LOSOExperiment(SYNTHETIC_CONFIG, str(tmp_path / 'run'), seed=4,
                         cfg_options=data_options(synthetic_root),
                         fold_cfg_options={'s02': ['train_cfg.max_epochs=3']},
                         select_on_test_fold_unsafe=True)
    jobs = exp.plan()
    paths = exp.write_jobs()
    assert paths == [osp.join(j.work_dir, 'fold_job.json') for j in jobs]  # none done yet
    by_name = {j.name: j for j in jobs}
    back = FoldJob.load(osp.join(by_name['s02'].work_dir, 'fold_job.json'))
    assert back == by_name['s02'] and back.to_json() == by_name['s02'].to_json()
    assert back.cfg_options[-1] == 'train_cfg.max_epochs=3' and back.max_epochs() == 3
    assert by_name['s01'].max_epochs() == 20
    assert back.checkpoint_rule == RULE_BEST_ON_TEST_FOLD and back.seed == 4
    assert osp.isabs(back.config) and osp.isabs(back.work_dir)


def test_bad_job_files_are_clear_errors(tmp_path):
    path = tmp_path / 'fold_job.json'
    path.write_text('{"config": "x.py"')
    with pytest.raises(ValueError, match='fold_job.json: cannot read the fold job'):
        FoldJob.load(str(path))
    path.write_text(json.dumps(dict(config='x.py', work_dir='w', seed=0, subject='s1')))
    with pytest.raises(ValueError, match=r"unknown keys \['subject'\]"):
        FoldJob.load(str(path))
    with pytest.raises(ValueError, match='checkpoint_rule'):
        FoldJob(config='x.py', work_dir='w', seed=0, checkpoint_rule='best')


@pytest.mark.parametrize('fold_key', ['subject', 'dataset'])
def test_configs_equal_the_tools(fold_key, synthetic_root, tmp_path, in_repo, data_options):
    """The job's train / test configs are the ones tools/train.py --resume --seed S and
    tools/test.py build for the same fold and options (text of the dumped configs); a fold's
    training also saves its last checkpoint weights-only."""
    opts = data_options(synthetic_root) + ['train_cfg.max_epochs=2']
    held_out = 's03'
    job = FoldJob(config=osp.abspath(SYNTHETIC_CONFIG), work_dir=str(tmp_path / 'fold'), seed=7,
                  fold_key=fold_key, held_out=held_out, cfg_options=opts)
    fold_args = (['--loso-subject', held_out] if fold_key == 'subject' else
                 ['--fold-key', fold_key, '--held-out', held_out])
    train = load_tool('tools/train.py')
    args = train.parse_args([osp.abspath(SYNTHETIC_CONFIG), '--work-dir', job.work_dir,
                             '--seed', '7', '--resume', *fold_args, '--cfg-options', *opts,
                             'final_checkpoint_weights_only=True'])
    assert job.train_config().dump() == train.merge_args(config_from_args(args), args).dump()
    test = load_tool('tools/test.py')
    args = test.parse_args([osp.abspath(SYNTHETIC_CONFIG), 'ckpt.pth', '--work-dir',
                            osp.join(job.work_dir, 'test'), *fold_args, '--cfg-options', *opts])
    assert job.test_config().dump() == config_from_args(args).dump()


def test_damaged_fold_info_is_named(tmp_path):
    from mer_clip.loso.fold_files import FoldFailed, read_fold_info
    (tmp_path / 'fold.json').write_text('{"seed": ')
    with pytest.raises(FoldFailed, match=r'fold.json: cannot be read .* delete it'):
        read_fold_info(str(tmp_path))
