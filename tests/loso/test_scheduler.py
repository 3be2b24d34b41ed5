"""mer_clip.loso.scheduler: a fold step that cannot start ends its fold there, with its own error
only."""
import os
import os.path as osp
import runpy
import socket

from tests.conftest import REPO_ROOT, SYNTHETIC_CONFIG


def test_a_taken_port_is_the_only_error(synthetic_root, tmp_path, in_repo, data_options,
                                        monkeypatch, capsys):
    """tools/loso.py with PORT taken by another job: the DDP train step cannot start. It was
    followed by the fold's test step, whose 'cannot read .../train_done.json ... run the same
    command again to retrain the fold' was a second, misleading error."""
    main = runpy.run_path(osp.join(REPO_ROOT, 'tools', 'loso.py'))['main']
    work = str(tmp_path / 'run')
    with socket.socket() as busy:
        busy.bind(('', 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv('PORT', str(port))
        status = main([SYNTHETIC_CONFIG, '--work-dir', work, '--subjects', 's01', '--devices',
                       '0,1', '--launcher-gpus-per-fold', '2', '--no-plots', '--cfg-options',
                       *data_options(synthetic_root)])
    err = capsys.readouterr().err
    assert status == 2
    assert f'error: folds failed:\ns01: train could not start: PORT={port}: port {port} ' \
        '(PORT + slot 0) is in use' in err
    assert 'train_done.json' not in err and 'test exited' not in err, err
    assert sorted(os.listdir(osp.join(work, 'fold_s01'))) == ['fold_job.json']  # nothing ran
    assert '[loso] fold s01 FAILED (train could not start)' in err
