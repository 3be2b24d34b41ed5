"""mer_clip.utils.reproducible: the reproducible CPU mode. Its pins reach every process of a run,
a process without them is refused (a tool restarts itself with them), and the demo's two folds
give the predictions of the golden file (``golden/reproducible_demo_folds.json``), whichever
processor runs them; on a mismatch the test names what differs from the file's machine.

The golden run is the smallest that shows the kernel paths' differences
(docs/reproducibility.md): the demo config on its folds s01 + s02, 3 epochs on 24 training clips
of each (9 steps; the full demo, 20 epochs on 84 clips, costs minutes). ``MER_CLIP_WRITE_GOLDEN=1`` writes the file anew instead.
"""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mer_clip.loso import LOSOExperiment
from mer_clip.utils import reproducible
from mer_clip.utils.reproducible import (ENV_PINS, MODE_ENV, ReproducibleModeError,
                                         pinned_environ, process_differences)
from tests.conftest import REPO_ROOT, SYNTHETIC_CONFIG, demo_data_options

GOLDEN = osp.join(osp.dirname(__file__), 'golden', 'reproducible_demo_folds.json')
DEMO_DATA = osp.join(REPO_ROOT, 'data', 'synthetic', 'annotations.json')
GOLDEN_SUBJECTS = ['s01', 's02']
GOLDEN_OPTIONS = ['train_cfg.max_epochs=3', 'train_dataloader.dataset.indices=24']
SCORE_TOLERANCE = 1e-6


def test_pinned_environ_holds_every_pin_and_the_mode():
    env = pinned_environ({'PATH': '/bin', 'ATEN_CPU_CAPABILITY': 'avx512'})
    assert env['PATH'] == '/bin' and env[MODE_ENV] == '1'
    assert {k: env[k] for k in ENV_PINS} == ENV_PINS
    # nothing missing from the environment (this process's ATen kernels were chosen before)
    assert [d for d in process_differences(env) if not d.startswith('ATen runs')] == []
    assert process_differences({})[:len(ENV_PINS)] == [
        f'{k}=(unset) instead of {v}' for k, v in ENV_PINS.items()]


def test_an_unpinned_process_is_refused_naming_the_pins():
    # this test process started without the pins: it must not compute in the mode
    with pytest.raises(ReproducibleModeError) as e:
        reproducible.require_pinned('the test')
    msg = str(e.value)
    assert 'not pinned' in msg and '--reproducible' in msg
    missing = [k for k, v in ENV_PINS.items() if os.environ.get(k) != v]
    assert missing and all(k in msg for k in missing)


def _load_module_alone():
    """The module's source as a script a bare Python can import (it imports only the stdlib)."""
    return osp.join(REPO_ROOT, 'projects', 'mer_clip', 'utils', 'reproducible.py')


def test_a_tool_restarts_itself_with_the_pins(tmp_path):
    # a stand-in tool: loads the module, asks for the mode, prints how it then computes
    script = tmp_path / 'tool.py'
    script.write_text(
        'import importlib.util, json, os, sys\n'
        f'spec = importlib.util.spec_from_file_location("r", {_load_module_alone()!r})\n'
        'r = importlib.util.module_from_spec(spec); spec.loader.exec_module(r)\n'
        'r.reexec_with_pins(sys.argv[1:], __file__)\n'
        'import torch\n'
        'print(json.dumps(dict(kernel=r.kernel_path(), argv=sys.argv[1:],'
        ' threads=torch.get_num_threads(),'
        ' det=torch.are_deterministic_algorithms_enabled(),'
        ' env={k: os.environ.get(k) for k in r.ENV_PINS})))\n')
    env = {k: v for k, v in os.environ.items() if k not in ENV_PINS and k != MODE_ENV}
    out = subprocess.run([sys.executable, str(script), 'a', '--b'], env=env, check=True,
                         capture_output=True, text=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got == dict(kernel='DEFAULT', argv=['a', '--b'], threads=1, det=True, env=ENV_PINS)


def test_a_tool_called_as_a_function_is_refused_not_restarted(tmp_path):
    sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
    try:
        spec = importlib.util.spec_from_file_location(
            'train_tool', osp.join(REPO_ROOT, 'tools', 'train.py'))
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
    finally:
        sys.path.pop(0)
    with pytest.raises(ReproducibleModeError, match='not pinned'):
        tool.run([SYNTHETIC_CONFIG, '--reproducible', '--work-dir', str(tmp_path)])


# ------------------------------------------------------------------------------- golden numbers
def _read_predictions(path):
    import csv
    with open(path, newline='') as f:
        return {r['sample_id']: dict(pred=r['pred_class'],
                                     scores=[float(v) for k, v in r.items()
                                             if k.startswith('score_')])
                for r in csv.DictReader(f)}


def _what_differs(golden, summary):
    """The recorded machine facts that differ between the golden file and this run."""
    out = []
    for key in ('mode', 'pins', 'kernel_paths', 'cpu_models', 'torch_threads',
                'deterministic_algorithms'):
        if golden['cpu'].get(key) != summary['cpu'].get(key):
            out.append(f'{key}: file {golden["cpu"].get(key)!r}, here {summary["cpu"].get(key)!r}')
    for name, version in golden['versions'].items():
        if summary['versions'].get(name) != version:
            out.append(f'{name} {version} in the file, {summary["versions"].get(name)} here')
    if golden['data_hash'] != summary['data_hash']:
        out.append('the data: data/synthetic is not the one the file was made from '
                   '(tools/data/make_synthetic.py of another version?)')
    return out


def test_the_demo_folds_give_the_golden_predictions(tmp_path, monkeypatch, demo_data_root):
    monkeypatch.chdir(REPO_ROOT)
    work = str(tmp_path / 'golden_run')
    options = GOLDEN_OPTIONS
    if demo_data_root != osp.dirname(DEMO_DATA):  # rendered for this session: same data elsewhere
        options = GOLDEN_OPTIONS + demo_data_options(demo_data_root)
    exp = LOSOExperiment(SYNTHETIC_CONFIG, work, cfg_options=options,
                         subjects=GOLDEN_SUBJECTS, device_groups=[None, None],
                         fold_mode='inprocess', reproducible=True,
                         progress_stream=open(tmp_path / 'progress.log', 'w'))
    summary = exp.run().to_json()
    with open(osp.join(work, 'loso_run.json')) as f:
        summary['data_hash'] = json.load(f)['data']['hash']
    got = _read_predictions(osp.join(work, 'predictions.csv'))
    record = dict(subjects=GOLDEN_SUBJECTS, cfg_options=GOLDEN_OPTIONS, cpu=summary['cpu'],
                  versions=summary['versions'], data_hash=summary['data_hash'],
                  pooled={k: summary['pooled'][k] for k in ('UF1', 'UAR', 'ACC')},
                  predictions=got)
    assert summary['cpu']['mode'] == 'reproducible'
    assert summary['cpu']['kernel_paths'] == [ENV_PINS['ATEN_CPU_CAPABILITY'].upper()]
    if os.environ.get('MER_CLIP_WRITE_GOLDEN') == '1':
        os.makedirs(osp.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, 'w') as f:
            json.dump(record, f, indent=1, sort_keys=True)
        pytest.skip(f'wrote {GOLDEN}')
    with open(GOLDEN) as f:
        golden = json.load(f)
    assert sorted(got) == sorted(golden['predictions'])
    labels = [s for s in got if got[s]['pred'] != golden['predictions'][s]['pred']]
    diff = max(abs(a - b) for s in got
               for a, b in zip(got[s]['scores'], golden['predictions'][s]['scores']))
    if labels or diff > SCORE_TOLERANCE:
        differs = _what_differs(golden, summary) or [
            'nothing recorded: same pins, kernel path and versions (a source the mode does not '
            'pin yet: docs/reproducibility.md)']
        pytest.fail(f'the reproducible mode gave other predictions than {GOLDEN}: '
                    f'{len(labels)} label(s) differ ({labels[:5]}), scores by up to {diff:.2e} '
                    f'(tolerance {SCORE_TOLERANCE}). This machine differs from the file\'s in: '
                    + '; '.join(differs))
