"""Checkpoints through mmengine's Runner with CheckpointContentsHook (tools/test.py, load_from,
--resume, a fold's training): a checkpoint that leaves model tensors unloaded is refused unless a
partial load is asked for; the frozen text tower is recorded by its file and a checkpoint without
it loads every tensor exactly; the last checkpoint of a fold keeps no optimizer state."""
import glob
import os.path as osp
import runpy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mer_clip.apis.config import load_config
from mer_clip.apis.training import apply_train_options, train
from mer_clip.checkpoint import read_checkpoint, save_checkpoint
from mer_clip.engine.checkpoint_fit import PartialCheckpointError
from mer_clip.engine.frozen_text_tower import META_KEY, TextTowerFileError
from mer_clip.engine.hooks import with_checkpoint_contents_hook
from mer_clip.loso.mmengine_state import release_run_state, run_state_names
from mmaction.registry import MODELS
from tests.conftest import REPO_ROOT


@pytest.fixture
def fresh_run_state():
    """mmengine's per-run singletons (loggers, message hubs) of each test released after it."""
    before = run_state_names()
    yield
    release_run_state(before)


def _config(cfg_file):
    """The config of fold s01, as tools/train.py CONFIG --loso-subject s01 reads it."""
    return load_config(cfg_file, [], loso_subject='s01')


def _build_model(cfg_file):
    with DefaultScope.overwrite_default_scope('mmaction'):  # the Runner's scope
        return MODELS.build(Config.fromfile(cfg_file).model)


def _model_state(cfg_file, seed):
    torch.manual_seed(seed)
    return _build_model(cfg_file).state_dict()


def _other_layout(state):
    """The issue's case: 2 tensors under the model's names, every other under another model's."""
    keep = ['cls_head.fc_cls.weight', 'cls_head.fc_cls.bias']
    assert all(k in state for k in keep)
    return {(k if k in keep else f'model.{k}'): v for k, v in state.items()}


def _log_text(work_dir):
    return ''.join(open(p).read() for p in glob.glob(osp.join(work_dir, '*', '*.log')))


def test_tools_test_refuses_another_layout_and_loads_it_only_on_request(
        small_synthetic_config, tmp_path, capsys, fresh_run_state):
    cfg = small_synthetic_config()
    state = _model_state(cfg, 0)
    ckpt = str(tmp_path / 'other_layout.pth')
    save_checkpoint({'meta': {}, 'state_dict': _other_layout(state)}, ckpt)
    main = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'test.py'))['main']
    args = [cfg, ckpt, '--loso-subject', 's01']

    assert main(args + ['--work-dir', str(tmp_path / 'refused')]) == 2  # a user error
    err = capsys.readouterr().err
    n = len(state)
    assert f'error: {ckpt}: the checkpoint leaves {n - 2} model tensors unloaded (loaded ' \
           f'2/{n} model tensors, missing {n - 2}, of another shape 0, unexpected {n - 2})' in err
    assert 'lacks, by prefix: backbone.transformer (' in err
    assert 'fit nowhere, by prefix: model.backbone (' in err and '--allow-partial-load' in err

    work = str(tmp_path / 'partial')
    assert main(args + ['--work-dir', work, '--allow-partial-load']) == 0
    assert '| mer/UF1 |' in capsys.readouterr().out
    log = _log_text(work)
    assert f'checkpoint: loaded 2/{n} tensors from {ckpt}' in log and \
        'PARTIAL LOAD (allow_partial_load)' in log


def test_load_from_and_resume_refuse_another_layout(small_synthetic_config, tmp_path,
                                                    fresh_run_state):
    """The Runner's two other load paths (what train() / tools/train.py run before training)."""
    cfg = _config(small_synthetic_config())
    ckpt = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'meta': {'epoch': 1, 'iter': 3},
                     'state_dict': _other_layout(_model_state(cfg.filename, 0))}, ckpt)
    cfg.work_dir = str(tmp_path / 'w')
    cfg.load_from = ckpt
    runner = Runner.from_cfg(with_checkpoint_contents_hook(cfg))
    with pytest.raises(PartialCheckpointError, match=f'{ckpt}: the checkpoint leaves'):
        runner.load_or_resume()  # load_from
    runner._resume = True  # as apply_train_options(cfg, resume=ckpt) builds it: resume=True
    with pytest.raises(PartialCheckpointError, match=f'{ckpt}: the checkpoint leaves'):
        runner.load_or_resume()  # Runner.resume(ckpt)
    assert not runner._has_loaded


def _tiny_tower_file(path, cfg_file):
    """The tiny config's text tower as a weight file of its own (keys under ``text.``)."""
    torch.manual_seed(5)
    text = _build_model(cfg_file).text_encoder.text
    torch.save({f'text.{k}': v for k, v in text.state_dict().items()}, path)
    return {k: v for k, v in text.state_dict().items()}


def test_fold_checkpoints_record_the_text_tower_and_end_weights_only(
        small_synthetic_config, tmp_path, fresh_run_state):
    tower_file = str(tmp_path / 'tower.pth')
    cfg_file = small_synthetic_config('''
train_cfg = dict(max_epochs=2, val_interval=5)
train_dataloader = dict(batch_size=2, dataset=dict(_ds, indices=2))
model = dict(text_encoder=dict(pretrained={!r}))
final_checkpoint_weights_only = True
'''.format(tower_file))
    tower = _tiny_tower_file(tower_file, cfg_file)
    cfg = _config(cfg_file)
    cfg.work_dir = str(tmp_path / 'fold')
    apply_train_options(cfg, resume='auto', validate=False)
    last = train(cfg)
    assert osp.basename(last) == 'epoch_2.pth'
    first, final = (read_checkpoint(osp.join(cfg.work_dir, f'epoch_{e}.pth')) for e in (1, 2))
    for ckpt in (first, final):
        assert not [k for k in ckpt['state_dict'] if k.startswith('text_encoder.')]
        assert ckpt['meta'][META_KEY]['text_encoder']['file'] == tower_file
    assert 'optimizer' in first and 'param_schedulers' in first  # the resume point
    assert 'optimizer' not in final and 'param_schedulers' not in final
    assert final['meta']['weights_only'] is True

    # tested: the tower comes back from its file, every tensor filled
    test_cfg = _config(cfg_file)
    test_cfg.work_dir = str(tmp_path / 'test')
    test_cfg.model.text_encoder.pretrained = None  # the record, not the config, names the file
    runner = Runner.from_cfg(with_checkpoint_contents_hook(test_cfg))
    runner.load_checkpoint(last)  # a full checkpoint: every tensor is the file's or the tower's
    loaded = runner.model.state_dict()
    expected = dict(final['state_dict'], **{f'text_encoder.text.{k}': v for k, v in tower.items()})
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[k], v) for k, v in expected.items())
    n = len(loaded)
    log = _log_text(test_cfg.work_dir)
    assert f'checkpoint: loaded {n}/{n} tensors from {last}' in log
    assert f'{len(tower)} tensors from its recorded file {tower_file}' in log

    torch.save({f'text.{k}': v * 2 for k, v in tower.items()}, tower_file)  # the file changed
    with pytest.raises(TextTowerFileError, match='another file would give another text tower'):
        runner.load_checkpoint(last)
