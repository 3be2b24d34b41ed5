"""Publish a training checkpoint for the model zoo (OpenMMLab style).

    python tools/publish_model.py work_dirs/x/epoch_55.pth \
        checkpoints/mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls
    -> checkpoints/mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls-1a2b3c4d.pth  (8 hex of its sha256)

Keeps ``state_dict`` and ``meta`` (as plain data); drops the optimizer, param schedulers, message
hub and RNG states. The result loads with ``torch.load(weights_only=True)`` and
``mer_clip.apis.load_checkpoint_safe`` (which checks the hash in the name).
"""
import argparse
import sys

from mer_clip.apis.checkpoint import publish_checkpoint
from mer_clip.utils.cli import add_debug_argument, run_tool


def run(argv=None):
    p = argparse.ArgumentParser(description='Drop training state from a checkpoint; hash its name')
    p.add_argument('in_file', help='training checkpoint (.pth)')
    p.add_argument('out_prefix', help='output path without the "-<hash>.pth" suffix')
    p.add_argument('--trust-input', action='store_true',
                   help='load the input with weights_only=False, which runs any code the file '
                   'carries: only for a file you made yourself, never for one the safe reader '
                   'refused for the functions it references')
    add_debug_argument(p)
    args = p.parse_args(argv)
    path, digest = publish_checkpoint(args.in_file, args.out_prefix, args.trust_input)
    print(f'published {path} (sha256 {digest})')


def main(argv=None) -> int:
    """The tool; a missing, damaged or refused input checkpoint is one line (utils.cli)."""
    return run_tool(run, argv)


if __name__ == '__main__':
    sys.exit(main())
