#!/bin/bash
# slurm/submit.sh STAGE [NAME] [SBATCH-OPTION...]
# Submits one stage's job script with the resources of slurm/config.sh (or $T2_CONFIG) and
# prints its job id. STAGE is decompose, train NAME (one expert), train-array, bundle, eval
# or fewshot (docs/slurm.md); any other sbatch option may follow, e.g.
#   slurm/submit.sh bundle --dependency=afterok:1234
# The job's log is $T2_LOGS/<job name>-<job id>.out (array tasks: -<array id>_<task>.out),
# appended to when Slurm requeues the job. The job runs in $T2_WORK with this shell's
# environment (sbatch's default), T2_SLURM_DIR and T2_CONFIG included.
set -euo pipefail
T2_SLURM_DIR=$(cd "$(dirname "$0")" && pwd)
export T2_SLURM_DIR
. "$T2_SLURM_DIR/common.sh"
export T2_CONFIG

usage() {
    echo "usage: slurm/submit.sh decompose|train NAME|train-array|bundle|eval|fewshot [SBATCH-OPTION...]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
stage=$1
shift
nodes=$T2_NODES tasks=$T2_TASKS_PER_NODE name=t2-$stage out=%x-%j.out args=()
case $stage in
decompose) time=$T2_TIME_DECOMPOSE ;;
train)
    [ $# -ge 1 ] && [ "${1#-}" = "$1" ] || usage
    time=$T2_TIME_TRAIN name=t2-train-$1 args=("$1")
    shift ;;
train-array)
    n=$(t2_all_experts | wc -w)
    [ "$n" -gt 0 ] || t2_fail "T2_EXPERTS: empty; expected the names of the experts to train"
    parallel=""
    [ "$T2_ARRAY_PARALLEL" -eq 0 ] || parallel=%$T2_ARRAY_PARALLEL
    time=$T2_TIME_TRAIN nodes=$T2_ARRAY_NODES tasks=$T2_ARRAY_TASKS_PER_NODE out=%x-%A_%a.out
    set -- --array="0-$((n - 1))$parallel" "$@" ;;
bundle) time=$T2_TIME_BUNDLE nodes=1 tasks=1 ;;
eval) time=$T2_TIME_EVAL ;;
fewshot) time=$T2_TIME_FEWSHOT ;;
*) usage ;;
esac
[ -r "$T2_SLURM_DIR/$stage.sbatch" ] || usage

opts=(--parsable --job-name="$name" --nodes="$nodes" --ntasks-per-node="$tasks"
    --cpus-per-task="$T2_CPUS_PER_TASK" --time="$time" --chdir="$T2_WORK"
    --output="$T2_LOGS/$out")
[ -z "$T2_PARTITION" ] || opts+=(--partition="$T2_PARTITION")
[ -z "$T2_ACCOUNT" ] || opts+=(--account="$T2_ACCOUNT")
mkdir -p "$T2_WORK" "$T2_LOGS"
id=$(sbatch "${opts[@]}" $T2_SBATCH_ARGS "$@" "$T2_SLURM_DIR/$stage.sbatch" "${args[@]}")
echo "${id%%;*}"
