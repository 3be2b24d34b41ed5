"""WeightLoadReport: one run-log line per weight load, every missing / unused tensor, sha256."""
import hashlib
import itertools
import os
import re

from mer_clip.models.weight_load_report import WeightLoadReport, compact_names, file_sha256
from tests.conftest import captured_log


def _expand(text: str) -> set:
    """The names a compact_names() listing stands for."""
    names = set()
    for entry in text.split(', '):
        parts = []
        for part in entry.split('.'):
            if part.startswith('{'):
                values = []
                for r in part[1:-1].split(','):
                    a, _, b = r.partition('-')
                    values += [str(v) for v in range(int(a), int(b or a) + 1)]
                parts.append(values)
            else:
                parts.append([part])
        names |= {'.'.join(p) for p in itertools.product(*parts)}
    return names


def test_compact_names_lists_every_name_exactly():
    names = [f'transformer.resblocks.{i}.ln_1.weight' for i in range(12)]
    names += [f'transformer.dec.{i}.attn.in_proj_weight' for i in (0, 1, 2, 5)]
    names += [f'transformer.resblocks.{i}.lmhra1.pos_embed.{j}.weight'
              for i in range(3) for j in (1, 3)]
    names += ['transformer.resblocks.7.lmhra1.pos_embed.1.weight', 'temp', 'ln_post.bias']
    text = compact_names(names)
    assert 'transformer.resblocks.{0-11}.ln_1.weight' in text
    assert 'transformer.dec.{0-2,5}.attn.in_proj_weight' in text
    assert 'transformer.resblocks.{0-2}.lmhra1.pos_embed.{1,3}.weight' in text
    assert 'transformer.resblocks.7.lmhra1.pos_embed.1.weight' in text  # not folded into 0-2
    assert _expand(text) == set(names)
    assert compact_names([]) == 'none'


def test_sha256_is_cached_by_path_size_and_mtime(tmp_path):
    path = tmp_path / 'w.pth'
    path.write_bytes(b'a' * 1000)
    first = file_sha256(str(path))
    assert first == hashlib.sha256(b'a' * 1000).hexdigest()
    st = os.stat(path)
    path.write_bytes(b'b' * 1000)  # same size; the old mtime put back: the cached digest
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert file_sha256(str(path)) == first
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a new mtime: read again
    assert file_sha256(str(path)) == hashlib.sha256(b'b' * 1000).hexdigest()


def test_one_line_in_the_run_log(tmp_path):
    path = tmp_path / 'w.pth'
    path.write_bytes(b'weights')
    report = WeightLoadReport('Thing', str(path), total=5, loaded=['a', 'b', 'c'],
                              missing=['d.0.w', 'd.1.w'], unused=['x'], notes=['prefix ""'])
    with captured_log() as records:
        line = report.log()
    assert [r.getMessage() for r in records] == [line] and records[0].levelname == 'INFO'
    assert '\n' not in line
    sha = hashlib.sha256(b'weights').hexdigest()[:16]
    assert re.fullmatch(rf'Thing: loaded 3/5 tensors from {re.escape(str(path))} \(sha256 {sha}\); '
                        r'left at init 2: d\.\{0-1\}\.w; unused in the file 1: x; prefix ""', line)
