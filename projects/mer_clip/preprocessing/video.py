"""Micro-expressions in video files: one canonical record per ME (0-based frame indices), aligned
like a release's clips.

``tools/data/prepare_dataset.py video`` takes one file (:func:`video_record`) or a CSV list of them
(:func:`read_video_list`), whose records go through :func:`~.prepare.prepare_records` like a
release's; :func:`prepare_video` aligns one ME into a folder of its own.
"""
import csv
import os.path as osp
from typing import List, Optional

from mer_clip.au.codes import parse_au_string
from mer_clip.datasets.annotation import au_list_to_json

from .clip_cache import write_clip_cache
from .frames import OUT_TMPL, VideoSource
from .prepare import PrepareConfig, prepare_clip, read_clip_meta


def video_record(video_path: str, onset: int, apex: Optional[int], offset: int, *,
                 sample_id: Optional[str] = None, subject: str = 'video', emotion: str = 'unknown',
                 aus: str = '') -> dict:
    """A canonical record for one ME in a video file (onset/apex/offset: 0-based frame indices)."""
    au_list = au_list_to_json(parse_au_string(aus)) if aus else []
    return dict(sample_id=sample_id or osp.splitext(osp.basename(video_path))[0],
                subject=str(subject), video=video_path, onset=int(onset),
                apex=None if apex is None else int(apex), offset=int(offset), emotion=emotion,
                aus=aus, au_list=au_list)


def prepare_video(video_path: str, onset: int, apex: Optional[int], offset: int, out_dir: str, *,
                  cfg: Optional[PrepareConfig] = None, cache: bool = False, clip_len: int = 16,
                  cache_short_side: Optional[int] = None, sample_id: Optional[str] = None,
                  subject: str = 'video',
                  emotion: str = 'unknown', aus: str = '') -> dict:
    """Align one ME of a video file (decord) into ``out_dir`` -> its canonical record.

    Frame indices are 0-based (``onset=0`` is the first frame) and become the file numbers:
    ``out_dir/img_{:05d}.jpg``. The record's ``frame_dir`` is ``out_dir`` (absolute).
    """
    cfg = cfg or PrepareConfig()
    rec = video_record(video_path, onset, apex, offset, sample_id=sample_id, subject=subject,
                       emotion=emotion, aus=aus)
    meta = read_clip_meta(out_dir)
    if meta is None:
        meta = prepare_clip(lambda: VideoSource(video_path), rec, out_dir, cfg)
    rec.pop('video')
    rec.update(frame_dir=osp.abspath(out_dir), filename_tmpl=OUT_TMPL,
               face_align=meta['face_align'])
    if cache:
        rec['clip_cache'] = osp.abspath(write_clip_cache(out_dir, rec, clip_len, cache_short_side))
    return rec


def read_video_list(csv_path: str) -> List[dict]:
    """Records from a CSV with columns video,onset,apex,offset[,subject,sample_id,emotion,aus].

    ``video`` is relative to the CSV's folder (or absolute); an empty apex means unknown.
    """
    base = osp.dirname(osp.abspath(csv_path))
    out = []
    with open(csv_path, newline='') as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                video = row['video'] if osp.isabs(row['video']) else osp.join(base, row['video'])
                apex = row.get('apex') or None
                out.append(video_record(
                    video, int(row['onset']), None if apex is None else int(apex),
                    int(row['offset']), sample_id=row.get('sample_id') or None,
                    subject=row.get('subject') or 'video', emotion=row.get('emotion') or 'unknown',
                    aus=row.get('aus') or ''))
            except (KeyError, ValueError) as e:
                raise ValueError(f'{csv_path}, line {line}: {e!r}; columns must be video,onset,'
                                 'apex,offset[,subject,sample_id,emotion,aus]') from e
    return out
