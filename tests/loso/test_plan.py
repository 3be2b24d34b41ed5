"""mer_clip.loso.plan: the experiment's identity (loso_run.json, config.py) is written atomically,
and a damaged or unwritable one is named with what to do."""
import json
import os
import os.path as osp

import pytest

from mer_clip.loso.plan import RUN_FILE, LOSOPlan, RunStateMismatch
from mer_clip.utils.atomic_write import FileWriteError
from tests.conftest import SYNTHETIC_CONFIG


def _plan(work_dir, synthetic_root, data_options):
    plan = LOSOPlan(SYNTHETIC_CONFIG, str(work_dir), cfg_options=data_options(synthetic_root))
    plan.plan()
    return plan


def test_a_cut_off_run_file_is_named(synthetic_root, tmp_path, in_repo, data_options):
    plan = _plan(tmp_path / 'run', synthetic_root, data_options)
    plan.prepare_work_dir()
    path = tmp_path / 'run' / RUN_FILE
    assert plan.recorded_run_state()['config_hash'] == plan.config_hash
    for damaged in (b'', path.read_bytes()[:40], b'[1, 2]', b'\xff\xfe'):
        path.write_bytes(damaged)  # was: "Expecting value: line 1 column 1 (char 0)", no file
        with pytest.raises(RunStateMismatch) as e:
            plan.prepare_work_dir()
        msg = str(e.value)
        assert msg.startswith(f'{path}: cannot be read (') and 'delete it' in msg
    os.remove(path)
    plan.prepare_work_dir()  # as the message says: written anew
    assert plan.recorded_run_state() is not None


def test_the_run_file_is_written_whole_or_not_at_all(synthetic_root, tmp_path, in_repo,
                                                     data_options, file_size_limit):
    plan = _plan(tmp_path / 'run', synthetic_root, data_options)
    os.makedirs(tmp_path / 'run')
    with file_size_limit(64):  # was: "[Errno 27] File too large", and a cut-off loso_run.json
        with pytest.raises(FileWriteError) as e:
            plan.prepare_work_dir()
    assert str(e.value).startswith(f'{tmp_path / "run"}{os.sep}') and 'File too large' in \
        str(e.value) and 'ulimit -f' in str(e.value)
    assert os.listdir(tmp_path / 'run') == []  # nothing a later run would misread
    plan.prepare_work_dir()
    assert sorted(os.listdir(tmp_path / 'run')) == ['config.py', RUN_FILE]


def test_a_resume_in_the_other_mode_is_refused_in_one_line(synthetic_root, tmp_path, in_repo,
                                                         data_options):
    work = str(tmp_path / 'run')
    opts = data_options(synthetic_root)
    first = LOSOPlan(SYNTHETIC_CONFIG, work, cfg_options=opts, reproducible=True)
    first.plan()
    first.prepare_work_dir()
    assert first.jobs[0].reproducible
    other = LOSOPlan(SYNTHETIC_CONFIG, work, cfg_options=opts)  # the default mode
    with pytest.raises(RunStateMismatch) as e:
        other.prepare_work_dir()
    msg = str(e.value)  # was: resumed, and the report mixed folds of two modes
    assert '\n' not in msg and "cpu_mode was {'mode': 'reproducible'" in msg and \
        "now {'mode': 'default'}" in msg and '--reproducible' in msg
    # other pins (a newer mer_clip pinning differently) are refused too
    with open(osp.join(work, 'loso_run.json')) as f:
        state = json.load(f)
    state['cpu_mode']['pins']['env']['ATEN_CPU_CAPABILITY'] = 'avx2'
    with open(osp.join(work, 'loso_run.json'), 'w') as f:
        json.dump(state, f)
    with pytest.raises(RunStateMismatch, match="'avx2'"):
        first.prepare_work_dir()
