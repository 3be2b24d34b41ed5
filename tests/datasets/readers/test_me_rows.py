"""mer_clip.datasets.readers.me_rows: the ME row policy (emotion check, apex markers, bad rows)."""
import pytest

from mer_clip.datasets.readers import ConversionReport, ReaderError
from mer_clip.datasets.readers.me_rows import (MAX_LISTED_ERRORS, check_emotion, settle_row_errors,
                                               to_apex)


def test_check_emotion_and_apex_markers():
    assert check_emotion(' Happiness', ('happiness', 'anger'), 'x') == 'Happiness'
    with pytest.raises(ReaderError, match=r"x: emotion 'Hapiness' is not an emotion of this "
                                          r"dataset \(anger, happiness\)"):
        check_emotion('Hapiness', ('happiness', 'anger'), 'x')
    assert [to_apex(v, 'x') for v in ('/', ' - ', None, float('nan'), 12.0)] == \
        [None, None, None, None, 12]


def test_bad_rows_are_listed_together_or_skipped_and_counted():
    errors = [(f'f.xlsx, row {i}', f'f.xlsx, row {i}: bad') for i in range(MAX_LISTED_ERRORS + 2)]
    with pytest.raises(ReaderError, match=r'(?s)f.xlsx: 42 row\(s\) cannot be converted:.*'
                                          r'row 39: bad\n  ... and 2 more\nFix them, or rerun '
                                          r'with --on-error skip'):
        settle_row_errors('f.xlsx', errors, ConversionReport(), 'raise', kept=3)
    report = ConversionReport(strict=True)  # the skip was asked for: not an error
    settle_row_errors('f.xlsx', errors[:2], report, 'skip', kept=3)
    assert report.counts('warning') == {'row_skipped': 2} and report.strict
