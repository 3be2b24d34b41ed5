#!/usr/bin/env bash
# Create (or reuse) the virtual environment .venv with the pinned stack and mer_clip installed
# editable. Idempotent: re-installs only when setup.cfg changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON_BIN:-python3}
STAMP="$VENV/.mer_clip_setup_stamp"
WANT=$(sha256sum setup.cfg pyproject.toml | sha256sum | cut -c1-16)

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] \
   && "$VENV/bin/python" -c "import mer_clip" >/dev/null 2>&1; then
  echo "[setup] $VENV is up to date"
  exit 0
fi
echo "[setup] creating $VENV and installing the pinned stack (a few minutes the first time)"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch first, so that pip resolves the pinned build before anything asks for another one
"$VENV/bin/python" -m pip install -q torch==2.14.1 torchvision==0.29.1
"$VENV/bin/python" -m pip install -q -e ".[all]"
"$VENV/bin/python" -c "import mer_clip, mmaction.models; print('[setup] mer_clip', mer_clip.__version__, 'ready')"
# mmaction2 pulls opencv-contrib-python, mmengine / mmcv opencv-python: both install the same cv2
# and the last one wins. TV-L1 flow (tools/data/compute_flow.py) needs the contrib build.
"$VENV/bin/python" -c "import cv2, sys; sys.exit(0 if hasattr(cv2, 'optflow') else 1)" || echo \
  "[setup] note: cv2 is the plain opencv-python build (no TV-L1; compute_flow.py falls back to" \
  "Farneback). Restore contrib: $VENV/bin/pip install --force-reinstall --no-deps opencv-contrib-python"
echo "$WANT" > "$STAMP"
