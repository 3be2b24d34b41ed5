"""SMIC-HS: the release's folder layout is the label (fabricated to the release layout)."""
import collections
import os.path as osp

import pytest

from mer_clip.datasets.annotation import AnnotationError
from mer_clip.datasets.readers import ConversionReport, read_smic_hs
from tests.conftest import make_smic_hs


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
