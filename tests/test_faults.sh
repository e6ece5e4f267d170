#!/bin/sh
# Injected faults (docs/reliability.md, "Faults"), on the shipped default model (and a larger
# random one for t2 decompose) under mpirun with 2 ranks:
#   kill     SIGKILL to rank 1 in the middle of t2 train, t2 decompose, t2 eval and t2
#            pretrain: mpirun and the other rank are gone within 10 s, with one line naming
#            rank 1 (Open MPI's own); no output of the killed run; the rerun (train and
#            pretrain resume from their checkpoint, decompose and eval start over) ends
#            bitwise-equal to an uninterrupted run, and removes the temp files of writers
#            that are gone (those the killed run left and planted ones);
#   signal   SIGUSR1 to mpirun (which forwards it) in the middle of t2 train, SIGTERM to
#            every rank (what Slurm sends the tasks of srun) in that of t2 pretrain: the
#            checkpoint of the step under way, one line, exit 75, no expert or model; the
#            rerun resumes and ends bitwise-equal, each metrics line once;
#   disk     a full disk (the T2_FAULT_WRITE_AFTER hook of base/file.h) while writing a
#            store, an expert, a bundle, a pretraining and a training checkpoint, and a
#            metrics line: one error line with "No space left on device", the previous file
#            byte for byte, no temp file; the metrics file keeps whole lines only;
#   corrupt  one bit flipped in the middle of the data of a store, a pretraining checkpoint,
#            a training checkpoint, an expert and a bundle: every reader refuses with one
#            line naming the file; a store and a checkpoint of the format before the
#            checksum (tests/faults_tool.c strip) still load.
# usage: test_faults.sh PART T2_EXE MPIEXEC SOURCE_DIR FAULTS_TOOL EVAL_CHECK_EXE [WHICH]
#   WHICH (signal only): train, pretrain or both (the default)
set -eu
part=$1; t2=$2; mpiexec=$3; src=$4; tool=$5; check=$6; which=${7:-both}
dir=$(mktemp -d "${TMPDIR:-/tmp}/t2-faults-XXXXXX")
. "$src/tests/session.sh"
trap 'session_kill "$dir/run.sid"; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
model=$src/assets/default-model
mpi2="$mpiexec -n 2 --oversubscribe"

# clean LOG: no sanitizer report, assertion or crash in LOG.
clean() {
    ! grep -q -E "AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|assertion failed|Segmentation fault" "$1" ||
        { cat "$1"; fail "a sanitizer report, assertion or crash in $1"; }
}
# run_ok LOG COMMAND...: runs COMMAND with stderr into LOG; fails showing LOG unless it exits 0.
run_ok() {
    log=$1; shift
    status=0
    "$@" 2>"$log" >"$log.out" || status=$?
    clean "$log"
    [ "$status" -eq 0 ] || { cat "$log"; fail "exit status $status of: $*"; }
}
# run_fails LOG REGEX COMMAND...: COMMAND must exit 1 with exactly one "error:" line on
# stderr (in LOG), matching REGEX.
run_fails() {
    log=$1; want=$2; shift 2
    status=0
    "$@" 2>"$log" >/dev/null || status=$?
    clean "$log"
    [ "$status" -eq 1 ] || { cat "$log"; fail "exit status $status; expected 1: $*"; }
    [ "$(grep -c 'error:' "$log")" -eq 1 ] || { cat "$log"; fail "expected one error line: $*"; }
    grep -q -E -- "$want" "$log" || { cat "$log"; fail "no line matching /$want/: $*"; }
}
# same FILE1 FILE2 WHAT: byte-for-byte equal.
same() { cmp -s "$1" "$2" || fail "$3 ($1 and $2 differ)"; }
# no_temps: no "<file>.tmp.<pid>" anywhere under the test's folder.
no_temps() {
    left=$(find "$dir" -name '*.tmp.[0-9]*')
    [ -z "$left" ] || fail "temp files left behind ($1): $left"
}
# plant FILE: a temp file of FILE as a writer that is gone (a PID that has exited) leaves it.
plant() {
    dead=$(sh -c 'echo $$')
    echo "half-written" >"$1.tmp.$dead"
}
# rank_pid RANK: the PID of that rank of the run in $dir/run.sid (Open MPI gives each rank
# OMPI_COMM_WORLD_RANK in its environment; mpirun itself has none).
rank_pid() {
    for pid in $(session_members "$(cat "$dir/run.sid")"); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -q -x "OMPI_COMM_WORLD_RANK=$1"; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}
# start NAME COMMAND...: COMMAND in a session of its own (tests/session.sh), stderr into
# $dir/NAME.log; waits until the session's id is known.
start() {
    name=$1; shift
    session_start "$dir/run.sid" "$@" 2>"$dir/$name.log"
    while [ ! -s "$dir/run.sid" ]; do sleep 0.02; done
}
# wait_for CONDITION: until the shell condition holds; fails if the run ends first.
wait_for() {
    until eval "$1"; do
        kill -0 "$session_job" 2>/dev/null || { cat "$dir/$name.log"; fail "$name ended before: $1"; }
        sleep 0.05
    done
}
# ended_within SECONDS: the run's session has no live process left within SECONDS of now;
# sets status to the run's exit status.
ended_within() {
    t0=$(date +%s%N)
    while [ -n "$(session_members "$(cat "$dir/run.sid")")" ]; do
        [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt $(( $1 * 1000 )) ] ||
            { ps -e -o pid,sid,stat,args | grep -v grep | grep "$(cat "$dir/run.sid")"; fail "$name: processes still alive $1 s after the fault"; }
        sleep 0.1
    done
    echo "$name: every process gone $(( ($(date +%s%N) - t0) / 1000000 )) ms after the fault"
    status=0
    wait "$session_job" || status=$?
}
# kill_rank1 NAME CONDITION COMMAND...: starts COMMAND, kills rank 1 with SIGKILL once
# CONDITION holds, and checks that the rest stops within 10 s, with one line naming rank 1.
kill_rank1() {
    name=$1; cond=$2; shift 2
    start "$name" "$@"
    wait_for "$cond"
    pid=$(rank_pid 1) || fail "$name: no process of rank 1"
    kill -9 "$pid"
    ended_within 10
    [ "$status" -ne 0 ] || fail "$name: exit status 0 after a rank was killed"
    n=$(grep -c -E "rank 1 .*(exited on signal 9|Killed)" "$dir/$name.log" || true)
    [ "$n" -eq 1 ] || { cat "$dir/$name.log"; fail "$name: $n lines name rank 1 as killed; expected 1"; }
    grep -E "rank 1 .*(exited on signal 9|Killed)" "$dir/$name.log"
}

"$t2" decompose --model "$model" --out "$dir/svd" 2>/dev/null || fail "decompose"
train="--model $model --store $dir/svd --task math --task-train-size 64 --val-samples 8 --batch 12 --chunk 4 --max-new-tokens 32 --val-every 2 --lr 0.02 --reward-norm center"
pretrain="--init-model $model --batch-seqs 4 --seq-len 64 --micro-batch 2 --lr 0.01 --warmup 2 --eval-every 0 --eval-rows 2 --corpus math:1"
# export NAME: the trained vectors of $dir/NAME.expert (the expert file also holds the run's
# wall time) into $dir/NAME.safetensors.
export_expert() {
    "$t2" export --format safetensors --out "$dir/$1.safetensors" "$dir/$1.expert" || fail "export $1"
}
steps_once() { # METRICS N: the metrics file holds steps 1..N once each, in order
    grep -o '"step": [0-9]*' "$1" | cut -d' ' -f2 >"$dir/steps.got"
    seq 1 "$2" | cmp -s - "$dir/steps.got" || { cat "$1"; fail "$1: expected the steps 1 to $2 once each"; }
}

case $part in
kill)
    # t2 train: killed in step 2, after the checkpoint of step 1
    run_ok "$dir/a.log" $mpi2 "$t2" train $train --steps 4 --out "$dir/a.expert"
    export_expert a
    mkdir -p "$dir/ck"
    plant "$dir/ck/train-state.pb"
    plant "$dir/k.expert"
    kill_rank1 train-kill '[ -e "$dir/ck/train-state.pb" ]' $mpi2 "$t2" train $train --steps 4 \
        --checkpoint-dir "$dir/ck" --checkpoint-every 1 --out "$dir/k.expert" --metrics "$dir/k.jsonl"
    [ ! -e "$dir/k.expert" ] || fail "a killed training run wrote an expert"
    run_ok "$dir/k.log" $mpi2 "$t2" train $train --steps 4 --checkpoint-dir "$dir/ck" \
        --checkpoint-every 1 --out "$dir/k.expert" --metrics "$dir/k.jsonl"
    grep -q "resuming after step" "$dir/k.log" || fail "train: the rerun did not resume"
    export_expert k
    same "$dir/a.safetensors" "$dir/k.safetensors" "train: killed and resumed differs from uninterrupted"
    steps_once "$dir/k.jsonl" 4
    no_temps "train"

    # t2 decompose of a larger random model: killed after its second matrix; the store
    # starts over (docs/decompose.md) and is the same file as one rank's
    "$t2" new-model --out "$dir/big" --hidden 384 --layers 4 --heads 6 --kv-heads 2 --ffn 1024 \
        --seed 5 2>/dev/null || fail "new-model"
    run_ok "$dir/d1.log" "$t2" decompose --model "$dir/big" --out "$dir/big-1.svd"
    plant "$dir/big.svd"
    kill_rank1 decompose-kill 'grep -q "^decompose *2/" "$dir/decompose-kill.log"' $mpi2 "$t2" \
        decompose --model "$dir/big" --out "$dir/big.svd"
    [ ! -e "$dir/big.svd" ] || fail "a killed decomposition wrote the store"
    run_ok "$dir/d2.log" $mpi2 "$t2" decompose --model "$dir/big" --out "$dir/big.svd"
    same "$dir/big-1.svd" "$dir/big.svd" "decompose: the rerun after a kill differs from 1 rank's store"
    no_temps "decompose"

    # t2 eval: killed while the second task runs; it runs again from the start
    eval="--model $model --store $dir/svd --tasks math,code --n 96 --batch 4 --strategies base --max-new-tokens 32"
    run_ok "$dir/ea.log" $mpi2 "$t2" eval $eval --report "$dir/ea.json"
    kill_rank1 eval-kill 'grep -q "^eval: math@" "$dir/eval-kill.log"' $mpi2 "$t2" eval $eval \
        --report "$dir/ek.json" --table "$dir/ek.md"
    [ ! -e "$dir/ek.json" ] && [ ! -e "$dir/ek.md" ] || fail "a killed evaluation wrote its report"
    run_ok "$dir/ek.log" $mpi2 "$t2" eval $eval --report "$dir/ek.json" --table "$dir/ek.md"
    "$check" same "$dir/ea.json" "$dir/ek.json" || fail "eval: the rerun after a kill counts otherwise"
    no_temps "eval"

    # t2 pretrain: killed after step 3 (checkpoints every 2 steps)
    run_ok "$dir/pa.log" $mpi2 "$t2" pretrain $pretrain --steps 12 --out "$dir/pa"
    kill_rank1 pretrain-kill 'grep -q "\"step\": 3," "$dir/pk.jsonl" 2>/dev/null' $mpi2 "$t2" \
        pretrain $pretrain --steps 12 --out "$dir/pk" --checkpoint-dir "$dir/pck" \
        --checkpoint-every 2 --metrics "$dir/pk.jsonl"
    [ ! -e "$dir/pk/model.safetensors" ] || fail "a killed pretraining run wrote the model"
    run_ok "$dir/pk.log" $mpi2 "$t2" pretrain $pretrain --steps 12 --out "$dir/pk" \
        --checkpoint-dir "$dir/pck" --checkpoint-every 2 --resume
    grep -q "resuming after step" "$dir/pk.log" || fail "pretrain: the rerun did not resume"
    same "$dir/pa/model.safetensors" "$dir/pk/model.safetensors" \
        "pretrain: killed and resumed differs from uninterrupted"
    no_temps "pretrain"
    ;;

signal)
    # stop NAME SIGNAL TARGET COMMAND...: sends SIGNAL once step 2's metrics line is written,
    # to mpirun (TARGET mpirun) or to every rank (TARGET ranks); the run must stop with 75.
    stop() {
        name=$1; sig=$2; target=$3; shift 3
        start "$name" "$@"
        wait_for "grep -q '\"step\": 2,' \"$dir/$name.jsonl\" 2>/dev/null"
        if [ "$target" = mpirun ]; then
            kill -"$sig" "$(cat "$dir/run.sid")" # the session's leader is mpirun
        else
            kill -"$sig" "$(rank_pid 0)" "$(rank_pid 1)"
        fi
        ended_within 60
        clean "$dir/$name.log"
        [ "$status" -eq 75 ] || { cat "$dir/$name.log"; fail "$name: exit status $status; expected 75"; }
        grep -E "^(train|pretrain): stopped by SIG$sig after step [0-9]+; checkpoint in " "$dir/$name.log" ||
            { cat "$dir/$name.log"; fail "$name: no line saying where it stopped"; }
        ! grep -q "error:" "$dir/$name.log" || { cat "$dir/$name.log"; fail "$name: an error line"; }
    }
    # train through mpirun's forwarding (the sbatch scripts' way), pretrain by SIGTERM to the
    # ranks (srun's); both commands share dist/stop_signal.c, so each takes one path
    [ "$which" = pretrain ] || run_ok "$dir/a.log" $mpi2 "$t2" train $train --steps 6 --out "$dir/a.expert"
    [ "$which" = pretrain ] || export_expert a
    for how in "USR1 mpirun"; do
        [ "$which" != pretrain ] || break
        set -- $how
        n=t-$1
        stop "$n" "$1" "$2" $mpi2 "$t2" train $train --steps 6 --checkpoint-dir "$dir/ck-$n" \
            --checkpoint-every 100 --out "$dir/$n.expert" --metrics "$dir/$n.jsonl"
        [ -e "$dir/ck-$n/train-state.pb" ] || fail "$n: no checkpoint"
        [ ! -e "$dir/$n.expert" ] || fail "$n: a stopped run wrote an expert"
        run_ok "$dir/$n-2.log" $mpi2 "$t2" train $train --steps 6 --checkpoint-dir "$dir/ck-$n" \
            --checkpoint-every 100 --out "$dir/$n.expert" --metrics "$dir/$n.jsonl"
        grep -q "resuming after step" "$dir/$n-2.log" || fail "$n: the rerun did not resume"
        export_expert "$n"
        same "$dir/a.safetensors" "$dir/$n.safetensors" "$n: stopped and resumed differs from uninterrupted"
        steps_once "$dir/$n.jsonl" 6
    done
    [ "$which" = train ] || run_ok "$dir/pa.log" $mpi2 "$t2" pretrain $pretrain --steps 20 --out "$dir/pa"
    for how in "TERM ranks"; do
        [ "$which" != train ] || break
        set -- $how
        n=p-$1
        stop "$n" "$1" "$2" $mpi2 "$t2" pretrain $pretrain --steps 20 --checkpoint-dir "$dir/ck-$n" \
            --checkpoint-every 100 --out "$dir/$n" --metrics "$dir/$n.jsonl"
        [ -e "$dir/ck-$n/checkpoint.safetensors" ] || fail "$n: no checkpoint"
        [ ! -e "$dir/$n/model.safetensors" ] || fail "$n: a stopped run wrote the model"
        run_ok "$dir/$n-2.log" $mpi2 "$t2" pretrain $pretrain --steps 20 --checkpoint-dir "$dir/ck-$n" \
            --checkpoint-every 100 --out "$dir/$n" --metrics "$dir/$n.jsonl" --resume
        grep -q "resuming after step" "$dir/$n-2.log" || fail "$n: the rerun did not resume"
        same "$dir/pa/model.safetensors" "$dir/$n/model.safetensors" "$n: stopped and resumed differs"
        steps_once "$dir/$n.jsonl" 20
    done
    no_temps "signal"
    ;;

disk)
    full="No space left on device"
    # the store: 2 ranks, each may write 1 MB of the 9.4 MB; the old store stays
    cp "$dir/svd" "$dir/svd.orig"
    plant "$dir/svd"
    run_fails "$dir/store.log" "svd: write failed: $full" env T2_FAULT_WRITE_AFTER=1000000 \
        $mpi2 "$t2" decompose --model "$model" --out "$dir/svd" --force
    same "$dir/svd.orig" "$dir/svd" "a failed store write changed the store"
    # an expert, a training checkpoint and a bundle
    quick="--model $model --store $dir/svd --task math --batch 4 --chunk 2 --val-samples 4 --max-new-tokens 16"
    run_ok "$dir/e.log" "$t2" train $quick --steps 1 --out "$dir/e.expert"
    cp "$dir/e.expert" "$dir/e.orig"
    run_fails "$dir/e2.log" "e.expert: write failed: $full" env T2_FAULT_WRITE_AFTER=100 \
        T2_FAULT_WRITE_MATCH=e.expert "$t2" train $quick --steps 1 --out "$dir/e.expert"
    same "$dir/e.orig" "$dir/e.expert" "a failed expert write changed the expert"
    run_ok "$dir/c.log" $mpi2 "$t2" train $quick --steps 3 --checkpoint-dir "$dir/ck" \
        --checkpoint-every 1 --stop-after 1 --out "$dir/c.expert"
    cp "$dir/ck/train-state.pb" "$dir/state.orig"
    run_fails "$dir/c2.log" "train-state.pb: write failed: $full" env T2_FAULT_WRITE_AFTER=100 \
        T2_FAULT_WRITE_MATCH=train-state.pb $mpi2 "$t2" train $quick --steps 3 \
        --checkpoint-dir "$dir/ck" --checkpoint-every 1 --out "$dir/c.expert"
    same "$dir/state.orig" "$dir/ck/train-state.pb" "a failed checkpoint write changed the checkpoint"
    "$t2" bundle create --out "$dir/b.t2b" "$dir/e.expert" 2>"$dir/b.log" || { cat "$dir/b.log"; fail "bundle"; }
    cp "$dir/b.t2b" "$dir/b.orig"
    run_fails "$dir/b2.log" "b.t2b: write failed: $full" env T2_FAULT_WRITE_AFTER=100 \
        "$t2" bundle create --out "$dir/b.t2b" "$dir/e.expert"
    same "$dir/b.orig" "$dir/b.t2b" "a failed bundle write changed the bundle"
    # a pretraining checkpoint: the resumed run cannot write the step-4 one
    run_ok "$dir/p.log" $mpi2 "$t2" pretrain $pretrain --steps 6 --out "$dir/p" \
        --checkpoint-dir "$dir/pck" --checkpoint-every 2 --stop-after 2
    cp "$dir/pck/checkpoint.safetensors" "$dir/pck.orig"
    plant "$dir/pck/checkpoint.safetensors"
    run_fails "$dir/p2.log" "checkpoint.safetensors: write failed: $full" env \
        T2_FAULT_WRITE_AFTER=1000 T2_FAULT_WRITE_MATCH=checkpoint.safetensors \
        $mpi2 "$t2" pretrain $pretrain --steps 6 --out "$dir/p" --checkpoint-dir "$dir/pck" \
        --checkpoint-every 2 --resume
    same "$dir/pck.orig" "$dir/pck/checkpoint.safetensors" "a failed checkpoint write changed it"
    # metrics: room for about two lines; the third append fails and leaves no part of itself
    run_fails "$dir/m.log" "m.jsonl: cannot append a line: $full" env T2_FAULT_WRITE_AFTER=250 \
        T2_FAULT_WRITE_MATCH=m.jsonl $mpi2 "$t2" pretrain $pretrain --steps 6 --out "$dir/m" \
        --metrics "$dir/m.jsonl"
    [ "$(grep -c . "$dir/m.jsonl")" -ge 1 ] || fail "m.jsonl: no line before the full disk"
    ! grep -v -q -E '^\{"step": [0-9]+, .*\}$' "$dir/m.jsonl" || { cat "$dir/m.jsonl"; fail "m.jsonl: a partial line"; }
    [ "$(tail -c 1 "$dir/m.jsonl" | od -An -c | tr -d ' ')" = '\n' ] || fail "m.jsonl: does not end in a whole line"
    [ ! -e "$dir/m/model.safetensors" ] || fail "a run whose metrics failed wrote its model"
    no_temps "disk"
    ;;

corrupt)
    # a store: every reader refuses it (decompose's re-use check, train, eval on 2 ranks)
    cp "$dir/svd" "$dir/bad.svd"
    "$tool" flip "$dir/bad.svd"
    sum="bad.svd: checksum [0-9a-f]{16} of the file differs from the recorded [0-9a-f]{16}: the store is corrupt"
    run_fails "$dir/s1.log" "$sum" "$t2" decompose --model "$model" --out "$dir/bad.svd"
    run_fails "$dir/s2.log" "$sum" $mpi2 "$t2" train --model "$model" --store "$dir/bad.svd" \
        --task math --steps 1 --batch 4 --chunk 2 --out "$dir/x.expert"
    quick="--model $model --store $dir/svd --task math --batch 4 --chunk 2 --val-samples 4 --max-new-tokens 16"
    run_ok "$dir/e.log" "$t2" train $quick --steps 1 --out "$dir/e.expert"
    "$t2" bundle create --out "$dir/b.t2b" "$dir/e.expert" 2>"$dir/b.log" || { cat "$dir/b.log"; fail "bundle"; }
    run_fails "$dir/s3.log" "$sum" $mpi2 "$t2" eval --model "$model" --store "$dir/bad.svd" \
        --bundle "$dir/b.t2b" --tasks math --n 4 --strategies expert:math
    # a store from before the checksum loads
    cp "$dir/svd" "$dir/old.svd"
    "$tool" strip "$dir/old.svd"
    run_ok "$dir/s4.log" "$t2" decompose --model "$model" --out "$dir/old.svd"
    grep -q "already holds this decomposition" "$dir/s4.log" || { cat "$dir/s4.log"; fail "old store not re-used"; }
    # a pretraining checkpoint
    run_ok "$dir/p.log" $mpi2 "$t2" pretrain $pretrain --steps 4 --out "$dir/p" \
        --checkpoint-dir "$dir/pck" --checkpoint-every 2 --stop-after 2
    cp "$dir/pck/checkpoint.safetensors" "$dir/pck.good"
    "$tool" flip "$dir/pck/checkpoint.safetensors"
    run_fails "$dir/p2.log" "checkpoint.safetensors: checksum [0-9a-f]{16} of the checkpoint differs from the recorded [0-9a-f]{16}: the file is corrupt" \
        $mpi2 "$t2" pretrain $pretrain --steps 4 --out "$dir/p" --checkpoint-dir "$dir/pck" --resume
    cp "$dir/pck.good" "$dir/pck/checkpoint.safetensors"
    "$tool" strip "$dir/pck/checkpoint.safetensors"
    run_ok "$dir/p3.log" $mpi2 "$t2" pretrain $pretrain --steps 4 --out "$dir/p" \
        --checkpoint-dir "$dir/pck" --resume
    grep -q "resuming after step 2" "$dir/p3.log" || fail "a checkpoint from before the checksum did not resume"
    # a training checkpoint, an expert, a bundle (sealed by rl/expert_impl.h)
    run_ok "$dir/t.log" "$t2" train $quick --steps 2 --checkpoint-dir "$dir/ck" --stop-after 1 \
        --out "$dir/t.expert"
    "$tool" flip-raw "$dir/ck/train-state.pb"
    run_fails "$dir/t2.log" "train-state.pb: not a t2 training checkpoint \(checksum" \
        $mpi2 "$t2" train $quick --steps 2 --checkpoint-dir "$dir/ck" --out "$dir/t.expert"
    "$tool" flip-raw "$dir/e.expert"
    "$tool" flip-raw "$dir/b.t2b"
    run_fails "$dir/e2.log" "e.expert: not a t2 expert file \(checksum" "$t2" inspect "$dir/e.expert"
    run_fails "$dir/b2.log" "b.t2b: not a t2 expert bundle \(checksum" "$t2" inspect "$dir/b.t2b"
    ;;
*) fail "unknown part $part; expected kill, signal, disk or corrupt" ;;
esac
echo "faults $part: all checks passed"
