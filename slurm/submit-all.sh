#!/bin/bash
# slurm/submit-all.sh [SBATCH-OPTION...]
# Submits a whole run as a chain of jobs (docs/slurm.md), each starting only when the one
# before it ended well (--dependency=afterok):
#   decompose -> train-array (every expert) -> bundle -> eval and fewshot
# and prints "<stage> <job id>" per job. A job that fails cancels every job after it
# (--kill-on-invalid-dep=yes), so nothing waits forever. The options given are added to
# every sbatch (e.g. --mail-type=FAIL). Settings: slurm/config.sh or $T2_CONFIG.
set -euo pipefail
T2_SLURM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$T2_SLURM_DIR/common.sh"
submit() { # STAGE DEPENDENCY [SBATCH-OPTION...]: the job id
    local stage=$1 dep=$2
    shift 2
    "$T2_SLURM_DIR/submit.sh" "$stage" ${dep:+--dependency=afterok:$dep --kill-on-invalid-dep=yes} "$@"
}
decompose=$(submit decompose "" "$@")
train=$(submit train-array "$decompose" "$@")
bundle=$(submit bundle "$train" "$@")
eval=$(submit eval "$bundle" "$@")
fewshot=$(submit fewshot "$bundle" "$@")
printf '%s %s\n' decompose "$decompose" train-array "$train" bundle "$bundle" eval "$eval" \
    fewshot "$fewshot"
echo "t2 slurm: submitted; logs in $T2_LOGS, results in $T2_WORK (squeue --me to follow)" >&2
