"""``python -m mer_clip.loso``: the processes a LOSO run starts, as commands.

    python -m mer_clip.loso fold FOLD_JOB.json [--step S] [--nproc N]   # one fold job
    python -m mer_clip.loso fold --list jobs.txt --index I              # a cluster array task
    python -m mer_clip.loso worker --stop-file F JOB.json [JOB.json ...]  # in-process fold mode

(:mod:`.fold_steps` and :mod:`.inprocess`; a module the package imports cannot also be run with
``-m`` cleanly, so both are reached through here.)
"""
import sys


def main(argv=None) -> int:
    command = argv is None  # this process is the command: it may restart itself with pins
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ('fold', 'worker')
    if not argv or argv[0] not in commands:
        sys.stderr.write(f'usage: python -m mer_clip.loso {{{",".join(commands)}}} ...\n')
        return 2
    if argv[0] == 'fold':
        from .fold_steps import main as run
        return run(argv[1:], command=command)
    from .inprocess import main as run
    return run(argv[1:])


if __name__ == '__main__':
    sys.exit(main())
