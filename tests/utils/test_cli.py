"""mer_clip.utils.cli: a user error is one clear line; --debug adds the traceback."""
import pytest

from mer_clip.utils.cli import run_tool


def _main(argv):
    if 'bug' in argv:
        raise AttributeError('a programming error')
    raise FileNotFoundError('data/ann.json: annotation file not found; create it with ...')


def test_user_error_is_one_line_and_debug_adds_the_traceback(capsys):
    assert run_tool(_main, ['x']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['error: data/ann.json: annotation file not found; create it with ...',
                   '(run again with --debug to see the traceback)']
    assert run_tool(_main, ['x', '--debug']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: data/ann.json') and 'Traceback' in err
    assert run_tool(lambda argv: None, []) == 0
    with pytest.raises(AttributeError):  # not a user error: Python's own traceback
        run_tool(_main, ['bug'])
