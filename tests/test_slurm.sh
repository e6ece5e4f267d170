#!/bin/bash
# The job scripts of slurm/ run on a real Slurm cluster: a private one started on this
# machine by tests/slurm_cluster.sh (docs/slurm.md, "How the test works"), given the real
# scripts on the embedded default model with tiny settings (1 training step, 4 samples).
#   one_node   one slurmd: slurm/submit-all.sh (decompose -> 4 experts as an array ->
#              bundle -> eval, fewshot on 2 ranks); a failing chain (a model that is not
#              there): the decomposition FAILED and every job after it CANCELLED, and the
#              checks below see it; a training job requeued mid-run (what Slurm does after
#              a node failure) resumes from its checkpoint and completes, and so does one
#              sent SIGUSR1 (as ahead of its time limit), after it requeued itself; kill -9
#              of rank 1 of a training job ends the job (before the test's deadline; the
#              seconds it took are printed, not checked), FAILED with a line
#              naming rank 1, and its resubmission resumes bitwise-equal; a t2 that
#              crashes by a signal at its first start is launched again and completes, one
#              that crashes at every start fails after one retry.
#   two_nodes  two slurmd on 127.0.0.1: the same chain with its MPI stages on 2 nodes x 1
#              rank (srun --mpi=pmix), and the evaluation again where srun's MPI type does
#              not exist, through the mpirun fallback: the same counts (test_eval_check same).
# Every job is judged by `scontrol show job -o` (JobState=COMPLETED, ExitCode=0:0, for every
# array task; sbatch --wait says 0 for a job cancelled by a failed dependency) and by its
# outputs (t2 inspect reads the experts, the bundle lists them, the report is written).
# The cluster is always stopped and its folder removed, also when a check fails; the job
# and daemon logs are printed first then. Exit 77 (ctest: skipped) with the reason when this
# machine cannot run slurmd.
# usage: test_slurm.sh one_node|two_nodes T2_EXE SOURCE_DIR WORK_DIR [EVAL_CHECK_EXE]
set -uo pipefail
mode=$1 t2=$2 src=$3 base=$4 check=${5:-}
failed=1 # until the end is reached

fail() {
    echo "FAIL: $*"
    exit 1
}
note() {
    echo "-- $*"
}

[ -x "$t2" ] || fail "$t2: not an executable; expected the t2 binary"
mkdir -p "$base" || fail "$base: cannot create"
root=$(mktemp -d "$base/$mode.XXXXXX") || fail "$base: cannot make a folder"
# unix socket paths (munge, slurmd, PMIx) must stay under 108 bytes
if [ ${#root} -gt 48 ]; then
    rmdir "$root"
    root=$(mktemp -d /tmp/t2-slurm.XXXXXX) || fail "cannot make a folder under /tmp"
fi
work=$root/work

cleanup() {
    "$src/tests/slurm_cluster.sh" stop "$root"
    if [ "$failed" = 1 ]; then
        for f in "$work"/logs/*.out "$work"/*/logs/*.out "$root"/kill/*/logs/*.out "$root"/log/*.log; do
            [ -f "$f" ] || continue
            echo "===== $f (last 30 lines)"
            tail -n 30 "$f"
        done
    fi
    if [ -n "${T2_SLURM_KEEP:-}" ]; then echo "kept $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

nnodes=1
[ "$mode" = two_nodes ] && nnodes=2
"$src/tests/slurm_cluster.sh" start "$root" "$nnodes"
case $? in
0) ;;
77) failed=0; exit 77 ;;
*) fail "the private Slurm cluster did not start" ;;
esac
export SLURM_CONF=$root/etc/slurm.conf
deadline=$((SECONDS + 240)) # well inside ctest's timeout, so that cleanup always runs

# config FILE [VAR=VALUE...]: settings for the jobs: slurm/config.sh, then this build's t2,
# the private folders, tiny runs, then the VAR=VALUE given.
config() {
    local file=$1
    shift
    {
        echo ". \"$src/slurm/config.sh\""
        echo "T2=$t2"
        echo "T2_WORK=$work T2_LOGS=$work/logs T2_EVAL_OUT=$work/eval"
        echo "T2_NODES=$nnodes T2_TASKS_PER_NODE=$((3 - nnodes)) T2_CPUS_PER_TASK=1"
        echo "T2_ARRAY_NODES=1 T2_ARRAY_TASKS_PER_NODE=1"
        echo "T2_TIME_DECOMPOSE=5 T2_TIME_TRAIN=5 T2_TIME_BUNDLE=5 T2_TIME_EVAL=5 T2_TIME_FEWSHOT=5"
        echo "T2_TRAIN_ARGS='--steps 1 --batch 4 --chunk 2 --val-samples 4 --max-new-tokens 16'"
        echo "T2_EVAL_ARGS='--tasks math,code --strategies base,prompt,classifier --n 4 --batch 2 --max-new-tokens 16'"
        echo "T2_FEWSHOT_ARGS='--fewshot-examples 4 --fewshot-iterations 1 --fewshot-population 4 --max-new-tokens 16'"
        printf '%s\n' "$@"
    } >"$file"
}

# The records of a job, one line per array task: JobId=... JobState=... ExitCode=...
records() {
    scontrol show job -o "$1" 2>/dev/null
}
field() { # NAME: the value of " NAME=" in the line on stdin
    grep -o " $1=[^ ]*" | head -n 1 | cut -d= -f2-
}

# wait_end ID: until every record of the job is in a final state (or the deadline).
wait_end() {
    local states missing=0
    while :; do
        states=$(records "$1" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort -u)
        if [ -z "$states" ]; then # slurmctld busy, or the job is gone
            missing=$((missing + 1))
            [ $missing -lt 20 ] || fail "job $1: unknown to scontrol; expected its records"
        elif ! grep -q -v -x -E 'COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|PREEMPTED|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE' \
            <<<"$states"; then
            return 0
        elif records "$1" | grep -q 'JobState=PENDING .*Reason=DependencyNeverSatisfied'; then
            fail "job $1: pending for a dependency that failed; expected it cancelled (--kill-on-invalid-dep)"
        fi
        [ $SECONDS -lt $deadline ] || {
            records "$1"
            fail "job $1: still $(echo $states) at the test's deadline"
        }
        sleep 0.5
    done
}

# job_ok ID [COUNT]: waits for the job; true when it has COUNT records (array tasks;
# default 1) and each says JobState=COMPLETED and ExitCode=0:0. Prints each record's state.
job_ok() {
    local id=$1 count=${2:-1} line ok=0 n=0
    wait_end "$id"
    while read -r line; do
        n=$((n + 1))
        local st ec task
        st=$(field JobState <<<" $line") ec=$(field ExitCode <<<" $line")
        task=$(field ArrayTaskId <<<" $line")
        echo "   job $id${task:+ task $task}: $st, exit code $ec, $(field Reason <<<" $line")"
        [ "$st" = COMPLETED ] && [ "$ec" = 0:0 ] || ok=1
    done < <(records "$id")
    [ "$n" -eq "$count" ] || { echo "   job $id: $n records; expected $count"; ok=1; }
    return $ok
}

# inspect_has FILE REGEX: t2 inspect reads FILE and prints a line matching REGEX.
inspect_has() {
    local out rc=0
    out=$("$t2" inspect "$1" 2>&1) || rc=$?
    [ $rc -eq 0 ] || { echo "$out"; fail "t2 inspect $1: exit status $rc"; }
    grep -q -E -- "$2" <<<"$out" || { echo "$out"; fail "t2 inspect $1: no line matching /$2/"; }
}

# submit_all CONFIG: slurm/submit-all.sh; sets job[STAGE] to the job ids it prints.
declare -A job
submit_all() {
    local out stage id
    out=$(T2_CONFIG=$1 "$src/slurm/submit-all.sh") || fail "slurm/submit-all.sh failed: $out"
    echo "$out"
    while read -r stage id; do job[$stage]=$id; done <<<"$out"
    for stage in decompose train-array bundle eval fewshot; do
        [[ ${job[$stage]:-} =~ ^[0-9]+$ ]] || fail "submit-all.sh: no job id for $stage"
    done
}

# check_chain RANKS: every job of submit_all completed and wrote what it should.
check_chain() {
    local ranks=$1 name i=0 experts=(math code reasoning cls)
    job_ok "${job[decompose]}" || fail "the decomposition job did not complete"
    job_ok "${job[train-array]}" 4 || fail "the training array did not complete in 4 tasks"
    job_ok "${job[bundle]}" || fail "the bundle job did not complete"
    job_ok "${job[eval]}" || fail "the evaluation job did not complete"
    job_ok "${job[fewshot]}" || fail "the few-shot job did not complete"
    [ -s "$work/default-model.svd" ] || fail "no store $work/default-model.svd"
    for name in "${experts[@]}"; do
        inspect_has "$work/experts/$name.expert" "^  task +$name$"
        inspect_has "$work/experts/$name.expert" "^  ranks +1$"
        local log=$work/logs/t2-train-array-${job[train-array]}_$i.out
        grep -q "t2 slurm: expert $name: $work/experts/$name.expert" "$log" ||
            fail "$log: does not say that task $i trained $name"
        i=$((i + 1))
    done
    inspect_has "$work/experts.t2b" "^  categories +math, code, reasoning$"
    inspect_has "$work/experts.t2b" "^  classifier +cls$"
    inspect_has "$work/experts.t2b" "^expert 3 of 3: reasoning$"
    grep -q "\"ranks\": $ranks," "$work/eval/report.json" ||
        fail "$work/eval/report.json: not a report of $ranks ranks"
    [ "$(grep -c '^| \(math\|code\)@3 | \(base\|prompt\|classifier\) |' "$work/eval/table.md")" -eq 6 ] ||
        fail "$work/eval/table.md: expected 6 rows (2 tasks x 3 strategies)"
    grep -q '^| code@3 | classifier |' "$work/logs/t2-eval-${job[eval]}.out" ||
        fail "the evaluation's log does not hold the table"
    inspect_has "$work/fewshot/mc_math.expert" "parametrization=linear"
    grep -q '^== query 1 (answered by mixture)$' "$work/fewshot/answers.txt" ||
        fail "$work/fewshot/answers.txt: no answer of the mixture"
    grep -q 't2 slurm: launcher: srun --mpi=pmix' "$work/logs/t2-decompose-${job[decompose]}.out" ||
        fail "the decomposition was not launched with srun --mpi=pmix"
}

# A chain whose first job fails: every job after it must be cancelled, and job_ok must
# call each of them a failure.
failing_chain() {
    note "a chain that fails: the model is not there"
    config "$root/bad.sh" "T2_MODEL=$root/no-such-model" "T2_WORK=$root/bad" "T2_LOGS=$root/bad/logs"
    submit_all "$root/bad.sh"
    local stage st
    ! job_ok "${job[decompose]}" || fail "a decomposition of a missing model passed as completed"
    st=$(records "${job[decompose]}" | field JobState)
    [ "$st" = FAILED ] || fail "the decomposition of a missing model: $st; expected FAILED"
    grep -q "t2 decompose: error: .*no-such-model" "$root/bad/logs/t2-decompose-${job[decompose]}.out" ||
        fail "the failed decomposition's log does not hold t2's error"
    for stage in train-array bundle eval fewshot; do
        ! job_ok "${job[$stage]}" || fail "$stage after a failed job passed as completed"
        records "${job[$stage]}" | grep -q 'JobState=CANCELLED .*Reason=DependencyNeverSatisfied' ||
            fail "$stage after a failed job: not CANCELLED for its dependency"
    done
    note "the failed job and the 4 cancelled after it were all seen as failures"
}

# A training job requeued while it runs (as Slurm does after a node failure) resumes from
# its checkpoint: its second run says so, and the metrics hold each step once.
requeue() {
    note "a training job requeued mid-run resumes from its checkpoint"
    local ckpt=$work/experts/math-ckpt steps=12 id log
    rm -rf "$ckpt" "$work/experts/math.jsonl"
    config "$root/requeue.sh" \
        "T2_TRAIN_ARGS='--steps $steps --batch 4 --chunk 2 --val-samples 4 --max-new-tokens 16 --val-every 0 --checkpoint-every 1'"
    id=$(T2_CONFIG=$root/requeue.sh "$src/slurm/submit.sh" train math) || fail "submit.sh train math"
    while [ ! -e "$ckpt/train-state.pb" ]; do
        [ $SECONDS -lt $deadline ] || fail "job $id: no checkpoint in $ckpt by the deadline"
        sleep 0.2
    done
    scontrol requeue "$id" || fail "scontrol requeue $id"
    job_ok "$id" || fail "the requeued training job did not complete"
    [ "$(records "$id" | field Restarts)" = 1 ] || fail "job $id: not restarted once"
    log=$work/logs/t2-train-math-$id.out
    grep -q '^train: resuming after step [0-9]' "$log" ||
        fail "$log: the second run did not resume from the checkpoint"
    grep -q 'restart 1;' "$log" || fail "$log: the second run's start is not in the log"
    seq 1 $steps | cmp -s - <(grep -o '"step": [0-9]*' "$work/experts/math.jsonl" | cut -d' ' -f2) ||
        fail "$work/experts/math.jsonl: expected the steps 1 to $steps once each"
    inspect_has "$work/experts/math.expert" "^  steps +$steps$"
    grep '^train: resuming' "$log"
}

# What the time limit does with #SBATCH --signal=B:USR1@120 (train.sbatch), sent by hand:
# SIGUSR1 to the batch shell, which passes it to t2; t2 train checkpoints at the end of its
# step and exits 75; the script requeues the job; its second run resumes and completes, and
# the metrics hold each step once.
signal_requeue() {
    note "a training job sent SIGUSR1 (as ahead of its time limit) checkpoints, requeues itself, resumes"
    local ckpt=$work/experts/math-ckpt steps=8 id log
    rm -rf "$ckpt" "$work/experts/math.jsonl"
    config "$root/signal.sh" \
        "T2_TRAIN_ARGS='--steps $steps --batch 4 --chunk 2 --val-samples 4 --max-new-tokens 16 --val-every 0 --checkpoint-every 100'"
    id=$(T2_CONFIG=$root/signal.sh "$src/slurm/submit.sh" train math) || fail "submit.sh train math"
    while ! grep -q '"step": 1,' "$work/experts/math.jsonl" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "job $id: no step by the deadline"
        sleep 0.2
    done
    scancel --batch --signal=USR1 "$id" || fail "scancel --batch --signal=USR1 $id"
    job_ok "$id" || fail "the training job stopped by SIGUSR1 did not complete after its requeue"
    [ "$(records "$id" | field Restarts)" = 1 ] || fail "job $id: not restarted once"
    log=$work/logs/t2-train-math-$id.out
    grep -q '^train: stopped by SIGUSR1 after step [0-9]*; checkpoint in ' "$log" ||
        fail "$log: t2 did not stop at a step boundary on SIGUSR1"
    grep -q 'stopped by a signal after writing its checkpoint (exit 75); requeueing job' "$log" ||
        fail "$log: the script did not requeue the job"
    grep -q '^train: resuming after step [0-9]' "$log" || fail "$log: the second run did not resume"
    seq 1 $steps | cmp -s - <(grep -o '"step": [0-9]*' "$work/experts/math.jsonl" | cut -d' ' -f2) ||
        fail "$work/experts/math.jsonl: expected the steps 1 to $steps once each"
    grep -E '^train: (stopped|resuming)' "$log"
}

# kill -9 of rank 1 of a training job in the middle of its run (after step 2's metrics
# line): the other rank ends promptly (t2_watch_srun, not Slurm's KillWait), the job FAILED
# with one line naming rank 1 and no expert; resubmitted, it resumes from its checkpoint and
# gives the expert of an uninterrupted run bit for bit (its exported vectors).
kill_rank() {
    note "kill -9 of rank 1 of a training job: the job fails naming rank 1; resubmitted, it resumes bitwise-equal"
    local steps=8 id id2 log p pid="" args dir=$root/kill
    args="--steps $steps --batch 4 --chunk 2 --val-samples 4 --max-new-tokens 16 --val-every 0 --checkpoint-every 1 --objective sft --lr 0.02"
    mkdir -p "$dir/base" "$dir/kill"
    cp "$work/default-model.svd" "$dir/base/" && cp "$work/default-model.svd" "$dir/kill/" || fail "no store to copy"
    config "$dir/base.sh" "T2_WORK=$dir/base" "T2_LOGS=$dir/base/logs" "T2_TRAIN_ARGS='$args'"
    config "$dir/kill.sh" "T2_WORK=$dir/kill" "T2_LOGS=$dir/kill/logs" "T2_TRAIN_ARGS='$args'"
    id=$(T2_CONFIG=$dir/base.sh "$src/slurm/submit.sh" train math) || fail "submit.sh train math"
    job_ok "$id" || fail "the uninterrupted training job did not complete"
    id=$(T2_CONFIG=$dir/kill.sh "$src/slurm/submit.sh" train math) || fail "submit.sh train math"
    while ! grep -q '"step": 2,' "$dir/kill/experts/math.jsonl" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "job $id: no step 2 by the deadline"
        sleep 0.1
    done
    for p in $(scontrol listpids "$id" 2>/dev/null | awk 'NR > 1 { print $1 }'); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = t2 ] && tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
            grep -q -x -E '(SLURM_PROCID|OMPI_COMM_WORLD_RANK)=1' && pid=$p
    done
    [ -n "$pid" ] || fail "job $id: no t2 process of rank 1 in scontrol listpids"
    kill -9 "$pid"
    local t0=$SECONDS
    ! job_ok "$id" || fail "a training job whose rank was killed passed as completed"
    echo "   ended $((SECONDS - t0)) s after the kill (whole seconds)"
    log=$dir/kill/logs/t2-train-math-$id.out
    grep -q '^t2 slurm: error: t2 train: lost rank 1 (Killed); exit status 137' "$log" ||
        fail "$log: no line naming the lost rank 1"
    [ ! -e "$dir/kill/experts/math.expert" ] || fail "a killed training job wrote an expert"
    id2=$(T2_CONFIG=$dir/kill.sh "$src/slurm/submit.sh" train math) || fail "submit.sh train math"
    job_ok "$id2" || fail "the resubmitted training job did not complete"
    grep -q '^train: resuming after step [0-9]' "$dir/kill/logs/t2-train-math-$id2.out" ||
        fail "the resubmitted job did not resume from the checkpoint"
    "$t2" export --format safetensors --out "$dir/base.st" "$dir/base/experts/math.expert" 2>/dev/null &&
        "$t2" export --format safetensors --out "$dir/kill.st" "$dir/kill/experts/math.expert" 2>/dev/null ||
        fail "t2 export of the experts"
    cmp "$dir/base.st" "$dir/kill.st" || fail "killed and resumed expert differs from the uninterrupted one"
    [ -z "$(find "$dir" -name '*.tmp.*')" ] || fail "temp files left under $dir"
    grep 'lost rank' "$log"
}

# A launch whose task crashes by a signal (as t2 decompose was seen to do once at start-up
# under srun --mpi=pmix, docs/slurm.md) is launched once more: a t2 that segfaults on its
# first start only gives a COMPLETED decomposition whose log says it retried; one that crashes
# every time gives a FAILED job after T2_LAUNCH_RETRIES more launches, not a loop. (Each task
# that starts takes a ticket until CRASHES are gone; 100 outlast every launch.)
crash_retry() {
    local crashes=$1 want=$2 wrapper=$root/crash-$1.sh dir=$root/crash-$1 id log n
    note "a t2 that crashes by a signal on its first $crashes start(s): $want"
    mkdir -p "$dir"
    cat >"$wrapper" <<EOS
#!/bin/bash
# the first task to start takes a ticket (mkdir is atomic); the first $crashes tickets crash
if [ "\$1" = decompose ]; then
    for i in \$(seq 1 $crashes); do
        if mkdir "$dir/ticket.\$i" 2>/dev/null; then ulimit -c 0; kill -SEGV \$\$; fi
    done
fi
exec "$t2" "\$@"
EOS
    chmod +x "$wrapper"
    config "$dir/config.sh" "T2=$wrapper" "T2_WORK=$dir" "T2_LOGS=$dir/logs"
    id=$(T2_CONFIG=$dir/config.sh "$src/slurm/submit.sh" decompose) || fail "submit.sh decompose"
    log=$dir/logs/t2-decompose-$id.out
    if [ "$want" = completes ]; then
        job_ok "$id" || fail "a decomposition whose first launch crashed did not complete"
        [ -s "$dir/default-model.svd" ] || fail "$dir/default-model.svd: not written after the retry"
    else
        ! job_ok "$id" || fail "a decomposition that crashes at every launch passed as completed"
        [ ! -e "$dir/default-model.svd" ] || fail "$dir/default-model.svd: written by a crashing t2"
    fi
    n=$(grep -c 'warning: t2 decompose: a task died by a signal' "$log")
    [ "$n" = 1 ] || fail "$log: $n retries; expected 1 (T2_LAUNCH_RETRIES=1)"
}

case $mode in
one_node)
    note "one node: the whole chain through slurm/submit-all.sh"
    config "$root/config.sh"
    submit_all "$root/config.sh"
    check_chain 2
    failing_chain
    requeue
    signal_requeue
    kill_rank
    crash_retry 1 completes
    crash_retry 100 fails
    ;;
two_nodes)
    note "two nodes: the chain with its MPI stages on node1 and node2"
    config "$root/config.sh"
    # auto with an MPI type srun does not have: the fallback a cluster without PMIx takes
    config "$root/mpirun.sh" T2_LAUNCHER=auto T2_SRUN_MPI=nopmix "T2_EVAL_OUT=$work/eval-mpirun"
    submit_all "$root/config.sh"
    mpirun_eval=$(T2_CONFIG=$root/mpirun.sh "$src/slurm/submit.sh" eval \
        --dependency=afterok:${job[bundle]}) || fail "submit.sh eval (mpirun)"
    check_chain 2
    for id in "${job[decompose]}" "${job[eval]}" "${job[fewshot]}"; do
        [ "$(records "$id" | field NodeList)" = "node[1-2]" ] || fail "job $id did not run on node[1-2]"
    done
    job_ok "$mpirun_eval" || fail "the evaluation through mpirun did not complete"
    log=$work/logs/t2-eval-$mpirun_eval.out
    grep -q 't2 slurm: srun --mpi=nopmix does not work here (.*); using mpirun' "$log" ||
        fail "$log: the fallback to mpirun does not say why"
    grep -q 't2 slurm: launcher: mpirun -np 2 --host node1:1,node2:1 ' "$log" ||
        fail "$log: no launcher line of mpirun on node1 and node2"
    if [ -n "$check" ]; then
        "$check" same "$work/eval/report.json" "$work/eval-mpirun/report.json" ||
            fail "the evaluation through mpirun counts otherwise than through srun"
    fi
    ;;
*) fail "unknown mode $mode; expected one_node or two_nodes" ;;
esac
failed=0
echo "slurm $mode: all checks passed"
