"""read_dfme on fixture label files of the three splits (csv and xlsx)."""
import pytest

from mer_clip.datasets.annotation import AnnotationError
from mer_clip.datasets.readers import read_dfme
from mer_clip.datasets.readers.dfme import split_of_file

HEADER = ['Subject', 'Filename', 'Onset', 'Apex', 'Offset', 'AU', 'Emotion']


def test_reads_splits_from_file_names(write_sheet):
    train = write_sheet('DFME_train_label.csv', [
        HEADER, ['sub0003', 'sub0003-03a-01', 0, 10, 20, '4+7', 'anger'],
        [8, 'sub0008-01h-01', 3, 9, 15, 'R12A', 'happiness']])
    test_a = write_sheet('DFME_testA_label.xlsx', [
        ['DFME test A labels'], [], HEADER,
        ['sub0100', 'sub0100-05sa-02', 5, None, 30, None, 'sadness']])
    recs = read_dfme(train, test_a)
    assert [(r['sample_id'], r['subject'], r['split']) for r in recs] == [
        ('sub0003-03a-01', 'sub0003', 'train'), ('sub0008-01h-01', 'sub0008', 'train'),
        ('sub0100-05sa-02', 'sub0100', 'test_a')]
    assert recs[1]['au_list'] == [{'au': 12, 'side': 'R', 'intensity': 'A'}]
    assert recs[2]['apex'] is None and recs[2]['au_list'] == []
    assert recs[0]['frame_dir'] == 'sub0003-03a-01'
    recs = read_dfme(train, splits=['test_b'], frame_dir_tmpl='{split}/{subject}/{filename}')
    assert recs[0]['frame_dir'] == 'test_b/sub0003/sub0003-03a-01'


@pytest.mark.parametrize('name, split', [('train_dfme.csv', 'train'), ('testA.xlsx', 'test_a'),
                                         ('DFME_test_B.csv', 'test_b'), ('test-a.csv', 'test_a')])
def test_split_of_file(name, split):
    assert split_of_file(name) == split


def test_unknown_split_and_bad_row(write_sheet):
    path = write_sheet('labels.csv', [HEADER, ['sub0003', 'x', 0, 1, 2, '4', 'anger']])
    with pytest.raises(AnnotationError, match='cannot tell the DFME split'):
        read_dfme(path)
    path = write_sheet('train.csv', [HEADER, ['sub0003', 'x', 0, 1, 2, '4', 'anger'],
                                     ['sub0003', 'y', 'five', 1, 2, '4', 'anger']])
    with pytest.raises(AnnotationError, match=r"train.csv, row 3, column C \('Onset'\): .*'five'"):
        read_dfme(path)
