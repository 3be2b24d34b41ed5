"""mer_clip.utils.reproducible: the reproducible CPU mode. Its pins reach every process of a run,
and a process without them is refused (a tool restarts itself with them)."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mer_clip.utils import reproducible
from mer_clip.utils.reproducible import (ENV_PINS, MODE_ENV, ReproducibleModeError,
                                         pinned_environ, process_differences)
from tests.conftest import REPO_ROOT, SYNTHETIC_CONFIG


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
