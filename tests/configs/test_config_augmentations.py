"""Every config in configs/ trains with exactly the augmentations its header claims.

The claim is one line in the leading comment block of the config file:

    # augmentations: augmix, color_jitter, flip, lsfm      (the paper's four, Sec. IV-B)
    # augmentations: color_jitter, flip, lsfm              (an ablation: its name says _no-augmix)
    # augmentations: none (flow images: ...)               (no augmentation; say why in brackets)

Names: ``augmix`` (VideoAugMix), ``color_jitter`` (VideoColorJitter) and ``flip`` (MEFlip) in the
train pipeline, ``lsfm`` (LocalStaticFaceMix) as the data preprocessor's blending, each with the
paper's parameters from configs/_base_/augmentations.py. A config that trains with fewer than the
paper's four names what it drops (``..._no-augmix.py``, ``..._no-augmix-lsfm.py``) or claims
``none``. A config without a claim fails.

Which of the four apply depends on the input: all four on RGB frames; only ``flip`` (which negates
u with the image) on optical-flow images (``LoadMEImage(modality='flow')``), where colour jitter,
AugMix and the onset-frame blend of LocalStaticFaceMix have no meaning.
"""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
AUGMENTATIONS = Config.fromfile(osp.join(CONFIGS, '_base_', 'augmentations.py'))
#: claim name -> (where it acts, its config in augmentations.py)
CLAIMABLE = {
    'augmix': ('pipeline', AUGMENTATIONS.aug_augmix),
    'color_jitter': ('pipeline', AUGMENTATIONS.aug_color_jitter),
    'flip': ('pipeline', AUGMENTATIONS.aug_flip),
    'lsfm': ('blending', AUGMENTATIONS.aug_lsfm),
}
PAPER = frozenset(CLAIMABLE)
#: the paper's augmentations that apply to a flow-image input
FLOW_APPLICABLE = frozenset({'flip'})
PIPELINE_TYPES = {cfg['type']: name for name, (where, cfg) in CLAIMABLE.items()
                  if where == 'pipeline'}
#: Random transforms of mmaction / mmcv that are augmentations too: never in a config unclaimed.
OTHER_AUGMENTATIONS = {'Flip', 'ColorJitter', 'RandomCrop', 'RandomResizedCrop', 'MultiScaleCrop',
                       'RandAugment', 'ImgAug', 'RandomRescale', 'RandomErasing',
                       'TorchVisionWrapper', 'PytorchVideoWrapper', 'AugMix'}
CLAIM_RE = re.compile(r'^#\s*augmentations:\s*(?P<value>.*?)\s*$')


def config_files():
    paths = glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
    return sorted(osp.relpath(p, CONFIGS) for p in paths
                  if '_base_' not in osp.relpath(p, CONFIGS).split(osp.sep))


def header(path):
    """The leading comment block of a config file."""
    lines = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('#'):
                lines.append(line.rstrip('\n'))
            elif line.strip():
                break
    return lines


def claimed(rel, root=CONFIGS):
    """The set of augmentation names ``root/rel`` claims (empty for ``none``); a clear failure when
    the claim is missing, repeated or names something unknown."""
    claims = [m.group('value') for m in map(CLAIM_RE.match, header(osp.join(root, rel))) if m]
    how = ("add one line '# augmentations: augmix, color_jitter, flip, lsfm' (the names it trains "
           "with) or '# augmentations: none (why)' to the comment block at the top of the file")
    assert claims, f'configs/{rel} makes no augmentation claim: {how}'
    assert len(claims) == 1, f'configs/{rel} has {len(claims)} augmentation claims: {claims}'
    value = re.sub(r'\s*\(.*\)$', '', claims[0])  # drop a trailing "(comment)"
    if value == 'none':
        return frozenset()
    names = [n.strip() for n in value.split(',')]
    unknown = [n for n in names if n not in CLAIMABLE]
    assert not unknown, (f'configs/{rel}: unknown augmentation(s) {unknown} in the claim '
                         f'{claims[0]!r}; known: {sorted(CLAIMABLE)} or none')
    assert len(set(names)) == len(names), f'configs/{rel}: repeated names in {claims[0]!r}'
    return frozenset(names)


def dropped_by_name(rel):
    """The augmentations a file name says it drops: ``..._no-augmix-lsfm.py`` -> {augmix, lsfm}."""
    stem = osp.splitext(osp.basename(rel))[0]
    out = set()
    for part in stem.split('_'):
        if not part.startswith('no-'):
            continue
        rest = part[len('no-'):]
        while rest:
            for name in sorted(CLAIMABLE, key=len, reverse=True):
                token = name.replace('_', '-')
                if rest == token or rest.startswith(token + '-'):
                    out.add(name)
                    rest = rest[len(token) + 1:]
                    break
            else:
                raise AssertionError(f'configs/{rel}: cannot read what "{part}" drops')
    return out


@pytest.mark.parametrize('rel', config_files())
def test_config_trains_with_what_it_claims(rel):
    claim = claimed(rel)
    cfg = Config.fromfile(osp.join(CONFIGS, rel))
    where = f'configs/{rel} (claims {sorted(claim) or "none"})'

    pipeline = [dict(t) for t in cfg.train_dataloader.dataset.pipeline]
    types = [t['type'] for t in pipeline]
    unclaimable = sorted(set(types) & OTHER_AUGMENTATIONS)
    assert not unclaimable, (f'{where}: its train pipeline has {unclaimable}; use the '
                             f'clip-consistent ones of configs/_base_/augmentations.py')
    found = {PIPELINE_TYPES[t['type']]: t for t in pipeline if t['type'] in PIPELINE_TYPES}
    for name in found:
        assert types.count(CLAIMABLE[name][1]['type']) == 1, f'{where}: {name} twice'
    blending = (cfg.model.get('data_preprocessor') or {}).get('blending')
    if blending is not None:
        assert blending['type'] == 'LocalStaticFaceMix', (
            f'{where}: data preprocessor blending {blending["type"]} cannot be claimed')
        found['lsfm'] = dict(blending)
    assert set(found) == claim, (f'{where}: trains with {sorted(found) or "none"}; make the '
                                 f'claim line say so, or the config do what it claims')
    for name, got in found.items():
        assert got == CLAIMABLE[name][1].to_dict(), (
            f'{where}: {name} is {got}, not the paper\'s {CLAIMABLE[name][1].to_dict()} '
            f'(configs/_base_/augmentations.py)')

    # order: after the frames are cropped, before the AU prompt (MEFlip swaps the AU sides)
    aug_at = [i for i, t in enumerate(types) if t in PIPELINE_TYPES]
    if aug_at and 'CenterCrop' in types:
        assert types.index('CenterCrop') < min(aug_at), f'{where}: augment after the crop'
    if 'MEFlip' in types and 'GenerateAUPrompt' in types:
        assert types.index('MEFlip') < types.index('GenerateAUPrompt'), (
            f'{where}: MEFlip must come before GenerateAUPrompt')
    if 'train_pipeline' in cfg:
        assert [dict(t) for t in cfg.train_pipeline] == pipeline, (
            f'{where}: the train_pipeline variable is not what train_dataloader uses')
    # evaluation is never augmented
    for loader in ('val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            test_types = {t['type'] for t in cfg[loader].dataset.pipeline}
            assert not test_types & (set(PIPELINE_TYPES) | OTHER_AUGMENTATIONS), (
                f'{where}: {loader} augments')

    # a config without some of the applicable ones of the paper's four says so in its name (or
    # claims none)
    flow_input = any(t['type'] == 'LoadMEImage' and t.get('modality') == 'flow' for t in pipeline)
    missing = (FLOW_APPLICABLE if flow_input else PAPER) - claim
    if claim:
        assert dropped_by_name(rel) == missing, (
            f'{where}: drops {sorted(missing) or "nothing"} of the paper\'s augmentations, its '
            f'name says {sorted(dropped_by_name(rel)) or "nothing"}; name it '
            f'..._no-{"-".join(sorted(n.replace("_", "-") for n in missing))}.py'
            if missing else f'{where}: its name says it drops {sorted(dropped_by_name(rel))}')


def test_claims_are_read_strictly(tmp_path):
    """The claim reader fails loudly on missing, repeated and unknown claims."""
    files = {'a.py': '# A config.\n_base_ = []\n# augmentations: flip\n',
             'b.py': '# augmentations: flip\n# augmentations: lsfm\nx = 1\n',
             'c.py': '# augmentations: flip, mixup\nx = 1\n',
             'd.py': '# x\n#  augmentations: none (flow images)\nx = 1\n',
             'e.py': '# augmentations: lsfm, augmix\n'}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    root = str(tmp_path)
    with pytest.raises(AssertionError, match='makes no augmentation claim'):
        claimed('a.py', root)  # a claim below the header does not count
    with pytest.raises(AssertionError, match='2 augmentation claims'):
        claimed('b.py', root)
    with pytest.raises(AssertionError, match=r"unknown augmentation\(s\) \['mixup'\]"):
        claimed('c.py', root)
    assert claimed('d.py', root) == frozenset()
    assert claimed('e.py', root) == {'lsfm', 'augmix'}
    assert dropped_by_name('x_y_1xb8-20e_synthetic-3cls_no-augmix-lsfm.py') == {'augmix', 'lsfm'}
    assert dropped_by_name('x_no-color-jitter-flip.py') == {'color_jitter', 'flip'}
    assert dropped_by_name('mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py') == set()
    with pytest.raises(AssertionError, match='cannot read'):
        dropped_by_name('x_no-mixup.py')


def test_every_config_is_checked():
    files = config_files()
    assert len(files) >= 24
    assert 'mer_clip_samm.py' in files  # the alias of the earlier name
    assert any(f.startswith('ablations/') for f in files)
    assert any(f.startswith('baselines/') for f in files)
