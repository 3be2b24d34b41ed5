"""`import mer_clip` (or custom_imports in a config) registers every component in mmaction's registries."""
import subprocess
import sys

EXPECTED = {
    'DATASETS': ['MicroExpressionDataset'],
    'METRICS': ['MERMetric'],
    'TRANSFORMS': ['MESampleFrames', 'LoadMEFrames', 'LoadMEVideo', 'LoadClipCache',
                   'GenerateAUPrompt', 'VideoAugMix', 'VideoColorJitter', 'MEFlip'],
    'MODELS': ['MERCLIP', 'MERUniFormerV2', 'CLIPTextEncoder', 'AUTextAlignHead',
               'EmotionTransformerHead', 'SoftmaxFocalLoss', 'LocalStaticFaceMix',
               'OnsetDifferencePreprocessor'],
    'HOOKS': ['ProgressiveLossHook', 'RNGStateHook', 'CheckInvalidLossHook'],
}


def test_import_registers_everything():
    import mer_clip  # noqa: F401
    from mmaction import registry
    for reg_name, names in EXPECTED.items():
        reg = getattr(registry, reg_name)
        missing = [n for n in names if reg.get(n) is None]
        assert not missing, f'{reg_name} lacks {missing}'


def test_custom_imports_in_a_fresh_process_builds_components(tmp_path, synthetic_root):
    """Only a config's custom_imports (no `import mer_clip` in the script) registers the plugin."""
    ann = f'{synthetic_root}/annotations.json'
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f'''
default_scope = 'mmaction'
custom_imports = dict(imports=['mer_clip'], allow_failed_imports=False)
dataset = dict(type='MicroExpressionDataset', ann_file={ann!r},
               data_prefix=dict(img={synthetic_root + '/frames'!r}), class_scheme='synthetic_3',
               loso_subject='s01', split='test',
               pipeline=[dict(type='MESampleFrames', clip_len=4), dict(type='LoadMEFrames')])
metric = dict(type='MERMetric')
''')
    script = f'''
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings
cfg = Config.fromfile({str(cfg)!r})
import_modules_from_strings(**cfg.custom_imports)
from mmengine.registry import init_default_scope
init_default_scope(cfg.default_scope)  # what the Runner does
from mmaction.registry import DATASETS, METRICS
ds = DATASETS.build(cfg.dataset)
item = ds[0]
assert len(item['imgs']) == 4 and item['frame_inds'][0] == item['onset']
METRICS.build(cfg.metric)
print('OK', len(ds), ds.metainfo['classes'])
'''
    out = subprocess.run([sys.executable, '-c', script], cwd=str(tmp_path), capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OK 6 ('negative', 'positive', 'surprise')" in out.stdout
