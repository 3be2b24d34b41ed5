#!/usr/bin/env bash
# LOSO with DDP per fold: tools/dist_loso.sh CONFIG GPUS [tools/loso.py args]
# Every fold trains on GPUS devices with torchrun (its train step); folds run one after another.
# Without GPUs the folds train with GPUS gloo processes on the CPU (see mer_clip/compat.py).
set -euo pipefail
CONFIG=$1
GPUS=$2
PYTHON=${PYTHON:-python}
HERE="$(cd "$(dirname "$0")" && pwd)"
DEVICES=$(seq -s, 0 $((GPUS - 1)))
"$PYTHON" "$HERE/loso.py" "$CONFIG" --devices "$DEVICES" --launcher-gpus-per-fold "$GPUS" "${@:3}"
