#!/usr/bin/env bash
# The first run on a GPU: one H100 / H200, under 8 minutes, every path the paper's run takes.
#
#   bench/gpu_check.sh            # on the GPU machine: the paper-size model (UniFormerV2-B/16)
#   bench/gpu_check.sh --dry-run  # anywhere (CPU): the same stages at tiny sizes, ~2 minutes
#
# Stages, each timed, with a time limit, its output in a log; a failed stage is recorded and the
# next one runs. The GPU run runs them one at a time, in this order; the dry run two at a time
# (GPU_CHECK_JOBS), each once the stages it needs have ended (NEEDS below):
#   synthetic_set  tools/data/make_synthetic.py: 3 subjects, 16-20 frames of 224 px (dry: 40 px)
#   train_step     bench/train_step.py --size full --device cuda --amp bf16 --batch 8: step time
#                  MER-CLIP / UniFormerV2+linear, peak memory, FLOP/s vs the measured bf16 matmul
#   train          tools/train.py, the SAMM 5-class config (dry: the tiny synthetic one) on the
#                  synthetic set, fold s01, 1 epoch (saves a checkpoint)
#   train_resume   tools/train.py --resume to epoch 2; checked: the log says it resumed epoch 1,
#                  epoch 1 is not trained again, the epoch-2 checkpoint is complete, meta epoch 2
#   loso           tools/loso.py --gpus 1 --subjects s01 s02 (1 epoch per fold)
#   test           tools/test.py on fold s01's checkpoint; its predictions = the fold's
#   data_path      bench/bench_clip_cache.py with the config's worker count: clips/s of the clip
#                  cache and of the JPEG frames, against the model's clips/s (of train_step)
#   batch_search   bench/batch_search.py: train_step at doubled batches until CUDA runs out of
#                  memory (the rest of the 8 minutes): the same numbers at the largest batch
# Weights are random (model.*.pretrained=None: the machine has no weight files); the synthetic
# set has 3 classes (class_scheme=synthetic_3, cls_head.num_classes=3). Targets, printed beside
# the numbers: step ratio <= 1.15 at batch 8, >= 35% of the bf16 matmul rate, the clip cache at
# the config's workers keeps up with the model.
#
# Environment:
#   OUT             JSON and table: OUT/gpu_check.json, OUT/gpu_check.txt, the stages' logs in
#                   OUT/gpu_check_logs.tar.gz (default work_dirs/gpu_check)
#   GPU_CHECK_WORK  data, checkpoints (~10 GB), logs; emptied first; keep it outside OUT
#                   (default work_dirs/gpu_check_work)
#   PYTHON          the interpreter (default .venv/bin/python if there, else python3)
#   GPU_CHECK_DEADLINE  seconds for all stages (default 465; dry run 1800): a stage gets at most
#                   what is left, one that would get under 10 s is skipped (and counts as failed)
#   GPU_CHECK_JOBS  dry run only: stages at once (default 2; 1: one at a time, as on the GPU)
# Exit status: 0 when every stage passed (a missed target is a finding, printed, not a failure),
# 1 when one did not, 2 for a usage error.
set -uo pipefail

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
ROOT=$(dirname "$(dirname "$SELF")")
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

DRY=0
STAGE=
while (($#)); do
  case $1 in
    --dry-run) DRY=1 ;;
    --stage) STAGE=${2:?--stage needs a name}; shift ;;  # internal: run one stage
    -h | --help) sed -n '2,/^set -uo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument '$1' (usage: bench/gpu_check.sh [--dry-run])" >&2; exit 2 ;;
  esac
  shift
done

OUT=$(abspath "${OUT:-$ROOT/work_dirs/gpu_check}")
WORK=$(abspath "${GPU_CHECK_WORK:-$ROOT/work_dirs/gpu_check_work}")
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi
export OUT GPU_CHECK_WORK=$WORK PYTHON PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export PYTHONPATH="$ROOT/projects${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT" || exit 2
SYN=$WORK/synthetic
LOGS=$WORK/logs

# ------------------------------------------------------------------------------------ sizes
if ((DRY)); then
  MODE=dry-run
  CONFIG=configs/mer-clip_uniformerv2-tiny_1xb8-20e_synthetic-3cls.py
  SYN_ARGS=(--subjects 3 --clips-per-subject 2 --size 40 --min-frames 8 --max-frames 10)
  MODEL_OPTS=()
  TS_ARGS=(--size small --device cpu --matmul-seconds 0.2)
  TS_B8=(--batch 2 --steps 2 --warmup 1)
  SEARCH_TS=(--models a,b --steps 1 --warmup 1)
  SEARCH_ARGS=(--max-batch 4)
  CACHE_ARGS=(--clips 2 --frames 16 --epochs 1)
  DEADLINE=${GPU_CHECK_DEADLINE:-1800}  # a hang guard only: the dry run takes minutes
  declare -A LIMIT=([synthetic_set]=300 [train_step]=300 [train]=300 [train_resume]=300
                    [loso]=600 [test]=300 [data_path]=300 [batch_search]=300)
else
  MODE=gpu
  CONFIG=configs/mer-clip_uniformerv2-b16_2xb8-55e_samm-5cls.py
  SYN_ARGS=(--subjects 3 --clips-per-subject 4 --size 224 --min-frames 16 --max-frames 20
            --workers 4)
  MODEL_OPTS=(model.backbone.pretrained=None model.text_encoder.pretrained=None
              model.cls_head.num_classes=3)
  TS_ARGS=(--size full --device cuda --amp bf16)
  TS_B8=(--batch 8)
  SEARCH_TS=(--models a,b --steps 10 --warmup 2)
  SEARCH_ARGS=(--max-batch 256)
  CACHE_ARGS=(--clips 16 --frames 24 --epochs 2)
  # seconds for all stages: the summary follows, the whole run stays under 8 minutes
  DEADLINE=${GPU_CHECK_DEADLINE:-465}
  # each stage's limit, far above its expected time (together about 270 s: docs/speed.md); the
  # deadline is what bounds the run, and the search, last, gets the time that is left
  declare -A LIMIT=([synthetic_set]=60 [train_step]=150 [train]=120 [train_resume]=150
                    [loso]=200 [test]=90 [data_path]=90 [batch_search]=300)
fi
ORDER=(synthetic_set train_step train train_resume loso test data_path batch_search)
# the paper config pointed at the synthetic set, for tools/train.py, loso.py and test.py alike
CFG_OPTS=("${MODEL_OPTS[@]}")
for loader in train val test; do
  CFG_OPTS+=("${loader}_dataloader.dataset.ann_file=$SYN/annotations.json"
             "${loader}_dataloader.dataset.data_prefix.img=$SYN/frames"
             "${loader}_dataloader.dataset.class_scheme=synthetic_3")
done

# ------------------------------------------------------------------------------------ stages
stage_synthetic_set() {
  "$PYTHON" tools/data/make_synthetic.py --out "$SYN" "${SYN_ARGS[@]}"
}

stage_train_step() {
  "$PYTHON" bench/train_step.py "${TS_ARGS[@]}" "${TS_B8[@]}" --json "$WORK/train_step.json"
}

train() {  # EPOCHS [tools/train.py options]
  local epochs=$1
  shift
  "$PYTHON" tools/train.py "$CONFIG" --loso-subject s01 --work-dir "$WORK/train" "$@" \
    --cfg-options "${CFG_OPTS[@]}" "train_cfg.max_epochs=$epochs"
}

stage_train() { train 1; }

stage_train_resume() {
  train 2 --resume >"$WORK/train_resume.out" 2>&1
  local rc=$?
  cat "$WORK/train_resume.out"
  ((rc == 0)) || return $rc
  "$PYTHON" bench/gpu_check_checks.py resume "$WORK/train" "$WORK/train_resume.out" --epoch 2 \
    --json "$WORK/resume.json"
}

stage_loso() {
  "$PYTHON" tools/loso.py "$CONFIG" --gpus 1 --subjects s01 s02 --work-dir "$WORK/loso" \
    --cfg-options "${CFG_OPTS[@]}" train_cfg.max_epochs=1
}

stage_test() {
  local ckpt
  ckpt=$("$PYTHON" bench/gpu_check_checks.py fold-checkpoint "$WORK/loso" s01) || return 1
  "$PYTHON" tools/test.py "$CONFIG" "$ckpt" --loso-subject s01 --work-dir "$WORK/test" \
    --dump "$WORK/test/predictions.csv" --cfg-options "${CFG_OPTS[@]}" || return
  "$PYTHON" bench/gpu_check_checks.py same-predictions "$WORK/test/predictions.csv" \
    "$WORK/loso/fold_s01/predictions.csv" --json "$WORK/test_predictions.json"
}

stage_data_path() {
  "$PYTHON" bench/bench_clip_cache.py --skip-prepare --config "$CONFIG" "${CACHE_ARGS[@]}" \
    --json "$WORK/clip_cache.json"
}

stage_batch_search() {
  "$PYTHON" bench/batch_search.py --from-json "$WORK/train_step.json" "${SEARCH_ARGS[@]}" \
    --time-budget $((GPU_CHECK_STAGE_LIMIT - 15)) --json "$WORK/batch_search.json" \
    --log-dir "$LOGS" -- "${TS_ARGS[@]}" "${SEARCH_TS[@]}"
}

if [ -n "$STAGE" ]; then  # a stage, run by run_stage below in a process of its own
  declare -F "stage_$STAGE" >/dev/null || { echo "error: no stage '$STAGE'" >&2; exit 2; }
  set -x
  "stage_$STAGE"
  exit
fi

# ------------------------------------------------------------------------------------ driver
# What each stage needs finished first (finished, not passed: after a failed stage the ones that
# need it still run, and fail on their own). The GPU run runs one stage at a time, in ORDER (they
# share one GPU, and their times and memory must not overlap); the dry run runs up to
# GPU_CHECK_JOBS at once (default 2: its stages are single-threaded CPU processes).
declare -A NEEDS=([synthetic_set]= [train_step]= [train]=synthetic_set [train_resume]=train
                  [loso]=synthetic_set [test]=loso [data_path]= [batch_search]=train_step)
# the order stages start in when several could: the GPU run's ORDER; the dry run starts the
# longest chain (loso, then test) first
if ((DRY)); then
  JOBS=${GPU_CHECK_JOBS:-2}
  FIRST=(synthetic_set loso test train_step train train_resume data_path batch_search)
else
  JOBS=1
  FIRST=("${ORDER[@]}")
fi
if ((JOBS > 1 && (BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))))
then
  JOBS=1  # wait -n -p (which stage ended) needs bash >= 5.1
fi
declare -A STATE=() PID_OF=() T0=() LIMIT_OF=()
on_signal() {
  local pid
  for pid in "${!PID_OF[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${!PID_OF[@]}"; do wait "$pid" 2>/dev/null; done
  echo "[gpu_check] interrupted" >&2
  exit 130
}
trap on_signal INT TERM

START=$(date +%s)
index_of() {  # NAME -> its place in ORDER, from 1
  local i
  for i in "${!ORDER[@]}"; do [ "${ORDER[$i]}" = "$1" ] && echo $((i + 1)); done
}

start_stage() {  # NAME: in the background, with what is left of the deadline as its limit
  local name=$1 limit=${LIMIT[$1]} left mode_args=()
  left=$((DEADLINE - ($(date +%s) - START)))
  ((limit > left)) && limit=$left
  ((JOBS == 1)) && printf '[gpu_check] %d/%d %-14s ' "$(index_of "$name")" "${#ORDER[@]}" "$name"
  T0[$name]=$(date +%s.%N)
  LIMIT_OF[$name]=$limit
  STATE[$name]=running
  if ((limit < 10)); then
    echo "not started: the ${DEADLINE} s of all stages are spent" >"$LOGS/$name.log"
    finish_stage "$name" skipped -1
    return
  fi
  ((DRY)) && mode_args=(--dry-run)
  GPU_CHECK_STAGE_LIMIT=$limit timeout --kill-after=10 "$limit" \
    bash "$SELF" "${mode_args[@]}" --stage "$name" >"$LOGS/$name.log" 2>&1 &
  PID_OF[$!]=$name
}

finish_stage() {  # NAME STATUS RC: record it, print its line (and its log's end if it failed)
  local name=$1 status=$2 rc=$3 limit=${LIMIT_OF[$1]} secs log=$LOGS/$1.log
  ((rc == -1)) && limit=0
  secs=$(awk -v a="${T0[$name]}" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  STATE[$name]=done
  "$PYTHON" bench/gpu_check_summary.py record "$WORK/stages" "$name" --status "$status" \
    --rc "$rc" --seconds "$secs" --limit "$limit" --log "$log" --command "stage_$name"
  ((JOBS > 1)) && printf '[gpu_check] %d/%d %-14s ' "$(index_of "$name")" "${#ORDER[@]}" "$name"
  printf '%-8s %7s s (limit %s s)\n' "$status" "$secs" "$limit"
  if [ "$status" != passed ]; then
    grep -v '^+' "$log" | tail -n 6 | cut -c1-200 | sed 's/^/    | /'
    echo "    (whole log: $log)"
  fi
}

run_stages() {  # every stage once its NEEDS are done, up to JOBS at once, in the order FIRST
  local name need ready left=${#ORDER[@]} pid rc status
  for name in "${ORDER[@]}"; do STATE[$name]=waiting; done
  while ((left > 0)); do
    for name in "${FIRST[@]}"; do
      ((${#PID_OF[@]} < JOBS)) || break
      [ "${STATE[$name]}" = waiting ] || continue
      ready=1
      for need in ${NEEDS[$name]}; do [ "${STATE[$need]}" = done ] || ready=0; done
      ((ready)) || continue
      start_stage "$name"
      [ "${STATE[$name]}" = done ] && left=$((left - 1))
    done
    ((${#PID_OF[@]})) || continue
    if ((JOBS == 1)); then
      pid=${!PID_OF[*]}
      wait "$pid"
    else
      wait -n -p pid "${!PID_OF[@]}"
    fi
    rc=$?
    name=${PID_OF[$pid]}
    unset "PID_OF[$pid]"
    case $rc in 0) status=passed ;; 124 | 137) status=timeout ;; *) status=failed ;; esac
    finish_stage "$name" "$status" "$rc"
    left=$((left - 1))
  done
}

main() {
  command -v timeout >/dev/null || { echo "error: 'timeout' (coreutils) is needed" >&2; exit 2; }
  if ! "$PYTHON" -c 'import sys' 2>/dev/null; then
    echo "error: PYTHON=$PYTHON does not run; set PYTHON to the project's python" >&2
    exit 2
  fi
  if [ -e "$WORK" ] && [ ! -e "$WORK/.gpu_check_work" ] && [ -n "$(ls -A "$WORK")" ]; then
    echo "error: $WORK is not empty and is no gpu_check work dir; set GPU_CHECK_WORK to a new" \
      "folder" >&2
    exit 2
  fi
  rm -rf "$WORK"
  mkdir -p "$WORK" "$LOGS" "$OUT" && touch "$WORK/.gpu_check_work" || exit 2
  rm -f "$OUT/gpu_check.json" "$OUT/gpu_check.txt" "$OUT/gpu_check_logs.tar.gz"
  echo "[gpu_check] $MODE: $CONFIG; python $PYTHON; results $OUT; work $WORK"

  run_stages

  tar czf "$OUT/gpu_check_logs.tar.gz" -C "$WORK" logs stages 2>/dev/null
  echo "[gpu_check] wrote $OUT/gpu_check.json, gpu_check.txt, gpu_check_logs.tar.gz"
  echo
  "$PYTHON" bench/gpu_check_summary.py report "$WORK" "$OUT" --mode "$MODE" --config "$CONFIG" \
    --seconds "$(($(date +%s) - START))"
}

# all of the driver is read before it runs: editing this file meanwhile cannot change a run
main; exit
