#!/usr/bin/env bash
# Distributed training with torchrun (DDP): tools/dist_train.sh CONFIG GPUS [train.py args]
# Without GPUs it runs GPUS processes on the CPU with the gloo backend (see mer_clip/compat.py).
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
HERE="$(cd "$(dirname "$0")" && pwd)"

# exec: torchrun replaces this shell, so signals (and tools/loso.py's watchdog) reach it directly
PYTHONPATH="$HERE/..":${PYTHONPATH:-} \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$HERE/train.py" "$CONFIG" --launcher pytorch "${@:3}"
