"""mer_clip.utils.jpeg_structure: the walk over a JPEG's segments and scans, each way it can end."""
import cv2
import numpy as np

from mer_clip.utils.jpeg_structure import jpeg_structure_problem, marker_name


def _jpeg(*params):
    img = np.random.default_rng(0).integers(0, 255, (40, 56, 3), dtype=np.uint8)
    return cv2.imencode('.jpg', img, list(params))[1].tobytes()


def _segments(data):
    """(marker code, byte offset) of the segments before the first scan's data."""
    out, i = [], 2
    while True:
        code = data[i + 1]
        out.append((code, i))
        if code == 0xDA:
            return out
        i += 2 + int.from_bytes(data[i + 2:i + 4], 'big')


def test_whole_file_and_its_padding():
    data = _jpeg()
    assert jpeg_structure_problem(data) is None
    assert jpeg_structure_problem(data + b'\x00' * 100 + b'\xff' * 3) is None
    problem = jpeg_structure_problem(data + b'\x00\x00ab')
    assert problem == (f'4 bytes after the EOI marker at byte {len(data) - 2} that are not padding '
                       '(0x00 / 0xFF): a damaged file, or data appended to the image')


def test_restart_markers_and_stuffed_bytes_do_not_end_the_scan():
    data = _jpeg(cv2.IMWRITE_JPEG_RST_INTERVAL, 1)
    sos = _segments(data)[-1][1]
    assert any(b'\xff' + bytes([c]) in data[sos:] for c in range(0xD0, 0xD8))
    assert jpeg_structure_problem(data) is None
    assert 'scan 1' in jpeg_structure_problem(data[:-2])  # EOI removed: the scan runs to the end
    rst = data.index(b'\xff\xd0', sos)  # fill bytes 0xFF before a restart marker or EOI
    filled = data[:rst] + b'\xff\xff' + data[rst:-2] + b'\xff\xff\xff\xd9'
    assert jpeg_structure_problem(filled) is None


def test_progressive_scans_are_each_walked():
    data = _jpeg(cv2.IMWRITE_JPEG_PROGRESSIVE, 1)
    assert jpeg_structure_problem(data) is None
    last_sos = data.rindex(b'\xff\xda')
    cut = data[:last_sos + 40]
    scans = data[:last_sos + 2].count(b'\xff\xda')  # this scan and those before
    assert jpeg_structure_problem(cut + b'\x00' * 50) == (
        f'the entropy-coded data of scan {scans} (from byte '
        f'{last_sos + 2 + int.from_bytes(data[last_sos + 2:last_sos + 4], "big")}) runs to the end '
        'of the file without an EOI marker (cut off); its last 50 bytes are zeros (padded after a '
        'cut?)')


def test_each_broken_structure_is_named():
    data = _jpeg()
    segs = dict((marker_name(c), at) for c, at in _segments(data))
    assert jpeg_structure_problem(b'\x89PNG') == 'no SOI marker at the start'
    dqt = segs['DQT']
    assert jpeg_structure_problem(data[:dqt + 10]) == (
        f'the DQT segment at byte {dqt} (67 bytes) runs past the end of the file (cut off)')
    assert jpeg_structure_problem(data[:dqt + 3]) == f'cut off in the DQT marker at byte {dqt}'
    assert jpeg_structure_problem(data[:dqt]) == (
        f'no EOI marker: the file ends at byte {dqt} between two segments (cut off)')
    assert jpeg_structure_problem(data[:dqt] + b'\x00' * 20) == (
        f'expected a marker at byte {dqt}, found 0x00; its last 20 bytes are zeros (padded after a '
        'cut?)')
    assert jpeg_structure_problem(data[:dqt] + b'\xff\xff') == (
        'no EOI marker: the file ends in fill bytes 0xFF (cut off)')
    assert jpeg_structure_problem(data[:dqt] + b'\xff\xd9') == (
        f'EOI at byte {dqt} before any scan (no image data)')
    assert jpeg_structure_problem(data[:dqt] + b'\xff\xd8') == f'a second SOI marker at byte {dqt}'
    assert jpeg_structure_problem(data[:dqt] + b'\xff\x20') == (
        f'0xFF20 at byte {dqt} is not a JPEG marker')
    sof, sos = segs['SOF0'], segs['SOS']
    no_frame = data[:sof] + data[segs['DHT']:]  # SOF0 removed
    assert jpeg_structure_problem(no_frame) == f'SOS at byte {sos - (segs["DHT"] - sof)} ' \
                                               'before any SOF (frame header)'
    assert jpeg_structure_problem(data[:dqt] + b'\xff\xff\xff' + data[dqt + 1:]) is None  # fill


def test_marker_names():
    assert [marker_name(c) for c in (0xC0, 0xC2, 0xC4, 0xD3, 0xDA, 0xDB, 0xE1, 0xFE, 0x20)] == \
        ['SOF0', 'SOF2', 'DHT', 'RST3', 'SOS', 'DQT', 'APP1', 'COM', '0x20']
