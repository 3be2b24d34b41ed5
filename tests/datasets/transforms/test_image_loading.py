"""LoadMEImage: apex / flow / both as float images, mmaction 2D packing, errors naming the file."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose

import mer_clip  # noqa: F401
from mmaction.registry import DATASETS, TRANSFORMS

from mer_clip.datasets.annotation import dump_annotations, make_record
from mer_clip.datasets.flow_image import encode_flow_image, write_flow_image
from mer_clip.datasets.transforms import LoadMEImage
from mmengine.registry import init_default_scope

init_default_scope('mmaction')


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    f = rng.normal(size=(28, 28, 3))
    f[..., 2] = np.abs(f[..., 2])
    flow_u8, ranges = encode_flow_image(f)
    write_flow_image(str(tmp_path / 'flow.png'), flow_u8)
    apex = rng.integers(0, 256, (56, 56, 3), dtype=np.uint8)  # RGB
    cv2.imwrite(str(tmp_path / 'apex.jpg'), apex[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 100])
    return dict(root=str(tmp_path), flow=f, flow_u8=flow_u8, ranges=ranges,
                apex=cv2.imread(str(tmp_path / 'apex.jpg'))[..., ::-1])


def results(files, **kw):
    r = dict(sample_id='samm/006_1_2', flow_image=osp.join(files['root'], 'flow.png'),
             apex_image=osp.join(files['root'], 'apex.jpg'), flow_range=files['ranges'])
    r.update(kw)
    return r


def test_flow_unit_and_raw_values(files):
    out = TRANSFORMS.build(dict(type='LoadMEImage', flow_size=28))(results(files))
    img = out['imgs'][0]
    assert img.dtype == np.float32 and img.shape == (28, 28, 3) and img.flags['C_CONTIGUOUS']
    assert out['channels'] == ('u', 'v', 'strain') and out['modality'] == 'flow'
    assert out['img_shape'] == (28, 28) and out['clip_len'] == out['num_clips'] == 1
    np.testing.assert_allclose(img, files['flow_u8'] / 127.5 - 1, atol=1e-6)
    raw = LoadMEImage(flow_values='raw')(results(files))['imgs'][0]
    step = max(hi - lo for lo, hi in files['ranges'].values()) / 255
    assert np.abs(raw - files['flow']).max() <= step / 2 + 1e-5


def test_apex_and_both(files):
    out = LoadMEImage(modality='apex')(results(files))
    assert out['channels'] == ('r', 'g', 'b') and out['imgs'][0].shape == (56, 56, 3)
    np.testing.assert_array_equal(out['imgs'][0], files['apex'].astype(np.float32))  # RGB
    with pytest.raises(ValueError, match='set size'):
        LoadMEImage(modality='both')(results(files))
    out = LoadMEImage(modality='both', size=28)(results(files))
    img = out['imgs'][0]
    assert img.shape == (28, 28, 6) and out['modality'] == 'apex+flow'
    assert out['channels'] == ('r', 'g', 'b', 'u', 'v', 'strain')
    np.testing.assert_allclose(img[..., 3:], files['flow_u8'] / 127.5 - 1, atol=1e-6)
    assert out['original_shape'] == (56, 56)


def test_packs_as_nchw_for_a_2d_recognizer(files):
    pipe = Compose([dict(type='LoadMEImage'), dict(type='FormatShape', input_format='NCHW'),
                    dict(type='PackActionInputs', meta_keys=('sample_id', 'img_shape'))])
    packed = pipe(dict(results(files), label=1))
    assert packed['inputs'].shape == (1, 3, 28, 28) and packed['inputs'].dtype == torch.float32
    assert packed['data_samples'].metainfo['sample_id'] == 'samm/006_1_2'


def test_bad_input_names_sample_and_file(files, tmp_path):
    with pytest.raises(ValueError, match=r'samm/006_1_2: flow image .*flow.png is 28x28 .* '
                                         r'expected 32x32 \(flow_size\)'):
        LoadMEImage(flow_size=32)(results(files))
    with pytest.raises(FileNotFoundError, match=r'samm/006_1_2: flow image not found: .*nope'):
        LoadMEImage()(results(files, flow_image=str(tmp_path / 'nope.png')))
    bad = tmp_path / 'corrupt.png'
    bad.write_bytes(open(osp.join(files['root'], 'flow.png'), 'rb').read()[:60])  # truncated
    with pytest.raises(ValueError, match=r'samm/006_1_2: flow .*corrupt.png: truncated PNG'):
        LoadMEImage()(results(files, flow_image=str(bad)))
    with pytest.raises(KeyError, match="samm/006_1_2: LoadMEImage needs 'flow_image'"):
        LoadMEImage()(dict(sample_id='samm/006_1_2'))
    with pytest.raises(KeyError, match='flow_range'):
        LoadMEImage(flow_values='raw')(results(files, flow_range=None))
    with pytest.raises(ValueError, match='modality'):
        LoadMEImage(modality='video')
    with pytest.raises(ValueError, match='each of'):
        LoadMEImage(flow_channels=('u', 'v', 'v'))


def test_channel_order_option_reorders_the_file(files, tmp_path):
    # the same flow stored with RGB = strain, v, u
    swapped = files['flow_u8'][..., ::-1]
    cv2.imwrite(str(tmp_path / 'swapped.png'), np.ascontiguousarray(swapped[..., ::-1]))
    out = LoadMEImage(flow_channels=('strain', 'v', 'u'))(
        results(files, flow_image=str(tmp_path / 'swapped.png')))
    np.testing.assert_allclose(out['imgs'][0], files['flow_u8'] / 127.5 - 1, atol=1e-6)


def test_dataset_joins_image_paths_with_data_prefix(files):
    recs = [make_record(sample_id='a', subject='s1', emotion='negative', aus=None, au_list=[],
                        flow_image='flow.png', apex_image='apex.jpg'),
            make_record(sample_id='b', subject='s2', emotion='positive', aus='12',
                        flow_image=osp.join(files['root'], 'flow.png'))]
    ann = osp.join(files['root'], 'ann.json')
    dump_annotations(recs, ann)
    ds = DATASETS.build(dict(type='MicroExpressionDataset', ann_file=ann,
                             data_prefix=dict(img=files['root']),
                             class_scheme=dict(classes=['negative', 'positive', 'surprise']),
                             pipeline=[dict(type='LoadMEImage'),
                                       dict(type='FormatShape', input_format='NCHW'),
                                       dict(type='PackActionInputs', meta_keys=('sample_id', ))]))
    assert ds.get_data_info(0)['flow_image'] == osp.join(files['root'], 'flow.png')
    assert ds.get_data_info(0)['apex_image'] == osp.join(files['root'], 'apex.jpg')
    assert ds.get_data_info(1)['flow_image'] == osp.join(files['root'], 'flow.png')  # absolute
    assert ds[0]['inputs'].shape == (1, 3, 28, 28) and ds[1]['data_samples'].gt_label == 1


def test_cache_decodes_each_file_once_and_rereads_a_rewritten_one(files, monkeypatch):
    from mer_clip.utils import image_io
    image_io.clear_image_cache()
    uncached = LoadMEImage(modality='both', size=28)(results(files))['imgs'][0]
    reads = []
    real = image_io.read_image
    monkeypatch.setattr(image_io, 'read_image',
                        lambda path, **kw: reads.append(path) or real(path, **kw))
    load = LoadMEImage(modality='both', size=28, cache=True)
    first = load(results(files))['imgs'][0]
    again = LoadMEImage(modality='both', size=28, cache=True)(results(files))['imgs'][0]
    assert len(reads) == 2  # apex + flow, once for both instances
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, uncached)  # the same values as without the cache
    again[:] = 0  # the output is the caller's own array, the cached file is not touched
    np.testing.assert_array_equal(load(results(files))['imgs'][0], first)
    # a rewritten file (new size / modification time) is read again
    f = files['flow'][::-1].copy()
    flow_u8, _ = encode_flow_image(f)
    write_flow_image(osp.join(files['root'], 'flow.png'), flow_u8)
    import os
    os.utime(osp.join(files['root'], 'flow.png'), ns=(1, 1))
    out = LoadMEImage(cache=True)(results(files))['imgs'][0]
    assert len(reads) == 3
    np.testing.assert_allclose(out, flow_u8 / 127.5 - 1, atol=1e-6)
    image_io.clear_image_cache()
