#!/usr/bin/env bash
# README command 1: set up the environment if needed, render the synthetic micro-expression set, run
# a full LOSO of the tiny MER-CLIP on it (CPU is enough) and print the pooled UF1 / UAR / ACC.
# Extra arguments go to tools/loso.py (e.g. --parallel 2, --subjects s01 s02).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
PY=.venv/bin/python
export MPLBACKEND=Agg
if [ ! -f data/synthetic/annotations.json ]; then
  "$PY" tools/data/make_synthetic.py --out data/synthetic
fi
WORK_DIR=${WORK_DIR:-work_dirs/demo}
"$PY" tools/loso.py configs/mer_clip_synthetic.py --work-dir "$WORK_DIR" "$@"
echo
echo "== MER-CLIP (tiny) on the synthetic set, LOSO, pooled over all folds =="
cat "$WORK_DIR/summary.md"
