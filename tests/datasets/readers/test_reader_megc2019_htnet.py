"""The MEGC2019 composite as the HTNet authors published it (CSV + apex + flow images): a
fabricated release (ids, paths, bad inputs named by sample, counted skips), the real coding sheets'
AUs attached by id, and the real release (442 samples, 68 subjects)."""
import collections
import csv
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mer_clip.datasets import MicroExpressionDataset
from mer_clip.datasets.annotation import AnnotationError
from mer_clip.datasets.framing_check import FramingMismatchError
from mer_clip.datasets.readers import READERS, ConversionReport, read_megc2019_htnet
from mer_clip.datasets.readers.megc2019_htnet import APEX_DIR, CSV_NAME, FLOW_DIR, flow_file_name
from tests.conftest import REPO_ROOT, SHARED_SHEETS, load_tool

RELEASE = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data', 'megc2019_composite_htnet')
CASME2_SHEET = osp.join(SHARED_SHEETS, 'casme2', 'CASME2-coding-20190701.xlsx')
SAMM_SHEET = osp.join(SHARED_SHEETS, 'samm', 'SAMM_Micro_FACS_Codes_v2.xlsx')
HEADER = ['dataset', 'sub', 'filename_o', 'label', 'apex', 'imagename', 'sub_filename']
# rows of the real list (ids as the release writes them)
ROWS = [('casme2', 'sub01', 'EP02_01f', '1', 'sub01_EP02_01f.jpg'),
        ('casme2', 'sub02', 'EP01_11f', '0', 'sub02_EP01_11f.jpg'),
        ('samm', '006', '006_1_2', '0', '006_006_1_2.jpg'),
        ('smic', 's01', 's01_ne_01', '0', 's01_s1_ne_01.jpg'),
        ('smic', 's20', 's20_sur_05', '2', 's20_s20_sur_05.jpg')]


def make_release(root, rows=ROWS, apex_size=224, flow_size=28, skip_images=()):
    os.makedirs(osp.join(root, APEX_DIR))
    os.makedirs(osp.join(root, FLOW_DIR))
    rng = np.random.default_rng(0)
    with open(osp.join(root, CSV_NAME), 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for ds, sub, clip, label, image in rows:
            w.writerow([ds, sub, clip, label, '', image, ''])
            if image not in skip_images:
                cv2.imwrite(osp.join(root, APEX_DIR, image),
                            rng.integers(0, 256, (apex_size, apex_size, 3), dtype=np.uint8))
                cv2.imwrite(osp.join(root, FLOW_DIR, flow_file_name(sub, clip)),
                            rng.integers(0, 256, (flow_size, flow_size, 3), dtype=np.uint8))
    return str(root)


def test_fabricated_release_records(tmp_path):
    root = make_release(tmp_path / 'release')
    report = ConversionReport()
    recs = read_megc2019_htnet(root, image_root=str(tmp_path), report=report)
    assert READERS['megc2019_htnet'] is read_megc2019_htnet
    assert [r['sample_id'] for r in recs] == ['casme2_sub01_EP02_01f', 'casme2_sub02_EP01_11f',
                                              'samm_006_1_2', 'smic_s01_ne_01',
                                              'smic_s20_sur_05']
    r = recs[2]
    assert (r['subject'], r['dataset'], r['source_subject'], r['source_sample_id']) == (
        'samm_006', 'samm', '006', '006_1_2')
    assert r['apex_image'] == osp.join('release', APEX_DIR, '006_006_1_2.jpg')
    assert r['flow_image'] == osp.join('release', FLOW_DIR, '006_006_1_2 .png')  # the space
    assert (r['onset'], r['apex'], r['offset']) == (None, None, None)
    # without sheets: the class name as emotion, no AUs (SMIC never has any)
    assert [x['emotion'] for x in recs] == ['positive', 'negative', 'negative', 'negative',
                                            'surprise']
    assert all(x['aus'] is None and x['au_list'] == [] for x in recs)
    assert report.counts('note') == {'no_au_sheet': 2}
    # default image root: the release folder; the composite's class scheme reads every record
    assert read_megc2019_htnet(root)[0]['flow_image'] == osp.join(FLOW_DIR, 'sub01_EP02_01f .png')
    from mer_clip.datasets.annotation import dump_annotations
    ann = str(tmp_path / 'ann.json')
    dump_annotations(recs, ann)
    ds = MicroExpressionDataset(ann, data_prefix=dict(img=str(tmp_path)),
                                class_scheme='megc2019_3', test_mode=True)
    assert ds.class_counts() == dict(negative=3, positive=1, surprise=1)
    assert len(ds.subjects) == 5


def test_bad_inputs_name_the_sample_or_are_counted_skips(tmp_path):
    rows = ROWS + [('casme2', 'sub03', 'EP01_2', '3', 'sub03_EP01_2.jpg'),  # unknown label
                   ('samm', 'x7', '007_1_1', '0', '007_007_1_1.jpg'),  # bad subject
                   ('smic', 's02', 's02_po_01', '1', 's02_s2_po_01.jpg'),  # files absent
                   ('smic', 's01', 's01_ne_01', '0', 's01_s1_ne_01.jpg')]  # listed twice
    root = make_release(tmp_path / 'release', rows=rows, skip_images={'s02_s2_po_01.jpg'})
    cv2.imwrite(osp.join(root, FLOW_DIR, flow_file_name('sub02', 'EP01_11f')),
                np.zeros((32, 28, 3), np.uint8))  # wrong size
    with pytest.raises(AnnotationError) as e:
        read_megc2019_htnet(root)
    msg = str(e.value)
    assert '5 row(s) cannot be converted' in msg and '--on-error skip' in msg
    assert "row 3 (sample casme2_sub02_EP01_11f): flow_image" in msg and '28 x 32 pixels' in msg
    assert "row 7 (sample casme2_sub03_EP01_2): unknown label '3'" in msg
    assert "row 8 (samm x7/007_1_1): SAMM subject 'x7' is not a number" in msg
    assert 'row 9 (sample smic_s02_po_01): apex_image' in msg and 'does not exist' in msg
    assert 'row 10 (sample smic_s01_ne_01): listed twice (first in row 5)' in msg
    report = ConversionReport()
    recs = read_megc2019_htnet(root, on_error='skip', report=report)
    assert len(recs) == 4 and report.counts('warning') == {'row_skipped': 5}
    # a cut-off image is an error too
    flow = osp.join(root, FLOW_DIR, flow_file_name('s20', 's20_sur_05'))
    data = open(flow, 'rb').read()
    open(flow, 'wb').write(data[:len(data) // 2])
    with pytest.raises(AnnotationError, match=r'sample smic_s20_sur_05\): flow_image: .*trunc'):
        read_megc2019_htnet(root, on_error='raise')
    with pytest.raises(AnnotationError, match='not found; give the folder of the HTNet release'):
        read_megc2019_htnet(str(tmp_path / 'nowhere'))


def test_convert_annotations_command(tmp_path, capsys):
    tool = load_tool('tools/data/convert_annotations.py')
    root = make_release(tmp_path / 'release')
    out = tmp_path / 'data' / 'megc2019_htnet' / 'annotations.json'
    assert tool.main(['megc2019_htnet', root, str(out)]) == 0
    text = capsys.readouterr().out
    assert ('5 samples of 5 subjects; casme2 2 (0 with AUs), samm 1 (0 with AUs), smic 2 (0 with '
            'AUs); negative 3, positive 1, surprise 1') in text
    data = json.load(open(out))
    assert data['metainfo']['class_scheme'] == 'megc2019_3'
    # the released crops' framing is recorded: the flow configs' framing is checked, not warned
    assert data['metainfo']['prepared'] == dict(framing='megc2019_released')
    ds = MicroExpressionDataset(ann_file=str(out), class_scheme='megc2019_3',
                                framing='megc2019_released')
    assert ds.metainfo['framing'] == 'megc2019_released' and len(ds) == 5
    with pytest.raises(FramingMismatchError, match="prepared with framing 'megc2019_released'"):
        MicroExpressionDataset(ann_file=str(out), class_scheme='megc2019_3', framing='mer_clip')
    # paths relative to the output's folder: the config's data_prefix
    rec = data['data_list'][0]
    assert osp.isfile(osp.join(osp.dirname(out), rec['flow_image']))
    assert rec['flow_image'] == osp.join('..', '..', 'release', FLOW_DIR, 'sub01_EP02_01f .png')


@pytest.mark.skipif(not osp.isfile(CASME2_SHEET), reason=f'real sheets absent: {SHARED_SHEETS}')
def test_aus_and_emotions_from_the_real_sheets(tmp_path):
    rows = ROWS[:3] + [('casme2', 'sub01', 'EP99_01', '0', 'sub01_EP99_01.jpg'),  # not in sheet
                       ('samm', '006', '006_1_3', '2', '006_006_1_3.jpg')]  # Anger in the sheet
    root = make_release(tmp_path / 'release', rows=rows)
    report = ConversionReport()
    recs = read_megc2019_htnet(root, casme2_sheet=CASME2_SHEET, samm_sheet=SAMM_SHEET,
                               report=report)
    by_id = {r['sample_id']: r for r in recs}
    r = by_id['casme2_sub01_EP02_01f']
    assert (r['emotion'], r['aus'], r['au_list']) == ('happiness', '12', [
        dict(au=12, side=None, intensity=None)])
    assert by_id['samm_006_1_2']['emotion'] == 'Anger' and by_id['samm_006_1_2']['au_list']
    missing = by_id['casme2_sub01_EP99_01']
    assert (missing['emotion'], missing['aus'], missing['au_list']) == ('negative', None, [])
    differs = by_id['samm_006_1_3']
    assert (differs['emotion'], differs['source_emotion']) == ('surprise', 'Anger')
    assert differs['au_list']  # the sheet's AUs are kept
    warnings = report.counts('warning')
    assert warnings['not_in_sheet'] == 1 and warnings['label_differs_from_official'] == 1


@pytest.mark.skipif(not osp.isdir(RELEASE),
                    reason=f'published MEGC2019 composite absent: {RELEASE}')
@pytest.mark.skipif(not osp.isfile(CASME2_SHEET), reason=f'real sheets absent: {SHARED_SHEETS}')
def test_the_real_release(tmp_path):
    """442 samples, 68 subjects, 250 / 109 / 83; every CASME II and SAMM sample gets its AUs from
    the real sheets, SMIC none; the labels agree with the sheets' emotions."""
    report = ConversionReport()
    recs = read_megc2019_htnet(RELEASE, casme2_sheet=CASME2_SHEET, samm_sheet=SAMM_SHEET,
                               report=report)
    assert len(recs) == 442 and len({r['subject'] for r in recs}) == 68
    from mer_clip.datasets.class_schemes import get_class_scheme
    scheme = get_class_scheme('megc2019_3')
    assert collections.Counter(scheme.class_of(r['emotion'], r['dataset']) for r in recs) == dict(
        negative=250, positive=109, surprise=83)
    assert collections.Counter(r['dataset'] for r in recs) == dict(smic=164, casme2=145, samm=133)
    with_aus = collections.Counter(r['dataset'] for r in recs if r['au_list'])
    assert with_aus == dict(casme2=145, samm=133)
    assert not any(r['aus'] for r in recs if r['dataset'] == 'smic')
    assert 'label_differs_from_official' not in report.counts('warning')
    assert 'not_in_sheet' not in report.counts('warning')
    assert all(osp.isfile(osp.join(RELEASE, r['flow_image'])) for r in recs)
