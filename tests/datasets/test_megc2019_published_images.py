"""A slice of the real published MEGC2019 composite images (HTNet release): format, channel order.

The release does not document the channel order of its flow images (the authors read them with
OpenCV, i.e. BGR). This checks the reading ``LoadMEImage(flow_channels=('u', 'v', 'strain'))``
(RGB = u, v, strain) on the files themselves: the third RGB channel is the magnitude-like one
(optical strain is >= 0, so after min-max normalisation it sits low; u and v sit around their
zero level), and the strain recomputed from the first two channels as (u, v) fits it better than as
(v, u). On all 442 images: (u, v) wins on 366, (v, u) on 76.
"""
import csv
import os.path as osp

import numpy as np
import pytest

from mer_clip.datasets.transforms import LoadMEImage
from tests.conftest import REPO_ROOT

ROOT = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'megc2019_composite_htnet')
FLOW_DIR = osp.join(ROOT, 'datasets', 'STSNet_whole_norm_u_v_os')
APEX_DIR = osp.join(ROOT, 'datasets', 'combined_datasets_whole')

pytestmark = pytest.mark.skipif(not osp.isdir(FLOW_DIR),
                                reason=f'published MEGC2019 composite images absent: {ROOT}')


@pytest.fixture(scope='module')
def rows():
    with open(osp.join(ROOT, 'combined_3_class2_for_optical_flow.csv')) as f:
        all_rows = list(csv.DictReader(f))
    assert len(all_rows) == 442
    return all_rows[::6]  # 74 samples of the three source datasets


def flow_path(row):
    return osp.join(FLOW_DIR, f"{row['sub']}_{row['filename_o']} .png")  # the space is in the name


def load_slice(rows):
    load = LoadMEImage(modality='flow', flow_size=28)
    return np.stack([load(dict(sample_id=r['filename_o'], flow_image=flow_path(r)))['imgs'][0]
                     for r in rows])  # (n, 28, 28, 3) in [-1, 1]: u, v, strain


def strain_fit_error(strain, u, v):
    """Least-squares misfit of strain ~ k * sqrt(u_x^2 + v_y^2 + (u_y + v_x)^2 / 2) + c, over the
    unknown relative scale r of v (each channel was normalised with its own unknown range)."""
    u_y, u_x = np.gradient(u)
    v_y, v_x = np.gradient(v)
    best = np.inf
    for r in np.exp(np.linspace(-2, 2, 41)):
        model = np.sqrt(u_x ** 2 + (r * v_y) ** 2 + 0.5 * (u_y + r * v_x) ** 2).ravel()
        design = np.stack([model, np.ones_like(model)], 1)
        coef = np.linalg.lstsq(design, strain.ravel(), rcond=None)[0]
        best = min(best, float(np.mean((design @ coef - strain.ravel()) ** 2)))
    return best


def test_format_every_channel_min_max_normalised(rows):
    assert {r['dataset'] for r in rows} == {'casme2', 'samm', 'smic'}
    imgs = load_slice(rows)
    assert imgs.shape == (len(rows), 28, 28, 3) and imgs.dtype == np.float32
    flat = imgs.reshape(len(rows), -1, 3)
    np.testing.assert_array_equal(flat.min(1), -1.0)  # 0 in the file
    np.testing.assert_array_equal(flat.max(1), 1.0)  # 255 in the file


def test_third_rgb_channel_is_the_strain(rows):
    imgs = load_slice(rows)
    med = np.median(imgs.reshape(-1, 3), axis=0)
    assert med[2] < -0.5  # strain: mostly near its minimum (file median ~14 of 255)
    assert -0.3 < med[0] < 0.3 and -0.3 < med[1] < 0.3  # u, v: around their zero level
    wins = sum(strain_fit_error(im[..., 2], im[..., 0], im[..., 1])
               < strain_fit_error(im[..., 2], im[..., 1], im[..., 0]) for im in imgs)
    assert wins >= 0.65 * len(imgs), f'(u, v) = (R, G) fits the strain on {wins}/{len(imgs)}'


def test_apex_and_both_modalities_on_a_real_sample(rows):
    row = rows[0]
    res = dict(sample_id=row['filename_o'], flow_image=flow_path(row),
               apex_image=osp.join(APEX_DIR, row['imagename']))
    apex = LoadMEImage(modality='apex', apex_size=224)(dict(res))['imgs'][0]
    assert apex.shape == (224, 224, 3) and 0 <= apex.min() and apex.max() <= 255
    both = LoadMEImage(modality='both', size=28)(dict(res))
    assert both['imgs'][0].shape == (28, 28, 6)
    assert both['channels'] == ('r', 'g', 'b', 'u', 'v', 'strain')
