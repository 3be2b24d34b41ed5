"""prepare_dataset end to end on fabricated releases (real folder/file naming, sheets made here)."""
import json
import os
import os.path as osp
import runpy

import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip('skimage.data')
openpyxl = pytest.importorskip('openpyxl')
pytest.importorskip('dlib')

from mer_clip.datasets.annotation import load_annotations  # noqa: E402
from mer_clip.preprocessing.prepare import (PrepareConfig, PrepareError,  # noqa: E402
                                            prepare_dataset)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = 64  # output size of the tests (the default is 224)


# ------------------------------------------------------------------------------------------------
# fabricated releases
# ------------------------------------------------------------------------------------------------
def face_frame(k: int, blank: bool = False) -> np.ndarray:
    """A 128x112 RGB frame with the astronaut's face (~45 px) that moves 1 px every other frame."""
    canvas = np.full((112, 128, 3), 90, np.uint8)
    if not blank:
        face = cv2.resize(skimage_data.astronaut()[40:240, 130:330], (96, 96),
                          interpolation=cv2.INTER_AREA)
        x0 = 16 + k % 2
        canvas[8:104, x0:x0 + 96] = face
    return canvas


def write_frames(folder, tmpl, numbers, blank=()):
    os.makedirs(folder, exist_ok=True)
    for n in numbers:
        cv2.imwrite(osp.join(folder, tmpl.format(n)),
                    cv2.cvtColor(face_frame(n, n in blank), cv2.COLOR_RGB2BGR))


def write_xlsx(path, header, rows, notes=()):
    wb = openpyxl.Workbook()
    ws = wb.active
    for line in notes:  # release sheets keep notes above the table
        ws.append([line])
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    wb.save(path)


def fab_samm(raw, blank=None):
    """SAMM/<subject>/<filename>/<subject>_<frame:05d>.jpg + SAMM_Micro_FACS_Codes_v2.xlsx."""
    blank = blank or {}
    clips = [  # subject, filename, frames, onset, apex, offset, AUs, emotion
        (6, '006_1_2', range(100, 110), 101, 104, 107, 'R12+4', 'Anger'),
        (6, '006_1_3', range(200, 209), 200, 203, 208, '12', 'Happiness'),
        (7, '007_6_1', range(50, 58), 51, 53, 56, '4', 'Other'),
    ]
    for subj, fn, frames, *_ in clips:
        write_frames(osp.join(raw, 'SAMM', f'{subj:03d}', fn), f'{subj:03d}_{{:05d}}.jpg', frames,
                     blank.get(fn, ()))
    write_xlsx(osp.join(raw, 'SAMM_Micro_FACS_Codes_v2.xlsx'),
               ['Subject', 'Filename', 'Inducement Code', 'Onset Frame', 'Apex Frame',
                'Offset Frame', 'Duration', 'Type', 'Action Units', 'Estimated Emotion',
                'Objective Classes', 'Notes'],
               [(f'{s:03d}', fn, 1, on, ap, off, off - on + 1, 'Micro - 1/2', au, emo, 1, None)
                for s, fn, _, on, ap, off, au, emo in clips],
               notes=['SAMM Micro-Movement FACS Codes', 'fabricated for tests', None])
    return {fn: dict(frames=list(fr), onset=on, offset=off)
            for _, fn, fr, on, _, off, _, _ in clips}


def fab_casme2(raw):
    """CASME2-RAW/sub01/EP02_01f/img46.jpg + CASME2-coding-20140508.xlsx (apex '/' in one row)."""
    clips = [(1, 'EP02_01f', range(40, 50), 41, 44, 48, '12', 'happiness'),
             (2, 'EP03_02', range(10, 18), 10, '/', 16, '4', 'others')]
    for subj, fn, frames, *_ in clips:
        write_frames(osp.join(raw, 'CASME2-RAW', f'sub{subj:02d}', fn), 'img{}.jpg', frames)
    write_xlsx(osp.join(raw, 'CASME2-coding-20140508.xlsx'),
               ['Subject', 'Filename', 'Unnamed: 2', 'OnsetFrame', 'ApexFrame', 'OffsetFrame',
                'Unnamed: 6', 'Action Units', 'Estimated Emotion'],
               [(s, fn, None, on, ap, off, None, au, emo)
                for s, fn, _, on, ap, off, au, emo in clips])
    return {f'sub{s:02d}_{fn}': dict(frames=list(fr), onset=on, offset=off)
            for s, fn, fr, on, _, off, _, _ in clips}


def fab_casme3(raw):
    """part_A/spNO.1/a/color/<n>.jpg: one recording folder holds two MEs."""
    write_frames(osp.join(raw, 'part_A', 'spNO.1', 'a', 'color'), '{}.jpg', range(0, 36))
    write_frames(osp.join(raw, 'part_A', 'spNO.2', 'b', 'color'), '{}.jpg', range(0, 14))
    rows = [('spNO.1', 'a', 5, 8, 12, '4', 1, 'disgust'),
            ('spNO.1', 'a', 20, 24, 30, 'L12', 2, 'happy'),
            ('spNO.2', 'b', 3, 6, 10, '1+2', 3, 'surprise')]
    write_xlsx(osp.join(raw, 'CAS(ME)3_part_A_ME_label_JpgIndex_v2.xlsx'),
               ['Subject', 'Filename', 'Onset', 'Apex', 'Offset', 'AU', 'Objective class',
                'emotion'], rows)
    return {f'spNO.{int(s[5:]):03d}_{fn}_{on:04d}': dict(frames=list(range(on, off + 1)),
                                                         onset=on, offset=off)
            for s, fn, on, _, off, _, _, _ in rows}


def fab_dfme(raw):
    """DFME/<sample>/<n>.jpg and one label CSV per split (train, test A)."""
    clips = {'train': [('8', 'sub0008-01h-01-happiness', 2, 5, 9, 'AU12', 'happiness')],
             'testA': [('9', 'sub0009-03a-01-anger', 0, 3, 6, 'AU4', 'anger')]}
    out = {}
    os.makedirs(raw, exist_ok=True)
    for split, rows in clips.items():
        with open(osp.join(raw, f'dfme_{split}_label.csv'), 'w') as f:
            f.write('Subject,Filename,Onset,Apex,Offset,AU,Emotion\n')
            for s, fn, on, ap, off, au, emo in rows:
                f.write(f'{s},{fn},{on},{ap},{off},{au},{emo}\n')
                write_frames(osp.join(raw, 'DFME', fn), '{}.jpg', range(0, off + 3))
                out[fn] = dict(frames=list(range(0, off + 3)), onset=on, offset=off)
    return out


def fab_smic(raw):
    """SMIC-HS: HS/s1/micro/<emotion>/s1_ne_01/image<n>.bmp, no sheet (the layout is the label)."""
    from tests.conftest import make_smic_hs

    def write(path):
        n = int(osp.basename(path)[5:-4])
        cv2.imwrite(path, cv2.cvtColor(face_frame(n), cv2.COLOR_RGB2BGR))

    make_smic_hs(raw, clips={1: (1, 1, 0)}, frames=4, write_frame=write)
    return {'s01_ne_01': dict(frames=list(range(1010, 1014)), onset=1010, offset=1013),
            's01_po_01': dict(frames=list(range(1010, 1014)), onset=1010, offset=1013)}


FABRICATE = dict(samm=fab_samm, casme2=fab_casme2, casme3=fab_casme3, dfme=fab_dfme,
                 smic=fab_smic)


def _mtimes(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            out[osp.join(d, f)] = os.stat(osp.join(d, f)).st_mtime_ns
    return out


# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('dataset', sorted(FABRICATE))
def test_release_prepares_end_to_end(tmp_path, dataset):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    expect = FABRICATE[dataset](raw)
    summary = prepare_dataset(dataset, raw, out, cfg=PrepareConfig(size=SIZE), cache=True,
                              clip_len=8, progress=False)
    assert summary['counts'] == dict(done=len(expect), resumed=0, skipped=0, no_face=0)
    meta, records = load_annotations(osp.join(out, 'annotations.json'))
    assert meta['dataset_name'] == dataset and meta['prepared']['cache'] is True
    assert sorted(r['sample_id'] for r in records) == sorted(expect)
    for rec in records:
        exp = expect[rec['sample_id']]
        assert rec['frame_dir'] == f'{rec["subject"]}/{rec["sample_id"]}'
        assert rec['filename_tmpl'] == 'img_{:05d}.jpg'
        assert (rec['onset'], rec['offset']) == (exp['onset'], exp['offset'])
        assert rec['face_align']['method'] == 'landmarks'
        assert rec['face_align']['ref_frame'] == rec['onset']
        clip_dir = osp.join(out, 'frames', rec['frame_dir'])
        written = sorted(f for f in os.listdir(clip_dir) if f.endswith('.jpg'))
        # CAS(ME)^3 folders are whole recordings: only onset..offset by default
        assert written == [f'img_{n:05d}.jpg' for n in exp['frames']]
        img = cv2.imread(osp.join(clip_dir, written[0]))
        assert img.shape == (SIZE, SIZE, 3)
        cache = np.load(osp.join(out, 'frames', rec['clip_cache']))
        assert cache.shape == (8, SIZE, SIZE, 3) and cache.dtype == np.uint8
    if dataset == 'dfme':
        assert {r['split'] for r in records} == {'train', 'test_a'}
    if dataset == 'casme2':
        assert [r['apex'] for r in records if r['subject'] == 'sub02'] == [None]
        assert summary['conversion']['notes'] == {'apex_not_annotated': 1, 'casme2_revision': 1}
        assert osp.isfile(osp.join(out, 'annotations.conversion.md'))
    if dataset == 'smic':
        assert {r['subject'] for r in records} == {'s01'} and records[0]['au_list'] == []


def test_aligned_face_sits_on_the_template(tmp_path):
    """The written frames are aligned: landmarks found again on them sit on the template eyes."""
    from mer_clip.preprocessing.face_align import FaceAligner
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    fab_samm(raw)
    prepare_dataset('samm', raw, out, cfg=PrepareConfig(size=160), progress=False)
    al = FaceAligner(size=160)
    img = cv2.imread(osp.join(out, 'frames', '006', '006_1_2', 'img_00101.jpg'))[..., ::-1]
    eyes = al.eye_centres(al.detect_landmarks(np.ascontiguousarray(img)))
    assert np.abs(eyes - al.template_eyes()).max() < 4.0


def test_cli_multiprocess_and_resume(tmp_path, capsys):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    fab_samm(raw)
    script = osp.join(REPO, 'tools', 'data', 'prepare_dataset.py')
    argv = ['samm', raw, out, '--size', str(SIZE), '--workers', '2', '--cache', '--clip-len', '8',
            '--no-progress']
    main = runpy.run_path(script)['main']
    assert main(argv) == 0
    assert '3 prepared, 0 already done, 0 skipped' in capsys.readouterr().out
    before = _mtimes(osp.join(out, 'frames'))
    assert len(before) == 10 + 9 + 8 + 3 * 2  # frames + clip.json + cache per clip

    # resume: nothing rewritten
    assert main(argv) == 0
    assert '0 prepared, 3 already done' in capsys.readouterr().out
    assert _mtimes(osp.join(out, 'frames')) == before

    # an interrupted clip (its temp folder left behind, final folder absent) is redone, alone
    import shutil
    shutil.move(osp.join(out, 'frames', '007', '007_6_1'), osp.join(out, 'frames', '007',
                                                                      '.tmp_007_6_1_999'))
    assert main(argv) == 0
    assert '1 prepared, 2 already done' in capsys.readouterr().out
    after = _mtimes(osp.join(out, 'frames'))
    assert not any('.tmp' in k for k in after)  # the stale temp folder is gone
    assert {k: v for k, v in after.items() if '007_6_1' not in k} == \
        {k: v for k, v in before.items() if '007_6_1' not in k}
    assert sorted(k for k in after if '007_6_1' in k) == sorted(k for k in before
                                                                if '007_6_1' in k)
    log = json.load(open(osp.join(out, 'prepare_log.json')))
    assert log['counts']['resumed'] == 2 and log['workers'] == 2

    # other settings on the same OUT_ROOT: refused, naming the setting
    assert main(argv[:3] + ['--size', '96', '--no-progress']) == 2
    err = capsys.readouterr().err
    assert 'other settings' in err and "'size': (64, 96)" in err


def test_no_face_follows_the_documented_fallback(tmp_path, capsys):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    # 006_1_2: no face on the onset (101) and the next frame -> landmarks of 103;
    # 006_1_3: no face at all -> centre crop, recorded
    fab_samm(raw, blank={'006_1_2': {101, 102}, '006_1_3': set(range(200, 209))})
    cfg = PrepareConfig(size=SIZE, search_frames=4, detector_stages=['hog'])
    summary = prepare_dataset('samm', raw, out, cfg=cfg, progress=False)
    _, records = load_annotations(osp.join(out, 'annotations.json'))
    by_id = {r['sample_id']: r for r in records}
    assert by_id['006_1_2']['face_align']['method'] == 'landmarks'
    assert by_id['006_1_2']['face_align']['ref_frame'] == 103
    assert by_id['006_1_2']['face_align']['tried'] == [101, 102, 103]
    fb = by_id['006_1_3']['face_align']
    assert fb['method'] == 'center_crop' and fb['tried'] == [200, 201, 202, 203, 204]
    assert summary['counts']['no_face'] == 1
    log = json.load(open(osp.join(out, 'prepare_log.json')))
    assert [c['sample_id'] for c in log['no_face']] == ['006_1_3']
    # how each clip was aligned: per clip, and counted per stage
    a = log['alignment']
    assert a['stages']['hog'] == 2 and a['stages']['center_crop'] == 1 and a['other_frame'] == 1
    assert a['center_crop_clips'] == ['006_1_3']
    clips = {c['sample_id']: c for c in log['clips']}
    assert (clips['006_1_2']['stage'], clips['006_1_2']['frame']) == ('hog', 103)
    assert clips['006_1_3']['method'] == 'center_crop' and clips['006_1_3']['tried'] == 5
    # check_dataset.py says the same; --strict makes the centre crop an error
    import runpy
    check = runpy.run_path(osp.join(osp.dirname(__file__), '..', '..', 'tools', 'data',
                                    'check_dataset.py'))['main']
    assert check([osp.join(out, 'annotations.json'), '--no-progress']) == 0
    assert check([osp.join(out, 'annotations.json'), '--no-progress', '--strict']) == 1
    printed = capsys.readouterr().out
    assert 'face found by: hog 2' in printed and 'center_crop 1' in printed
    assert 'no face (centre crop, not aligned): 006_1_3' in printed
    with pytest.raises(PrepareError, match='no face in clip 006_1_3.*strict'):
        prepare_dataset('samm', raw, str(tmp_path / 'strict'), cfg=cfg, strict=True,
                        progress=False)
    # the centre crop of a 128x112 frame: the centred 112x112 window, scaled to SIZE
    img = cv2.imread(osp.join(out, 'frames', '006', '006_1_3', 'img_00200.jpg'))
    assert img.shape == (SIZE, SIZE, 3)


def test_missing_frame_is_a_logged_skip_or_strict_error(tmp_path):
    raw, out = str(tmp_path / 'raw'), str(tmp_path / 'out')
    fab_samm(raw)
    missing = osp.join(raw, 'SAMM', '006', '006_1_3', '006_00205.jpg')
    os.remove(missing)
    with open(osp.join(raw, 'SAMM', '007', '007_6_1', '007_00053.jpg'), 'wb') as f:
        f.write(b'not a jpeg')  # unreadable image
    summary = prepare_dataset('samm', raw, out, cfg=PrepareConfig(size=SIZE), progress=False)
    assert summary['counts']['skipped'] == 2 and summary['counts']['done'] == 1
    reasons = {s['sample_id']: s['reason'] for s in summary['skipped']}
    assert missing in reasons['006_1_3']
    assert '007_00053.jpg' in reasons['007_6_1']
    _, records = load_annotations(osp.join(out, 'annotations.json'))
    assert [r['sample_id'] for r in records] == ['006_1_2']
    with pytest.raises(PrepareError, match='006_00205.jpg'):
        prepare_dataset('samm', raw, str(tmp_path / 'strict'), cfg=PrepareConfig(size=SIZE),
                        strict=True, progress=False)
