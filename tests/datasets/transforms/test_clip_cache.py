"""LoadClipCache returns the same pixels and keys as MESampleFrames + LoadMEFrames on the JPEGs."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mer_clip.datasets.annotation import dump_annotations
from mer_clip.datasets.me_dataset import MicroExpressionDataset
from mer_clip.datasets.transforms import LoadClipCache, LoadMEFrames, MESampleFrames
from mer_clip.preprocessing.frames import OUT_TMPL
from mer_clip.preprocessing.clip_cache import cache_name, write_clip_cache

CLIP_LEN = 8


def _record(sample_id, onset, apex, offset):
    return dict(sample_id=sample_id, subject='s1', emotion='happiness', aus='12',
                au_list=[{'au': 12, 'side': None, 'intensity': None}], onset=onset, apex=apex,
                offset=offset, frame_dir=f's1/{sample_id}', filename_tmpl=OUT_TMPL)


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    """A prepared-layout folder (frames/s1/<id>/img_{:05d}.jpg) with caches and an annotation."""
    root = str(tmp_path_factory.mktemp('prepared'))
    rng = np.random.default_rng(0)
    records = [_record('a', 10, 14, 30), _record('b', 3, None, 7),  # short: repeated frames
               _record('c', 0, 2, 40)]
    for rec in records:
        clip_dir = osp.join(root, 'frames', rec['frame_dir'])
        os.makedirs(clip_dir)
        for n in range(rec['onset'], rec['offset'] + 1):
            img = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)  # noisy: JPEG-lossy pixels
            cv2.imwrite(osp.join(clip_dir, OUT_TMPL.format(n)), img)
        write_clip_cache(clip_dir, rec, CLIP_LEN)
        write_clip_cache(clip_dir, rec, CLIP_LEN, short_side=32)  # pre-resized variant
        rec['clip_cache'] = osp.join(rec['frame_dir'], cache_name(CLIP_LEN))
    ann = osp.join(root, 'annotations.json')
    dump_annotations(records, ann, dict(dataset_name='test'))
    return root, ann


def _dataset(root, ann, pipeline):
    return MicroExpressionDataset(ann, pipeline=pipeline, data_prefix=dict(img=osp.join(root,
                                                                                       'frames')),
                                  class_scheme=dict(classes=['happiness']))


def test_cache_equals_jpeg_loader(prepared):
    root, ann = prepared
    ds = _dataset(root, ann, [])
    jpeg = [MESampleFrames(CLIP_LEN), LoadMEFrames()]
    cached = LoadClipCache(CLIP_LEN)
    for i in range(len(ds)):
        a = ds.get_data_info(i)
        for t in jpeg:
            a = t(a)
        b = cached(ds.get_data_info(i))
        assert len(b['imgs']) == CLIP_LEN
        for x, y in zip(a['imgs'], b['imgs']):
            assert x.dtype == y.dtype == np.uint8
            np.testing.assert_array_equal(x, y)
        for key in ('frame_inds', 'clip_len', 'num_clips', 'frame_interval', 'onset_index',
                    'apex_index', 'img_shape', 'original_shape'):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # the short clip really repeats frames, and the JPEG decode is lossy (so equality is a test of
    # decoding the written files, not of the arrays before encoding)
    b = cached(ds.get_data_info(1))
    assert len(set(b['frame_inds'].tolist())) < CLIP_LEN


def test_through_the_full_pipeline(prepared):
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    root, ann = prepared
    tail = [dict(type='Resize', scale=(-1, 32)), dict(type='CenterCrop', crop_size=28),
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackActionInputs', meta_keys=('img_shape', 'sample_id', 'onset_index',
                                                     'apex_index'))]
    jpeg = _dataset(root, ann, [dict(type='MESampleFrames', clip_len=CLIP_LEN),
                                dict(type='LoadMEFrames')] + tail)
    cache = _dataset(root, ann, [dict(type='LoadClipCache', clip_len=CLIP_LEN)] + tail)
    for i in range(len(jpeg)):
        a, b = jpeg[i], cache[i]
        assert a['inputs'].shape == (1, 3, CLIP_LEN, 28, 28)
        assert a['inputs'].equal(b['inputs'])
        assert a['data_samples'].metainfo['apex_index'] == b['data_samples'].metainfo['apex_index']
        # the cache stored at the Resize's output size gives the same network input
        info = cache.get_data_info(i)
        info['clip_cache'] = info['clip_cache'].replace('.npy', '_s32.npy')
        c = cache.pipeline(info)
        assert c['inputs'].equal(a['inputs'])
        assert np.load(info['clip_cache']).shape == (CLIP_LEN, 32, 38, 3)  # 40x48 frames resized


def test_ram_cache_is_not_corrupted_by_in_place_transforms(prepared):
    root, ann = prepared
    ds = _dataset(root, ann, [])
    t = LoadClipCache(CLIP_LEN, cache_size=2)
    first = t(ds.get_data_info(0))
    ref = [im.copy() for im in first['imgs']]
    for im in first['imgs']:
        im[:] = 0  # a transform flipping / normalising in place
    again = t(ds.get_data_info(0))
    for x, y in zip(ref, again['imgs']):
        np.testing.assert_array_equal(x, y)
    for i in range(3):
        t(ds.get_data_info(i))
    assert len(t._ram) == 2  # LRU bound
    assert LoadClipCache(CLIP_LEN, cache_size=-1)  # unbounded also constructs


def test_clear_errors(prepared, tmp_path):
    root, ann = prepared
    ds = _dataset(root, ann, [])
    with pytest.raises(ValueError, match='clip-len 16'):
        LoadClipCache(16)(ds.get_data_info(0))
    info = ds.get_data_info(0)
    info['clip_cache'] = str(tmp_path / 'nope.npy')
    with pytest.raises(FileNotFoundError, match='sample a: clip cache not found'):
        LoadClipCache(CLIP_LEN)(info)
    bad = tmp_path / 'bad.npy'
    np.save(bad, np.zeros((CLIP_LEN, 4, 4), np.float32))
    info['clip_cache'] = str(bad)
    with pytest.raises(ValueError, match=r'expected uint8 \(T, H, W, 3\)'):
        LoadClipCache(CLIP_LEN)(info)
    assert json.load(open(ann))['data_list'][0]['clip_cache'] == 's1/a/' + cache_name(CLIP_LEN)
