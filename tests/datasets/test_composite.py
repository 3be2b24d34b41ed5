"""Joint annotations: namespacing, the MEGC2019 official list, and the composite built from the
real sheets (CASME II 2019, SAMM) and a fabricated SMIC-HS release layout."""
import collections
import csv
import os.path as osp

import pytest

from mer_clip.datasets import MicroExpressionDataset
from mer_clip.datasets.annotation import AnnotationError, dump_annotations
from mer_clip.datasets.class_schemes import get_class_scheme
from mer_clip.datasets.composite import (build_megc2019_composite, namespace_record,
                                         namespaced_id, read_megc2019_list, relocate_paths)
from mer_clip.datasets.readers import ConversionReport, read_casme2, read_samm, read_smic_hs
from tests.conftest import SHARED_SHEETS, make_smic_hs

OFFICIAL = osp.join(SHARED_SHEETS, 'megc2019', 'combined_3_class_gt.csv')


def _rec(sid='sub01_EP02_01f', subject='sub01', emotion='happiness'):
    return dict(sample_id=sid, subject=subject, emotion=emotion, aus='12', au_list=[],
                onset=1, apex=2, offset=3, frame_dir=f'{subject}/EP02_01f',
                filename_tmpl='img{}.jpg')


def test_namespace_record():
    out = namespace_record(_rec(), 'casme2')
    assert (out['dataset'], out['subject'], out['sample_id']) == (
        'casme2', 'casme2_sub01', 'casme2_sub01_EP02_01f')
    assert (out['source_subject'], out['source_sample_id']) == ('sub01', 'sub01_EP02_01f')
    assert out['frame_dir'] == 'sub01/EP02_01f'  # paths untouched
    assert namespaced_id('samm', '006_1_2') == 'samm_006_1_2'
    with pytest.raises(ValueError, match='already namespaced'):
        namespace_record(out, 'casme2')
    with pytest.raises(ValueError, match='lower-case'):
        namespace_record(_rec(), 'CASME II')
    with pytest.raises(ValueError, match="of dataset 'samm'"):
        namespace_record(dict(_rec(), dataset='samm'), 'casme2')
    moved = relocate_paths(_rec(), '/data/casme2/frames', '/data/megc2019')
    assert moved['frame_dir'] == '../casme2/frames/sub01/EP02_01f'


def test_official_list_errors_name_rows(tmp_path):
    path = tmp_path / 'list.csv'
    path.write_text('data,subject,clip,label\ncasme2,sub01,EP02_01f,1\nsmik,s01,s01_ne_01,0\n'
                    'samm,6,006_1_2,3\n')
    with pytest.raises(AnnotationError) as e:
        read_megc2019_list(str(path))
    assert 'row 3: data' in str(e.value) and "row 4: label '3'" in str(e.value)
    path.write_text('dataset,clip\n')
    with pytest.raises(AnnotationError, match='data,subject,clip,label'):
        read_megc2019_list(str(path))


def test_smic_hs_folder_layout(tmp_path):
    """SMIC-HS fabricated to the release layout: 164 clips, 16 subjects, 70 / 51 / 43."""
    root = make_smic_hs(tmp_path / 'SMIC')
    report = ConversionReport()
    recs = read_smic_hs(root, report=report)
    assert len(recs) == 164 and len({r['subject'] for r in recs}) == 16
    assert collections.Counter(r['emotion'] for r in recs) == dict(negative=70, positive=51,
                                                                   surprise=43)
    r = next(r for r in recs if r['sample_id'] == 's01_ne_02')
    assert r['subject'] == 's01' and r['frame_dir'] == 'HS/s1/micro/negative/s1_ne_02'
    assert (r['onset'], r['apex'], r['offset'], r['total_frames']) == (1020, None, 1022, 3)
    assert r['filename_tmpl'].format(1020) == 'image1020.bmp'
    assert r['aus'] is None and r['au_list'] == []
    assert report.counts('warning') == {}
    assert report.counts('note') == {'folders_ignored': 1, 'ids_normalised': 1}


def test_smic_hs_label_and_frame_findings(tmp_path):
    root = make_smic_hs(tmp_path / 'SMIC', clips={1: (1, 1, 0)}, frames=4)
    import os
    import shutil
    micro = osp.join(root, 'HS', 's1', 'micro')
    shutil.move(osp.join(micro, 'positive', 's1_po_01'), osp.join(micro, 'negative', 's1_po_01'))
    os.remove(osp.join(micro, 'negative', 's1_ne_01', 'image1011.bmp'))
    report = ConversionReport()
    recs = read_smic_hs(osp.join(root, 'HS'), report=report)
    assert [r['emotion'] for r in recs] == ['negative', 'negative']  # the folder is the label
    assert report.counts('warning') == {'frames_missing': 1, 'label_mismatch': 1}
    with pytest.raises(AnnotationError, match='--strict'):
        read_smic_hs(root, strict=True)


@pytest.mark.skipif(not osp.isdir(SHARED_SHEETS), reason=f'real sheets absent: {SHARED_SHEETS}')
def test_megc2019_composite_from_real_sheets(tmp_path):
    """442 samples, 68 subjects (68 LOSO folds), 250 / 109 / 83; SMIC 164, CASME II 145, SAMM 133;
    the megc2019_3 scheme reproduces every official label."""
    smic = read_smic_hs(make_smic_hs(tmp_path / 'SMIC'))
    casme2 = read_casme2(osp.join(SHARED_SHEETS, 'casme2', 'CASME2-coding-20190701.xlsx'))
    samm = read_samm(osp.join(SHARED_SHEETS, 'samm', 'SAMM_Micro_FACS_Codes_v2.xlsx'))
    report = ConversionReport()
    recs = build_megc2019_composite(dict(smic=smic, casme2=casme2, samm=samm), OFFICIAL,
                                    report=report)
    assert len(recs) == 442 and len({r['subject'] for r in recs}) == 68
    assert collections.Counter(r['dataset'] for r in recs) == dict(smic=164, casme2=145, samm=133)
    assert report.counts('warning') == {}  # no label differs from the official list
    scheme = get_class_scheme('megc2019_3')
    with open(OFFICIAL) as f:
        official = list(csv.DictReader(f))
    for r, row in zip(recs, official):  # the composite keeps the list's order
        assert r['dataset'] == row['data'] and r['source_sample_id'].endswith(row['clip'])
        assert scheme.label_of(r['emotion'], r['dataset']) == int(row['label'])
    by_id = {r['sample_id']: r for r in recs}
    assert by_id['casme2_sub01_EP02_01f']['subject'] == 'casme2_sub01'
    assert by_id['samm_006_1_2']['source_subject'] == '006'
    smic_rec = by_id['smic_s01_ne_01']
    assert (smic_rec['subject'], smic_rec['aus'], smic_rec['au_list']) == ('smic_s01', None, [])
    assert report.counts('note') == {'not_in_official_list': 2}  # casme2 and samm leftovers

    ann = str(tmp_path / 'megc2019.json')
    dump_annotations(recs, ann, dict(dataset_name='megc2019'))
    ds = MicroExpressionDataset(ann, class_scheme='megc2019_3', test_mode=True)
    assert len(ds) == 442 and len(ds.subjects) == 68
    assert ds.class_counts() == dict(negative=250, positive=109, surprise=83)
    fold = MicroExpressionDataset(ann, class_scheme='megc2019_3', loso_subject='samm_006',
                                  split='test', test_mode=True)
    assert len(fold) == 11 and {fold.get_data_info(i)['dataset'] for i in range(11)} == {'samm'}

    # the scheme per dataset, on whole source annotations
    assert collections.Counter(scheme.class_of(r['emotion'], 'samm') for r in samm) == {
        'negative': 92, 'positive': 26, 'surprise': 15, None: 26}
    casme2_classes = collections.Counter(scheme.class_of(r['emotion'], 'casme2') for r in casme2)
    assert casme2_classes == {'negative': 90, 'positive': 32, 'surprise': 28, None: 105}

    missing = [r for r in casme2 if r['sample_id'] != 'sub01_EP02_01f']
    with pytest.raises(AnnotationError, match=r"(?s)1 sample\(s\) of the official list .*row 2: "
                                              r"casme2 sub01/EP02_01f"):
        build_megc2019_composite(dict(smic=smic, casme2=missing, samm=samm), OFFICIAL)
