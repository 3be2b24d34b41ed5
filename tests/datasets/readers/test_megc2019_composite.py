"""The MEGC2019 composite: the official list, and the composite built from the real sheets
(CASME II 2019, SAMM) and a fabricated SMIC-HS release layout."""
import collections
import csv
import os.path as osp

import pytest

from mer_clip.datasets import MicroExpressionDataset
from mer_clip.datasets.annotation import AnnotationError, dump_annotations
from mer_clip.datasets.class_schemes import get_class_scheme
from mer_clip.datasets.readers import ConversionReport, read_casme2, read_samm, read_smic_hs
from mer_clip.datasets.readers.megc2019_composite import (build_megc2019_composite,
                                                          read_megc2019_list)
from tests.conftest import SHARED_SHEETS, make_smic_hs

OFFICIAL = osp.join(SHARED_SHEETS, 'megc2019', 'combined_3_class_gt.csv')


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
