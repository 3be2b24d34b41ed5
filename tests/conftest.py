"""Shared fixtures: repository paths and a small synthetic ME dataset generated once per session."""
import contextlib
import os
import os.path as osp

import pytest

import mer_clip  # noqa: F401  (compat first, registries filled)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The tiny MER-CLIP on the synthetic set: the config most tests train.
SYNTHETIC_CONFIG = 'configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py'
SHARED_LISTS = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'merclip_official_lists')


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic set (4 subjects x 6 clips, 32 px): `<root>/annotations.json`, `frames/`."""
    from mer_clip.datasets.synthetic import make_synthetic_dataset
    root = tmp_path_factory.mktemp('synthetic')
    make_synthetic_dataset(str(root), num_subjects=4, clips_per_subject=6, size=32, seed=0)
    return str(root)


@pytest.fixture
def file_size_limit():
    """``with file_size_limit(n):`` files written inside cannot grow past ``n`` bytes: a real
    ``EFBIG`` (``[Errno 27] File too large``) from write(), as with ``ulimit -f`` (RLIMIT_FSIZE;
    SIGXFSZ ignored so that the write fails instead of the process)."""
    import contextlib
    import resource
    import signal

    @contextlib.contextmanager
    def limit(nbytes: int):
        old = resource.getrlimit(resource.RLIMIT_FSIZE)
        handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, old[1]))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, old)
            signal.signal(signal.SIGXFSZ, handler)

    return limit


def pytest_configure(config):
    # keep the 2-core CI machine responsive: one intra-op thread per test process
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    import torch
    torch.set_num_threads(1)


def free_port() -> int:
    """A free TCP port on localhost for a torchrun rendezvous."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def load_tool(path):
    """A script of the repository (``tools/...``, relative to its root) imported as a module."""
    import importlib.util
    name = '_tool_' + osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO_ROOT, path))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@contextlib.contextmanager
def captured_log():
    """The records (every level) the current MMLogger emits inside the ``with`` block."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    records = []

    class Keep:
        level = 0

        def handle(self, record):
            records.append(record)

    logger.addHandler(Keep())
    try:
        yield records
    finally:
        logger.handlers = [h for h in logger.handlers if not isinstance(h, Keep)]


def seeded_models(config, n):
    """``n`` models of the config file ``config`` (relative to the repository), model ``i`` built
    and initialised after ``torch.manual_seed(i)``: the folds of a stacked-model test."""
    import torch
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    out = []
    for seed in range(n):
        torch.manual_seed(seed)
        m = MODELS.build(cfg.model)
        m.init_weights()
        out.append(m)
    return out


DEMO_DATA = osp.join(REPO_ROOT, 'data', 'synthetic')


@pytest.fixture(scope='session')
def demo_data_root(tmp_path_factory):
    """The demo's synthetic set (``tools/data/make_synthetic.py`` defaults): ``data/synthetic`` of
    the checkout when it is there, else rendered once per session (a clean clone has none)."""
    if osp.exists(osp.join(DEMO_DATA, 'annotations.json')):
        return DEMO_DATA
    tool = load_tool('tools/data/make_synthetic.py')
    root = str(tmp_path_factory.mktemp('demo_data') / 'synthetic')
    assert tool.main(['--out', root]) in (0, None)
    return root


def demo_data_options(root):
    """``cfg_options`` pointing the synthetic config's three dataloaders at ``root``."""
    return [f'{loader}.dataset.{key}={osp.join(root, name)}'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            for key, name in (('ann_file', 'annotations.json'), ('data_prefix.img', 'frames'))]


MEGC2019_FLOW = osp.join(REPO_ROOT, 'data', 'megc2019_htnet', 'annotations.json')
MEGC2019_RELEASE = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'megc2019_composite_htnet')
#: the composite's 442 released apex frames (224 x 224 real faces), named <sample>.jpg
COMPOSITE_FACES = osp.join(MEGC2019_RELEASE, 'datasets', 'combined_datasets_whole')


@pytest.fixture(scope='session')
def megc2019_flow_ann(tmp_path_factory):
    """The converted MEGC2019 composite (the flow configs' ``data/megc2019_htnet``): the
    checkout's when it is there, else converted once per session from ../shared (a clean clone
    has none); skipped, with the reason, without ../shared."""
    if osp.exists(MEGC2019_FLOW):
        return MEGC2019_FLOW
    if not (osp.isdir(MEGC2019_RELEASE) and osp.isdir(SHARED_SHEETS)):
        pytest.skip(f'MEGC2019 composite absent: {MEGC2019_RELEASE} (and {MEGC2019_FLOW})')
    tool = load_tool('tools/data/convert_annotations.py')
    ann = str(tmp_path_factory.mktemp('megc2019_htnet') / 'annotations.json')
    assert tool.main(['megc2019_htnet', MEGC2019_RELEASE, ann, '--casme2-sheet',
                      osp.join(SHARED_SHEETS, 'casme2', 'CASME2-coding-20190701.xlsx'),
                      '--samm-sheet',
                      osp.join(SHARED_SHEETS, 'samm', 'SAMM_Micro_FACS_Codes_v2.xlsx')]) == 0
    return ann


def flow_data_options(ann):
    """``cfg_options`` pointing a flow config's three dataloaders at the annotations ``ann``."""
    return [f'{loader}.dataset.{key}={value}'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            for key, value in (('ann_file', ann), ('data_prefix.img', osp.dirname(ann)))]


@pytest.fixture
def small_synthetic_config(tmp_path, synthetic_root):
    """Write a config inheriting SYNTHETIC_CONFIG (or ``base``) that reads the small synthetic
    set, loads in the main process and logs every iteration; returns a factory taking extra lines."""

    def make(extra: str = '', base: str = SYNTHETIC_CONFIG, name='cfg.py') -> str:
        ann = osp.join(synthetic_root, 'annotations.json')
        frames = osp.join(synthetic_root, 'frames')
        text = f'''
_base_ = [{osp.join(REPO_ROOT, base)!r}]
_ds = dict(ann_file={ann!r}, data_prefix=dict(img={frames!r}))
train_dataloader = dict(batch_size=6, num_workers=0, persistent_workers=False, dataset=_ds)
val_dataloader = dict(batch_size=6, num_workers=0, persistent_workers=False, dataset=_ds)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=1))
''' + extra
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return make


SHARED_SHEETS = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'real_sheets')

#: SMIC-HS release: clips per subject (negative, positive, surprise), 164 in all (70 / 51 / 43).
SMIC_HS_CLIPS = {1: (3, 2, 1), 2: (0, 1, 5), 3: (22, 11, 6), 4: (10, 4, 5), 5: (1, 0, 1),
                 6: (2, 0, 2), 8: (9, 4, 0), 9: (0, 1, 3), 11: (3, 3, 1), 12: (0, 8, 1),
                 13: (0, 10, 0), 14: (3, 2, 5), 15: (1, 1, 2), 18: (2, 0, 5), 19: (0, 1, 1),
                 20: (14, 3, 5)}


def make_smic_hs(root, clips=None, frames=3, write_frame=None):
    """Fabricate the SMIC-HS release layout under ``root``:
    ``HS/s<N>/micro/<negative|positive|surprise>/s<N>_<ne|po|sur>_<kk>/image<frame>.bmp`` (plus a
    ``non_micro`` folder); frames are empty files unless ``write_frame(path)`` writes them.
    Returns the release root."""
    clips = SMIC_HS_CLIPS if clips is None else clips
    for subject, counts in clips.items():
        base = osp.join(str(root), 'HS', f's{subject}')
        os.makedirs(osp.join(base, 'non_micro', 's{subject}_no_01'), exist_ok=True)
        for (emotion, code), n in zip((('negative', 'ne'), ('positive', 'po'),
                                       ('surprise', 'sur')), counts):
            for k in range(1, n + 1):
                clip = osp.join(base, 'micro', emotion, f's{subject}_{code}_{k:02d}')
                os.makedirs(clip)
                start = 1000 * subject + 10 * k
                for f in range(start, start + frames):
                    path = osp.join(clip, f'image{f}.bmp')
                    if write_frame is None:
                        open(path, 'wb').close()
                    else:
                        write_frame(path)
    return str(root)
