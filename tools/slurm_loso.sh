#!/usr/bin/env bash
# LOSO on a Slurm cluster: one array task per unfinished fold, then a job pooling the reports:
#   tools/slurm_loso.sh PARTITION JOB_NAME CONFIG [--gpus-per-fold N] [tools/loso.py args]
# Each fold gets N GPUs (default 1; N > 1 trains it with torchrun (DDP), 0: a CPU fold).
# CPUS_PER_TASK, SBATCH_ARGS (given to every sbatch, e.g. "--time=8:00:00"), ARRAY_LIMIT (folds
# running at once, --array=...%ARRAY_LIMIT) and PYTHON come from the environment. Run it again
# after failed or cancelled folds: it submits only the unfinished ones (each resumes from its last
# checkpoint). It refuses while an earlier submission of the work dir is queued or running.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 1
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SBATCH_ARGS=${SBATCH_ARGS:-""}
ARRAY_LIMIT=${ARRAY_LIMIT:-""}
PYTHON=${PYTHON:-python}
HERE="$(cd "$(dirname "$0")" && pwd)"
export PYTHONPATH="$HERE/..":${PYTHONPATH:-}

die() { echo "error: $*" >&2; exit 1; }
# is $1 the option $2 or an abbreviation of it that argparse accepts (at least $3 characters)?
abbreviates() { [ ${#1} -ge "$3" ] && [[ "$2" == "$1"* ]]; }

GPUS_PER_FOLD=1
WORK_DIR=""
LOSO_ARGS=()
while [ $# -gt 0 ]; do
    arg=$1 opt=${1%%=*}
    if [ "$opt" = --gpus-per-fold ] || abbreviates "$opt" --work-dir 4; then
        if [ "$arg" != "$opt" ]; then value=${arg#*=}; shift
        else [ $# -ge 2 ] || die "$opt needs a value"; value=$2; shift 2; fi
        if [ "$opt" = --gpus-per-fold ]; then GPUS_PER_FOLD=$value; else WORK_DIR=$value; fi
        continue
    fi
    for local_opt in --report-only:3 --write-jobs:4; do
        ! abbreviates "$opt" "${local_opt%:*}" "${local_opt#*:}" ||
            die "$opt: tools/slurm_loso.sh writes the jobs and submits the report job itself"
    done
    for local_opt in --gpus:3 --devices:5 --parallel:4 --launcher-gpus-per-fold:3; do
        ! abbreviates "$opt" "${local_opt%:*}" "${local_opt#*:}" ||
            die "$opt: on Slurm every fold is an array task of its own; give --gpus-per-fold N"
    done
    LOSO_ARGS+=("$arg")
    shift
done
for cmd in sbatch squeue; do
    command -v "$cmd" >/dev/null || die "$cmd not found: run this where Slurm's commands are"
done
[[ "$GPUS_PER_FOLD" =~ ^[0-9]+$ ]] || die "--gpus-per-fold must be a number, got '$GPUS_PER_FOLD'"
# the default of tools/loso.py
[ -n "$WORK_DIR" ] || { name=$(basename "$CONFIG"); WORK_DIR="work_dirs/${name%.*}_loso"; }
mkdir -p "$WORK_DIR/slurm"
WORK_DIR="$(cd "$WORK_DIR" && pwd)"
JOBS_LIST="$WORK_DIR/slurm_jobs.txt"
RECORD="$WORK_DIR/slurm_submission.json"

# one submission of a work dir at a time: the array reads slurm_jobs.txt when its tasks start
exec 9>>"$WORK_DIR/slurm/.submit.lock"
flock -n 9 || die "$WORK_DIR: another tools/slurm_loso.sh is submitting this work dir"
ENDED='COMPLETED|CANCELLED|FAILED|TIMEOUT|NODE_FAIL|PREEMPTED|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE'
if [ -f "$RECORD" ]; then
    for key in array_job report_job; do
        id=$(sed -n "s/^ *\"$key\": *\"\([^\"]*\)\".*/\1/p" "$RECORD")
        [ -n "$id" ] || continue
        # squeue -j also lists jobs that ended a moment ago (MinJobAge): only live states count
        states=$(squeue -h -j "$id" -o %T 2>/dev/null | grep -vE "^($ENDED)" || true)
        [ -z "$states" ] || die "$WORK_DIR: job $id of an earlier submission ($key, $RECORD) is" \
            "still queued or running; wait for it to end (or scancel $id), then run this again"
    done
fi

"$PYTHON" "$HERE/loso.py" "$CONFIG" --work-dir "$WORK_DIR" ${LOSO_ARGS[@]+"${LOSO_ARGS[@]}"} \
    --write-jobs "$JOBS_LIST"
NUM_FOLDS=$(grep -c . "$JOBS_LIST" || true)

quote() { printf '%q ' "$@"; }
NPROC=$(( GPUS_PER_FOLD > 1 ? GPUS_PER_FOLD : 1 ))
GRES=()
[ "$GPUS_PER_FOLD" -eq 0 ] || GRES=(--gres=gpu:"$GPUS_PER_FOLD")
COMMON=(--parsable --ntasks=1 --cpus-per-task="$CPUS_PER_TASK" --chdir="$PWD")
ARRAY_ID=""
if [ "$NUM_FOLDS" -gt 0 ]; then
    ARRAY_ID=$(sbatch "${COMMON[@]}" -p "$PARTITION" -J "$JOB_NAME" \
        --array="0-$((NUM_FOLDS - 1))${ARRAY_LIMIT:+%$ARRAY_LIMIT}" ${GRES[@]+"${GRES[@]}"} \
        --output="$WORK_DIR/slurm/fold_%A_%a.out" ${SBATCH_ARGS} \
        --wrap="$(quote "$PYTHON" -m mer_clip.loso fold --list "$JOBS_LIST" --nproc "$NPROC")")
    ARRAY_ID=${ARRAY_ID%%;*}  # --parsable: "id" or "id;cluster"
    DEPENDENCY=(--dependency=afterok:"$ARRAY_ID" --kill-on-invalid-dep=yes)
else
    DEPENDENCY=()
fi
REPORT_ID=$(sbatch "${COMMON[@]}" -p "$PARTITION" -J "$JOB_NAME-report" \
    ${DEPENDENCY[@]+"${DEPENDENCY[@]}"} --output="$WORK_DIR/slurm/report_%j.out" ${SBATCH_ARGS} \
    --wrap="$(quote "$PYTHON" "$HERE/loso.py" "$CONFIG" --work-dir "$WORK_DIR" \
        ${LOSO_ARGS[@]+"${LOSO_ARGS[@]}"} --report-only)")
REPORT_ID=${REPORT_ID%%;*}

json() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
cat > "$RECORD.part" <<EOF
{
  "array_job": $(json "$ARRAY_ID"),
  "report_job": $(json "$REPORT_ID"),
  "folds": $NUM_FOLDS,
  "jobs_list": $(json "$JOBS_LIST"),
  "partition": $(json "$PARTITION"),
  "job_name": $(json "$JOB_NAME"),
  "gpus_per_fold": $GPUS_PER_FOLD,
  "submitted": $(json "$(date '+%Y-%m-%dT%H:%M:%S%z')")
}
EOF
mv "$RECORD.part" "$RECORD"

if [ -n "$ARRAY_ID" ]; then
    echo "[slurm_loso] array job $ARRAY_ID: $NUM_FOLDS fold(s), tasks 0-$((NUM_FOLDS - 1))," \
        "$GPUS_PER_FOLD GPU(s) each; task i runs line i+1 of $JOBS_LIST"
    echo "[slurm_loso] fold logs: $WORK_DIR/slurm/fold_${ARRAY_ID}_<task>.out and the steps'" \
        "$WORK_DIR/fold_<value>/train.out, test.out"
    echo "[slurm_loso] report job $REPORT_ID after all folds succeed: log" \
        "$WORK_DIR/slurm/report_$REPORT_ID.out"
else
    echo "[slurm_loso] all folds are done; report job $REPORT_ID only: log" \
        "$WORK_DIR/slurm/report_$REPORT_ID.out"
fi
echo "[slurm_loso] reports: $WORK_DIR/summary.json, summary.md; submission: $RECORD"
echo "[slurm_loso] after failed or cancelled folds, run the same command again: it submits only" \
    "the unfinished folds"
