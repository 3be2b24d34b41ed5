"""Import a script of bench/ (not a package) as a module, for its tests."""
import importlib.util
import os.path as osp

from tests.conftest import REPO_ROOT

BENCH = osp.join(REPO_ROOT, 'bench')


def load_bench(name):
    """bench/<name>.py as a module."""
    spec = importlib.util.spec_from_file_location(f'bench_{name}', osp.join(BENCH, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
