#!/bin/sh
# Benchmark of a real-size model on this machine (issue 16): a Llama-3.2-1B-shaped random
# BF16 checkpoint written by `t2 new-model` (d 2048, 16 layers, 32/8 heads, ffn 8192,
# vocab 128256, tied; 1.24 B parameters, 2.47 GB), its MLP decomposition, then on RANKS ranks
# (default 2):
#   t2 train   MLP targets, batch 16, chunk 4, 128 new tokens, STEPS steps (default 1);
#   t2 eval    the trained expert on N samples;
#   t2 adapt   --strategy fewshot over a bundle of that expert and a second one.
# For each it prints the machine's memory in use (MemTotal - MemAvailable of /proc/meminfo,
# sampled every 0.2 s) at its peak, above what was in use before it started, and t2's own
# per-rank RSS / PSS / file-backed / shared lines (dist/runtime.h); for train also the
# step's time by part (the metrics' "seconds"; "update" is the composition of W'). The model's file pages
# are in the page cache before each run (counted in neither figure; they are in the PSS).
#
#   bench/bench_scale.sh BUILD_DIR [WORK_DIR]     (WORK_DIR default /tmp/t2-bench-scale)
# Environment: RANKS, STEPS, N (eval samples, default 8). Takes ~30 minutes here; run it
# alone on the machine. Needs ~7 GB of disk in WORK_DIR.
set -eu
build=$(cd "$1" && pwd)
work=${2:-/tmp/t2-bench-scale}
ranks=${RANKS:-2}
steps=${STEPS:-1}
n=${N:-8}
t2="$build/t2"
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 BLIS_NUM_THREADS=1
mpi="mpirun -n $ranks --oversubscribe"

used_kb() { awk '/^MemTotal/ {t=$2} /^MemAvailable/ {a=$2} END {print t - a}' /proc/meminfo; }

# measure NAME COMMAND...: runs the command, samples memory in use, prints the peak.
measure() {
    name=$1
    shift
    base=$(used_kb)
    start=$(date +%s)
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    peak=$base
    while kill -0 "$pid" 2>/dev/null; do
        now=$(used_kb)
        [ "$now" -gt "$peak" ] && peak=$now
        sleep 0.2
    done
    status=0
    wait "$pid" || status=$?
    end=$(date +%s)
    awk -v n="$name" -v s="$status" -v t=$((end - start)) -v p="$peak" -v b="$base" 'BEGIN {
        printf "%-9s exit %d, %5d s, machine memory in use at peak: %.2f GiB above the %.2f GiB before\n",
            n, s, t, (p - b) / 1048576, b / 1048576 }'
    grep 'memory ' "$work/$name.err" | sed 's/^/    /' || true
    [ "$status" -eq 0 ] || { tail -5 "$work/$name.err"; exit 1; }
}

model="$work/llama-1b"
if [ ! -f "$model/model.safetensors" ]; then
    measure new-model "$t2" new-model --out "$model" --hidden 2048 --layers 16 --heads 32 \
        --kv-heads 8 --ffn 8192 --vocab 128256 --max-positions 2048 --tie --dtype BF16
fi
store="$work/llama-1b-mlp.t2s"
[ -f "$store" ] || measure decompose $mpi "$t2" decompose --model "$model" --out "$store" --targets mlp
cat "$model/model.safetensors" "$store" >/dev/null # both in the page cache, as a rerun finds them

common="--model $model --store $store --task math --max-new-tokens 128 --val-samples 2 --val-every 0"
measure train $mpi "$t2" train $common --batch 16 --chunk 4 --steps "$steps" --out "$work/math.t2e" \
    --metrics "$work/train.jsonl"
# the step's parts (seconds, summed over the ranks' shares): rollouts, training passes,
# waiting, communication, and "update": composing W' (each rank its share of the targets)
grep -o '"seconds": {[^}]*}' "$work/train.jsonl" | sed 's/^/    step /'
[ -f "$work/reasoning.t2e" ] || measure train-2 $mpi "$t2" train $common --batch 4 --chunk 4 --steps 1 \
    --seed 2 --name reasoning --out "$work/reasoning.t2e"
"$t2" bundle create --out "$work/experts.t2b" "$work/math.t2e" "$work/reasoning.t2e"
measure eval $mpi "$t2" eval --model "$model" --store "$store" --bundle "$work/experts.t2b" \
    --strategies expert:math --tasks math --n "$n" --batch 4 --max-new-tokens 128
measure adapt $mpi "$t2" adapt --model "$model" --store "$store" --bundle "$work/experts.t2b" \
    --strategy fewshot --examples-task math --fewshot-examples 4 --fewshot-iterations 1 \
    --fewshot-population 4 --batch 4 --max-new-tokens 32 --query "What is 2 + 3?"
