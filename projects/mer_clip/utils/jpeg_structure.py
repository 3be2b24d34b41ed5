"""The marker structure of a JPEG file: its last scan ends in EOI, with only padding after it.

Why: a frame cut off by an interrupted copy and then padded with zeros to its size decodes without
an error and mostly without a warning, in OpenCV and in Pillow (libjpeg reads the zeros as valid
Huffman codes; the rows past the cut come out 25-46 grey levels off).
:func:`jpeg_structure_problem` walks the file as a decoder does: SOI, then each marker segment by
its length (APPn, DQT, SOFn, DHT, DRI, COM, ...); after each SOS, its entropy-coded data up to the
next marker that is neither a stuffed byte (``FF00``) nor a restart marker (``FFD0`` to ``FFD7``).
That marker must start another segment or be EOI; the file must reach EOI.

After EOI only padding is allowed: nothing, or bytes ``00`` / ``FF``. Measured: the 442 JPEGs of
the MEGC2019 composite (HTNet's aligned apex frames) and the frames that OpenCV's libjpeg writes
(the synthetic renderer, ``prepare_dataset.py``) all end exactly at EOI; some cameras pad a file
with zeros or ``FF``, which cannot hide a cut (the EOI before them closes complete entropy data).
Any other bytes after EOI are refused: bytes after a cut can form an EOI by chance, and data that
another program appends (a second image of an MPF file, a vendor trailer) is no frame of ours.
"""
from typing import Optional

_SOI, _EOI, _SOS, _TEM = 0xD8, 0xD9, 0xDA, 0x01
_RST = range(0xD0, 0xD8)
_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG and DAC share the range
_NAMES = {0xC4: 'DHT', 0xC8: 'JPG', 0xCC: 'DAC', 0xD8: 'SOI', 0xD9: 'EOI', 0xDA: 'SOS',
          0xDB: 'DQT', 0xDC: 'DNL', 0xDD: 'DRI', 0xDE: 'DHP', 0xDF: 'EXP', 0xFE: 'COM',
          0x01: 'TEM'}
_PADDING = b'\x00\xff'


def marker_name(code: int) -> str:
    """``'SOF0'``, ``'APP1'``, ``'DHT'``, ... for the byte after ``0xFF``."""
    if code in _NAMES:
        return _NAMES[code]
    if code in _SOF:
        return f'SOF{code - 0xC0}'
    if code in _RST:
        return f'RST{code - 0xD0}'
    if 0xE0 <= code <= 0xEF:
        return f'APP{code - 0xE0}'
    return f'0x{code:02X}'


def _end_of_entropy_data(data: bytes, i: int) -> Optional[int]:
    """Where the marker that ends the entropy-coded data from byte ``i`` starts (0xFF, then a byte
    that is neither 0x00, a stuffed 0xFF, nor RST0-7, a restart marker inside the data; fill bytes
    0xFF skipped), or None when the data runs to the end of the file. ``bytes.find`` (memchr)
    jumps between the few 0xFF bytes: a regular expression is 5-40 times slower here."""
    n, find = len(data), data.find
    i = find(b'\xff', i)
    while i != -1 and i + 1 < n:
        code = data[i + 1]
        if code == 0x00 or 0xD0 <= code <= 0xD7:
            i = find(b'\xff', i + 2)
        elif code == 0xFF:
            i += 1
        else:
            return i
    return None


def _zeros_at_end(data: bytes) -> str:
    n = len(data) - len(data.rstrip(b'\x00'))
    return f'; its last {n} bytes are zeros (padded after a cut?)' if n >= 16 else ''


def jpeg_structure_problem(data: bytes) -> Optional[str]:
    """What is wrong with the marker structure of the JPEG ``data``, or None when it is whole.

    None means: SOI, segments whose lengths fit the file, at least one SOF and SOS, every scan's
    entropy-coded data ended by a marker, EOI, then nothing but ``00`` / ``FF`` padding (module
    docstring: why). It does not decode the data: a decoder's warnings are checked separately.
    """
    n = len(data)
    if not data.startswith(b'\xff\xd8'):
        return 'no SOI marker at the start'
    i, frames, scans = 2, 0, 0
    while True:
        if i >= n:
            return (f'no EOI marker: the file ends at byte {n} between two segments '
                    f'(cut off){_zeros_at_end(data)}')
        if data[i] != 0xFF:
            return f'expected a marker at byte {i}, found 0x{data[i]:02X}{_zeros_at_end(data)}'
        while i < n and data[i] == 0xFF:  # fill bytes may precede a marker
            i += 1
        if i >= n:
            return 'no EOI marker: the file ends in fill bytes 0xFF (cut off)'
        code, at = data[i], i - 1
        i += 1
        if code == _EOI:
            if not scans:
                return f'EOI at byte {at} before any scan (no image data)'
            tail = data[i:]
            if tail.strip(_PADDING):
                return (f'{len(tail)} bytes after the EOI marker at byte {at} that are not '
                        f'padding (0x00 / 0xFF): a damaged file, or data appended to the image')
            return None
        if code == _SOI:
            return f'a second SOI marker at byte {at}'
        if code == _TEM or code in _RST:
            continue  # markers without a segment
        if code < 0xC0:
            return f'0xFF{code:02X} at byte {at} is not a JPEG marker{_zeros_at_end(data)}'
        if i + 2 > n:
            return f'cut off in the {marker_name(code)} marker at byte {at}'
        length = int.from_bytes(data[i:i + 2], 'big')
        if length < 2 or i + length > n:
            return (f'the {marker_name(code)} segment at byte {at} ({length} bytes) runs past the '
                    f'end of the file (cut off)')
        i += length
        frames += code in _SOF
        if code != _SOS:
            continue
        if not frames:
            return f'SOS at byte {at} before any SOF (frame header)'
        scans += 1
        end = _end_of_entropy_data(data, i)
        if end is None:
            return (f'the entropy-coded data of scan {scans} (from byte {i}) runs to the end of '
                    f'the file without an EOI marker (cut off){_zeros_at_end(data)}')
        i = end


__all__ = ['jpeg_structure_problem', 'marker_name']
