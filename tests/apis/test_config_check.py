"""mer_clip.apis.config_check: a config is validated when a tool reads it (load_config), so a
typo is one line naming the key instead of being ignored or a TypeError after the data loaded.

The cases go through ``load_config`` (the API the tools call), so they run against the code from
before the check too, where they fail: nothing was raised.
"""
import glob
import inspect
import os.path as osp
import re

import pytest
from mmengine.config import Config

from mer_clip.apis.config import load_config
from tests.conftest import REPO_ROOT, SYNTHETIC_CONFIG

SYNTHETIC = osp.join(REPO_ROOT, SYNTHETIC_CONFIG)
CONFIGS = sorted(osp.relpath(p, REPO_ROOT) for p in glob.glob(
    osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True) if '_base_' not in p)


def _child(tmp_path, text: str, name: str = 'child.py') -> str:
    path = tmp_path / name
    path.write_text(f'_base_ = [{SYNTHETIC!r}]\n' + text)
    return str(path)


def _error(config, options=None) -> str:
    with pytest.raises(ValueError) as err:
        load_config(config, options)
    message = str(err.value)
    assert '\n' not in message  # one line
    return message


@pytest.mark.parametrize('config', CONFIGS)
def test_every_config_of_the_repository_passes(config):
    load_config(osp.join(REPO_ROOT, config))


def test_config_variables_are_the_names_the_configs_define():
    """CONFIG_VARIABLES is exactly the project's helper variables: the names of the configs that
    nothing reads (no typo of a read key hides among them)."""
    from mer_clip.apis.config_check import CONFIG_VARIABLES, read_keys
    names = set()
    for config in CONFIGS:
        names.update(Config.fromfile(osp.join(REPO_ROOT, config)).keys())
    helpers = {n for n in names - read_keys() if not n.startswith('_')}
    assert helpers == set(CONFIG_VARIABLES)


# --------------------------------------------------------------------------------- top level
def test_a_misspelt_top_level_key_in_the_file(tmp_path):
    """Before: ``modle`` was kept as a variable nobody reads; the base model trained, exit 0."""
    cfg = _child(tmp_path, 'modle = dict(cls_head=dict(num_classes=5))\n')
    msg = _error(cfg)
    assert msg.startswith(f"{cfg}: top-level 'modle' is read by nothing; did you mean 'model'?")
    assert 'allowed_extra_keys' in msg


def test_a_misspelt_top_level_key_in_cfg_options():
    msg = _error(SYNTHETIC, ['modle.cls_head.num_classes=5'])
    assert "--cfg-options sets 'modle', which the config does not define and nothing reads; " \
        "did you mean 'model'?" in msg
    # a new name that nothing reads has no effect, however it is spelt
    assert "--cfg-options sets 'my_setting'" in _error(SYNTHETIC, ['my_setting=3'])


def test_helper_variables_and_read_keys_pass(tmp_path):
    """mmengine keeps every top-level variable: helpers of a user's config are legitimate."""
    cfg = _child(tmp_path, '''
my_pipeline = []
data_root2 = 'x'
_hidden = 1
models_dir = 'checkpoints'
work_dir = 'work_dirs/x'
find_unused_parameters = True
''')
    load_config(cfg, ['batch_size=3', 'launcher=none', 'loso_subject=s01'])


def test_the_allow_list_admits_a_users_own_keys(tmp_path):
    cfg = _child(tmp_path, '''
allowed_extra_keys = ['modle', 'model.cls_head.my_arg']
modle = 'read by my own hook'
''')
    load_config(cfg, ['model.cls_head.my_arg=1'])
    assert 'allowed_extra_keys must be a list' in _error(_child(
        tmp_path, "allowed_extra_keys = 'modle'\n", 'bad.py'))


# --------------------------------------------------------------------------------- nested
@pytest.mark.parametrize('option, line', [
    ('model.cls_head.num_clases=5',
     "model.cls_head: unexpected 'num_clases'; did you mean 'num_classes'?"),
    ('train_cfg.max_epoch=3', "train_cfg: unexpected 'max_epoch'; did you mean 'max_epochs'?"),
    ('model.backbone.widht=64', "model.backbone: unexpected 'widht'; did you mean 'width'?"),
    ('model.cls_head.loss_cls.gama=1',
     "model.cls_head.loss_cls: unexpected 'gama'; did you mean 'gamma'?"),
    ('model.data_preprocessor.blending.lamb=0.5',
     "model.data_preprocessor.blending: unexpected 'lamb'; did you mean 'lam'?"),
    ('train_dataloader.batch_sise=2',
     "train_dataloader: unexpected 'batch_sise'; did you mean 'batch_size'?"),
    ('train_dataloader.sampler.shufle=False',
     "train_dataloader.sampler: unexpected 'shufle'; did you mean 'shuffle'?"),
    ('train_dataloader.dataset.loso_subjet=s01',
     "train_dataloader.dataset: unexpected 'loso_subjet'; did you mean 'loso_subject'?"),
    ('train_dataloader.dataset.pipeline.0.clip_lenn=4',
     "train_dataloader.dataset.pipeline[0]: unexpected 'clip_lenn'; did you mean 'clip_len'?"),
    ('optim_wrapper.optimizer.lrr=0.1',
     "optim_wrapper.optimizer: unexpected 'lrr'; did you mean 'lr'?"),
    ('optim_wrapper.clip_gard=None',
     "optim_wrapper: unexpected 'clip_gard'; did you mean 'clip_grad'?"),
    ('optim_wrapper.paramwise_cfg.norm_decay_mul=0',
     "optim_wrapper.paramwise_cfg: unexpected 'norm_decay_mul'; did you mean 'norm_decay_mult'?"),
    ('param_scheduler.1.eta_min_ration=0.1',
     "param_scheduler[1]: unexpected 'eta_min_ration'; did you mean 'eta_min_ratio'?"),
    ('default_hooks.logger.intervall=5',
     "default_hooks.logger: unexpected 'intervall'; did you mean 'interval'?"),
    ('custom_hooks.2.strat=0.5', "custom_hooks[2]: unexpected 'strat'; did you mean 'start'?"),
    ('val_evaluator.out_fil=x.csv',
     "val_evaluator: unexpected 'out_fil'; did you mean 'out_file'?"),
    ('val_cfg.fp61=True', "val_cfg: unexpected 'fp61'; did you mean 'fp16'?"),
    ('randomness.sed=1', "randomness: unexpected 'sed'; did you mean 'seed'?"),
    ('visualizer.vis_backends.0.save_dri=x',
     "visualizer.vis_backends[0]: unexpected 'save_dri'; did you mean 'save_dir'?"),
])
def test_a_nested_unknown_argument_is_one_line_naming_its_path(option, line):
    """Before: a TypeError of the class (or, for paramwise_cfg and the like, nothing at all) once
    the Runner built it."""
    assert _error(SYNTHETIC, [option]) == f'{SYNTHETIC}: {line}'


def test_a_nested_typo_in_the_file_and_several_at_once(tmp_path):
    cfg = _child(tmp_path, 'model = dict(cls_head=dict(num_clases=3))\n'
                 'train_cfg = dict(max_epoch=1)\n')
    assert _error(cfg) == (f"{cfg}: model.cls_head: unexpected 'num_clases'; did you mean "
                           "'num_classes'?; also train_cfg: unexpected 'max_epoch'; did you mean "
                           "'max_epochs'?")


def test_a_typo_shared_by_the_dataloaders_is_named_once(tmp_path):
    cfg = _child(tmp_path, "_ds = dict(loso_subjet='s01')\ntrain_dataloader = dict(dataset=_ds)\n"
                 'val_dataloader = dict(dataset=_ds)\ntest_dataloader = val_dataloader\n')
    assert _error(cfg) == (f'{cfg}: train_dataloader.dataset (and val_dataloader.dataset, '
                           "test_dataloader.dataset): unexpected 'loso_subjet'; did you mean "
                           "'loso_subject'?")


def test_an_argument_with_no_close_name_lists_what_the_class_takes():
    msg = _error(SYNTHETIC, ['model.align_head.zzz=1'])
    assert "model.align_head: unexpected 'zzz' (AUTextAlignHead takes " in msg
    assert 'embed_dim' in msg and 'temperature' in msg


def test_kwargs_are_followed_into_the_base_class_only_when_passed_on():
    from mer_clip.apis.config_check import accepted_arguments

    class Base:
        def __init__(self, a, b=1):
            pass

    class PassesOn(Base):
        def __init__(self, c=0, **kwargs):
            self.depth = kwargs.get('b', 1)
            super().__init__(**kwargs)

    class PopsOne(Base):
        def __init__(self, **kwargs):
            self.d = kwargs.pop('d', None)
            super().__init__(**kwargs)

    class KeepsThem(Base):
        def __init__(self, **kwargs):
            self.args = kwargs
            super().__init__(a=1)

    class NoInit:
        pass

    assert accepted_arguments(PassesOn) == {'a', 'b', 'c'}
    assert accepted_arguments(PopsOne) == {'a', 'b', 'd'}
    assert accepted_arguments(KeepsThem) is None  # cannot be checked: skipped
    assert accepted_arguments(NoInit) == frozenset()  # object() takes no argument
    # mmaction's heads pass their kwargs on to BaseHead
    from mmaction.models.heads import TSNHead, UniFormerHead
    from mer_clip.models.heads import EmotionTransformerHead
    for head in (TSNHead, UniFormerHead, EmotionTransformerHead):
        assert {'num_classes', 'in_channels', 'topk', 'average_clips'} <= accepted_arguments(head)


def test_an_unknown_type_is_left_to_the_build():
    """The registry's own error names an unknown type; the check does not guess at it."""
    load_config(SYNTHETIC, ['model.align_head.type=NoSuchHead', 'model.align_head.zzz=1'])


# --------------------------------------------------------------------------------- class count
def test_a_head_with_another_class_count_than_the_scheme():
    """Before: a 5-class head trained on the 3-class set, exit 0 (tools/loso.py failed only in
    the report, after every fold)."""
    msg = _error(SYNTHETIC, ['model.cls_head.num_classes=5'])
    assert msg == (f"{SYNTHETIC}: model.cls_head.num_classes is 5, but the class scheme "
                   "'synthetic_3' of the datasets has 3 classes (negative, positive, surprise): "
                   "set model.cls_head.num_classes=3 (--cfg-options model.cls_head.num_classes=3) "
                   'or give the datasets a class_scheme with 5 classes')


def test_the_class_count_of_every_dataloader_and_a_mmaction_head(tmp_path):
    msg = _error(SYNTHETIC, ['train_dataloader.dataset.class_scheme=samm_5'])
    assert "train_dataloader.dataset.class_scheme 'samm_5' has 5 classes but " \
        "val_dataloader.dataset.class_scheme 'synthetic_3' has 3" in msg
    assert "test_dataloader.dataset.class_scheme: Unknown class_scheme 'nope'" in _error(
        SYNTHETIC, ['test_dataloader.dataset.class_scheme=nope'])
    baseline = osp.join(REPO_ROOT, 'configs', 'baselines',
                        'linear-head_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py')
    assert 'model.cls_head.num_classes is 4' in _error(baseline, ['model.cls_head.num_classes=4'])
    # a scheme given as a dict, inside a dataset wrapper
    cfg = _child(tmp_path, '''
_scheme = dict(_delete_=True, classes=['a', 'b'], members=dict(anger='a', happiness='b'))
train_dataloader = dict(dataset=dict(_delete_=True, type='RepeatDataset', times=2,
                                     dataset=dict(type='MicroExpressionDataset', ann_file='x',
                                                  class_scheme=_scheme)))
val_dataloader = dict(dataset=dict(class_scheme=_scheme))
test_dataloader = val_dataloader
''')
    assert "class scheme 'custom' of the datasets has 2 classes (a, b)" in _error(cfg)
    load_config(cfg, ['model.cls_head.num_classes=2'])


# --------------------------------------------------------------------------------- in sync
def _source_keys(func, pattern: str):
    return set(re.findall(pattern, inspect.getsource(func)))


def test_the_lists_follow_mmengines_source():
    """What the check knows mmengine reads, against the installed mmengine's code."""
    from mmengine.optim import DefaultOptimWrapperConstructor
    from mmengine.runner import Runner

    from mer_clip.apis.config_check import ENV_KEYS, PARAMWISE_KEYS, read_keys
    assert _source_keys(DefaultOptimWrapperConstructor.add_params,
                        r"paramwise_cfg\.get\('(\w+)'") == set(PARAMWISE_KEYS)
    assert _source_keys(Runner, r"self\.cfg\.get\('(\w+)'") <= read_keys()
    assert _source_keys(Runner.setup_env, r"env_cfg\.get\('(\w+)'") == set(ENV_KEYS)
    assert _source_keys(Runner.from_cfg, r"cfg\.get\('(\w+)'") <= read_keys()
