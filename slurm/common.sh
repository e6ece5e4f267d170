# slurm/common.sh: what t2's Slurm job scripts and slurm/submit.sh share (docs/slurm.md).
# Sourced with T2_SLURM_DIR set to this folder; reads slurm/config.sh (or $T2_CONFIG).
# - Inside a job: ranks and threads come from the Slurm environment (SLURM_NTASKS, cpus per
#   task = BLIS threads); t2 starts on every task with `srun --mpi=pmix` when PMIx works on
#   the cluster, else with mpirun on the allocation's hosts; a stage fails unless t2 wrote
#   its output in this job (srun can exit 0 when no task started at all).
# - Not here: the resources (config.sh, turned into sbatch options by submit.sh) and what
#   each stage runs (the .sbatch files).
# Follows the tested recipe of a Slurm 22.05 / Open MPI 4.1 / PMIx 4 cluster (Debian 12).

t2_fail() {
    echo "t2 slurm: error: $*" >&2
    exit 1
}

t2_note() {
    printf '%s t2 slurm: %s\n' "$(date '+%F %T')" "$*" >&2
}

T2_CONFIG=$(realpath "${T2_CONFIG:-$T2_SLURM_DIR/config.sh}" 2>/dev/null) ||
    t2_fail "T2_CONFIG: ${T2_CONFIG:-}: no such file; expected the settings file (slurm/config.sh)"
[ -r "$T2_CONFIG" ] || t2_fail "$T2_CONFIG: cannot read; expected the settings file (slurm/config.sh)"
. "$T2_CONFIG"

# Files the stages hand to each other, all under T2_WORK.
T2_STORE=$T2_WORK/$(basename "$T2_MODEL").svd   # t2 decompose
T2_EXPERT_DIR=$T2_WORK/experts                  # <name>.expert, <name>-ckpt/, <name>.jsonl
T2_BUNDLE=$T2_WORK/experts.t2b                  # t2 bundle create
T2_FEWSHOT_DIR=$T2_WORK/fewshot                 # <task>.expert, answers.txt

# Every expert the array trains, in order: T2_EXPERTS, then the classifier.
t2_all_experts() {
    echo $T2_EXPERTS $T2_CLASSIFIER
}

# t2_job_begin: call first in a job. Checks the binary, sets the environment every rank
# inherits (BLIS threads = cpus per task; Open MPI's consent to run as root) and says what
# the job got, so that the log shows it. T2_STAMP marks the job's start: outputs must be
# newer (t2_check_written).
t2_job_begin() {
    [ -n "${SLURM_JOB_ID:-}" ] ||
        t2_fail "SLURM_JOB_ID: not set; expected to run as a Slurm job (slurm/submit.sh STAGE)"
    [ -x "$T2" ] || t2_fail "T2: $T2 is not an executable; expected the t2 binary (set T2 in $T2_CONFIG)"
    export BLIS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
    if [ "$(id -u)" = 0 ]; then
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
    mkdir -p "$T2_WORK"
    T2_STAMP=$(mktemp "$T2_WORK/.job-$SLURM_JOB_ID.XXXXXX")
    trap 'rm -f "$T2_STAMP" "$T2_STAMP.err" "$T2_STAMP.fifo"' EXIT
    trap 't2_on_signal USR1' USR1
    trap 't2_on_signal TERM' TERM
    local array=""
    [ -z "${SLURM_ARRAY_TASK_ID:-}" ] ||
        array=" (array $SLURM_ARRAY_JOB_ID task $SLURM_ARRAY_TASK_ID)"
    t2_note "job $SLURM_JOB_ID$array '${SLURM_JOB_NAME:-}' on ${SLURM_JOB_NODELIST:-?}:" \
        "${SLURM_NTASKS:-1} tasks (${SLURM_TASKS_PER_NODE:-1} per node)," \
        "$BLIS_NUM_THREADS cpus per task, restart ${SLURM_RESTART_COUNT:-0}; config $T2_CONFIG"
}

# The allocation as mpirun's host list, "node1:4,node2:4": the nodes of SLURM_JOB_NODELIST
# with their task counts from SLURM_TASKS_PER_NODE ("4(x2)" or "4,3").
t2_hosts() {
    local nodes items counts=() item i hosts=""
    mapfile -t nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
    IFS=, read -ra items <<<"$SLURM_TASKS_PER_NODE"
    for item in "${items[@]}"; do
        if [[ $item =~ ^([0-9]+)\(x([0-9]+)\)$ ]]; then
            for ((i = 0; i < BASH_REMATCH[2]; i++)); do counts+=("${BASH_REMATCH[1]}"); done
        else
            counts+=("$item")
        fi
    done
    [ "${#nodes[@]}" -eq "${#counts[@]}" ] ||
        t2_fail "SLURM_TASKS_PER_NODE: '$SLURM_TASKS_PER_NODE' for ${#nodes[@]} nodes ($SLURM_JOB_NODELIST); expected a count per node"
    for i in "${!nodes[@]}"; do hosts+=${hosts:+,}${nodes[i]}:${counts[i]}; done
    echo "$hosts"
}

# t2_launch_init: chooses how ranks start, once per job, into T2_LAUNCH. auto tries a
# one-task `srun --mpi=pmix true` step: it fails where Slurm has no such MPI plugin or the
# plugin cannot load libpmix (package libpmix-dev), and then mpirun takes over.
t2_launch_init() {
    local how=$T2_LAUNCHER probe
    if [ "$how" = auto ]; then
        if probe=$(srun --mpi="$T2_SRUN_MPI" --ntasks=1 --nodes=1 --cpus-per-task=1 true 2>&1); then
            how=srun
        else
            t2_note "srun --mpi=$T2_SRUN_MPI does not work here ($(echo $probe | cut -c1-300)); using mpirun"
            how=mpirun
        fi
    fi
    case $how in
    srun)
        # srun does not take --cpus-per-task from the job since Slurm 22.05: say it again.
        # --kill-on-bad-exit=0: t2_watch_srun ends the other tasks instead, sooner.
        T2_LAUNCH=(srun --mpi="$T2_SRUN_MPI" --kill-on-bad-exit=0 --cpus-per-task="$BLIS_NUM_THREADS") ;;
    mpirun)
        T2_LAUNCH=(mpirun -np "${SLURM_NTASKS:-1}" --host "$(t2_hosts)" -x BLIS_NUM_THREADS
            $T2_MPIRUN_ARGS) ;;
    *) t2_fail "T2_LAUNCHER: '$how'; expected auto, srun or mpirun" ;;
    esac
    t2_note "launcher: ${T2_LAUNCH[*]}"
}

# t2_died_by_signal ERRFILE: true when the launcher says a task died by a crash signal
# (srun: "task 0: Segmentation fault", "tasks 0-1: ..."; mpirun: "exited on signal 11")
# and t2 itself reported no error: a fault below t2 (docs/slurm.md), not a bad input.
t2_died_by_signal() {
    grep -q -E 'tasks? [0-9,-]+: (Segmentation fault|Bus error|Illegal instruction)|exited on signal (4|7|11)\b' "$1" &&
        ! grep -q -E '^t2( [a-z]+)*: error:' "$1"
}

# t2_lost_rank ERRFILE: "rank N (WHAT)" when the launcher says a rank died by a signal,
# from its first such line (srun: "task 1: Killed"; mpirun: "process rank 1 ... exited on
# signal 9 (Killed)"); nothing otherwise (a t2 error, exit codes only).
t2_lost_rank() {
    local line
    line=$(grep -E '^srun: error: [^ ]+: tasks? [0-9,-]+: ' "$1" | grep -v -m 1 ': Exited with exit code') &&
        [[ $line =~ tasks?\ ([0-9,-]+):\ (.*)$ ]] && { echo "rank ${BASH_REMATCH[1]} (${BASH_REMATCH[2]})"; return; }
    line=$(grep -m 1 -E 'process rank [0-9]+ .*exited on signal [0-9]+' "$1") &&
        [[ $line =~ rank\ ([0-9]+)\ .*exited\ on\ signal\ ([0-9]+)\ ?(\(([^\)]*)\))? ]] &&
        echo "rank ${BASH_REMATCH[1]} (signal ${BASH_REMATCH[2]}${BASH_REMATCH[4]:+, ${BASH_REMATCH[4]}})"
}

# t2_watch_srun ERRFILE: srun only, in the background of a launch: ends the other tasks when
# srun says one ended badly, as mpirun does (docs/reliability.md, "Faults"). srun runs with
# --kill-on-bad-exit=0 because Slurm's own kill of the step sends SIGTERM first and SIGKILL
# only KillWait later (30 s by default; nothing else reaches a step that is being killed),
# and t2 train and t2 pretrain take SIGTERM as "stop after this step", which never comes when
# a rank is gone. So 1 s after srun's line, a task that died by a signal (kill -9, the OOM
# killer, a crash) gets the others SIGHUP, which t2 does not catch; a task that exited with
# an error gets the step cancelled as --kill-on-bad-exit=1 would. Signals go to the job's srun
# steps: the one under way, as the batch shell runs one launch at a time.
t2_watch_srun() {
    local lost steps line
    while kill -0 "$T2_CHILD" 2>/dev/null; do
        line=$(grep -m 1 -E '^srun: error: [^ ]+: tasks? [0-9,-]+: ' "$1") && break
        sleep 0.5
    done
    sleep 1
    kill -0 "$T2_CHILD" 2>/dev/null || return 0
    steps=$(squeue -h -s -j "$SLURM_JOB_ID" -o %i 2>/dev/null | grep -E "^$SLURM_JOB_ID\.[0-9]+$")
    [ -n "$steps" ] || return 0
    if lost=$(t2_lost_rank "$1") && [ -n "$lost" ]; then
        t2_note "lost $lost; ending the other ranks (scancel --signal=HUP" $steps")"
        scancel --signal=HUP $steps 2>/dev/null || true
        sleep 5
        kill -0 "$T2_CHILD" 2>/dev/null || return 0
    fi
    t2_note "a task ended badly (above); cancelling step" $steps
    scancel $steps 2>/dev/null || true
}

# t2_on_signal NAME: the batch shell's trap of SIGUSR1 (what the training scripts ask Slurm
# for ahead of the time limit: #SBATCH --signal=B:USR1@120) and SIGTERM (scancel, a
# preemption). A running t2 gets SIGUSR1, whichever came: t2 train and t2 pretrain then
# checkpoint at the end of the step under way and exit 75 (docs/slurm.md), and mpirun passes
# SIGUSR1 on to every rank as it is, whereas on SIGTERM it kills them a second later. With no
# t2 running, SIGTERM ends the job and SIGUSR1 is noted.
t2_on_signal() {
    if [ -n "${T2_CHILD:-}" ] && kill -0 "$T2_CHILD" 2>/dev/null; then
        t2_note "SIG$1: asking t2 to write its checkpoint and stop (SIGUSR1 to ${T2_LAUNCH[0]})"
        kill -USR1 "$T2_CHILD" 2>/dev/null || true
    elif [ "$1" = TERM ]; then
        t2_note "SIGTERM with no t2 running: stopping"
        exit 143
    else
        t2_note "SIG$1 with no t2 running: ignored"
    fi
}

# t2_launch ARGS...: `t2 ARGS` through the launcher, in the background with its standard error
# teed into $err (bash runs a trap only between commands, so a foreground launch would hold
# the signal until its end); waits for it, passing signals on (t2_on_signal). Its status.
t2_launch() {
    local fifo=$T2_STAMP.fifo tee_pid rc=0
    rm -f "$fifo"
    mkfifo "$fifo"
    tee "$err" <"$fifo" >&2 &
    tee_pid=$!
    "${T2_LAUNCH[@]}" "$T2" "$@" 2>"$fifo" &
    T2_CHILD=$!
    local watch_pid=""
    if [ "${T2_LAUNCH[0]}" = srun ]; then
        t2_watch_srun "$err" &
        watch_pid=$!
    fi
    # wait ends early (status > 128) when a trapped signal arrives; wait again until the
    # launcher is gone, then once more for its own status
    while kill -0 "$T2_CHILD" 2>/dev/null; do wait "$T2_CHILD" || true; done
    wait "$T2_CHILD" || rc=$?
    T2_CHILD=
    if [ -n "$watch_pid" ]; then
        kill "$watch_pid" 2>/dev/null || true
        wait "$watch_pid" 2>/dev/null || true
    fi
    wait "$tee_pid" || true
    rm -f "$fifo"
    return "$rc"
}

# t2_requeue_if_stopped RC COMMAND: when t2 exited 75 (stopped by a signal after writing its
# checkpoint), asks Slurm to requeue this job, whose next run resumes from the checkpoint, and
# ends the script; nothing otherwise.
t2_requeue_if_stopped() {
    [ "$1" -eq 75 ] || return 0
    t2_note "t2 $2: stopped by a signal after writing its checkpoint (exit 75); requeueing job $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID" ||
        t2_fail "scontrol requeue $SLURM_JOB_ID: failed; expected the job requeued (submit it again: it resumes from the checkpoint)"
    exit 0
}

# t2_run ARGS...: runs `t2 ARGS` on every task of the job; its standard output is the
# caller's. Fails when the launch or t2 fails, also where srun says a task did not start but
# exits 0. A launch in which a task crashed by a signal without an error of t2 is tried
# again, up to T2_LAUNCH_RETRIES times (docs/slurm.md: a segfault seen once at start-up under
# srun --mpi=pmix). Every stage may run twice: its outputs are written atomically and
# training resumes from its checkpoint. A t2 stopped by a signal (exit 75) requeues the job.
t2_run() {
    [ -n "${T2_LAUNCH+set}" ] || t2_launch_init
    local err=$T2_STAMP.err rc attempt=0 retries=${T2_LAUNCH_RETRIES:-1}
    while :; do
        rc=0
        t2_note "t2 $*"
        t2_launch "$@" || rc=$?
        t2_requeue_if_stopped "$rc" "$1"
        [ "$rc" -ne 0 ] && [ "$attempt" -lt "$retries" ] && t2_died_by_signal "$err" || break
        attempt=$((attempt + 1))
        t2_note "warning: t2 $1: a task died by a signal (above) before t2 reported an error;" \
            "launching again (retry $attempt of $retries)"
    done
    if [ "$rc" -ne 0 ]; then
        local lost
        lost=$(t2_lost_rank "$err") || true
        [ -z "$lost" ] || t2_fail "t2 $1: lost $lost; exit status $rc (${T2_LAUNCH[0]}); expected 0" \
            "(submit the job again: training resumes from its last checkpoint)"
        t2_fail "t2 $1: exit status $rc (${T2_LAUNCH[0]}); expected 0"
    fi
    if grep -E -m 3 'launch failed|Invalid MPI type|Unable to (launch|create) step' "$err" >&2; then
        t2_fail "t2 $1: ${T2_LAUNCH[0]} did not start every task (above); expected all $SLURM_NTASKS"
    fi
}

# t2_check_written FILE...: each FILE exists, is not empty and was written in this job.
t2_check_written() {
    local f
    for f; do
        [ -s "$f" ] && [ "$f" -nt "$T2_STAMP" ] ||
            t2_fail "$f: not written by this job; expected t2 to write it (see the lines above)"
    done
}

# t2_train_expert NAME: trains expert NAME on every task of the job with
# $T2_CONFIGS/train-NAME.cfg into $T2_EXPERT_DIR/NAME.expert. It checkpoints into NAME-ckpt/
# (every checkpoint_every steps of the config) and resumes from there, so a job requeued
# after a node failure or a preemption continues from its last checkpoint, and gives the
# expert an uninterrupted run would have.
t2_train_expert() {
    local name=$1 cfg=$T2_CONFIGS/train-$1.cfg
    [ -r "$cfg" ] || t2_fail "$cfg: cannot read; expected the train config of expert '$name'"
    [ -s "$T2_STORE" ] || t2_fail "$T2_STORE: no store; expected the decompose stage to have run"
    mkdir -p "$T2_EXPERT_DIR"
    if [ -e "$T2_EXPERT_DIR/$name-ckpt/train-state.pb" ]; then
        t2_note "expert $name: a checkpoint is there; training resumes from it"
    fi
    t2_run train "$cfg" --model "$T2_MODEL" --store "$T2_STORE" \
        --out "$T2_EXPERT_DIR/$name.expert" --checkpoint-dir "$T2_EXPERT_DIR/$name-ckpt" \
        --metrics "$T2_EXPERT_DIR/$name.jsonl" --resume $T2_TRAIN_ARGS
    t2_check_written "$T2_EXPERT_DIR/$name.expert"
    "$T2" inspect "$T2_EXPERT_DIR/$name.expert" >&2 ||
        t2_fail "$T2_EXPERT_DIR/$name.expert: t2 inspect cannot read it; expected an expert file"
    t2_note "expert $name: $T2_EXPERT_DIR/$name.expert"
}
