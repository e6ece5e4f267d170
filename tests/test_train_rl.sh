#!/bin/sh
# Expert training end to end on the shipped default model, under mpirun:
#   - REINFORCE raises the mean reward over a short run (2 and 3 ranks);
#   - two identical runs write the same expert (its exported vectors, byte for byte);
#   - 1, 2 and 3 ranks write the same expert (chunks are summed in chunk order);
#   - a run stopped after step 2 and resumed equals the uninterrupted run, and so does a run
#     killed with SIGKILL after its first checkpoint and resumed;
#   - the sft objective, the KL penalty and the lora method run through the same loop;
#   - the expert loads in t2 task eval, and is refused on another base model.
# usage: test_train_rl.sh T2_EXE MPIEXEC SOURCE_DIR learn|learn2|rest
#   learn: the two learning runs (the slow part, its own ctest entry); learn2: the 2-rank one
#   alone (the sanitizer build); rest: everything else
set -eu
t2=$1; mpiexec=$2; src=$3; part=$4; weights_close=$5
dir=$(mktemp -d "${TMPDIR:-/tmp}/t2-train-XXXXXX")
. "$src/tests/session.sh"
trap 'session_kill "$dir/k.sid"; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
model=$src/assets/default-model

"$t2" decompose --model "$model" --out "$dir/svd" 2>/dev/null || fail "decompose"
# learning: 8 training prompts, 8 samples of each per step, centred rewards
learn="--model $model --store $dir/svd --task math --task-train-size 16 --val-samples 8 --batch 64 --chunk 16 --max-new-tokens 40 --val-every 5 --lr 0.02 --clip 0 --reward-norm center --steps 10"
# the other checks: a few cheap steps
common="--model $model --store $dir/svd --task math --task-train-size 64 --val-samples 8 --batch 12 --chunk 4 --max-new-tokens 32 --val-every 2 --lr 0.02 --reward-norm center"
run() { # ranks name extra-flags... (with the flags in $args)
    ranks=$1; name=$2; shift 2
    $mpiexec -n "$ranks" --oversubscribe "$t2" train $args --out "$dir/$name.expert" \
        --metrics "$dir/$name.jsonl" "$@" 2>"$dir/$name.log" ||
        { cat "$dir/$name.log"; fail "train $name exited non-zero"; }
    [ ! -e "$dir/$name.expert" ] ||
        "$t2" export --format safetensors --out "$dir/$name.safetensors" "$dir/$name.expert" ||
        fail "export $name"
}
same() { cmp -s "$dir/$1.safetensors" "$dir/$2.safetensors" || fail "$3"; }
reward_at() { sed -n "s/^{\"step\": $2, \"reward_mean\": \([-0-9.]*\).*/\1/p" "$dir/$1.jsonl"; }
rises() { # name first-steps last-steps: mean reward of the last steps above the first ones
    f=0; l=0
    for s in $2; do f=$(awk -v a="$f" -v b="$(reward_at "$1" "$s")" 'BEGIN { print a + b }'); done
    for s in $3; do l=$(awk -v a="$l" -v b="$(reward_at "$1" "$s")" 'BEGIN { print a + b }'); done
    echo "$1: reward sum over steps $2: $f, over steps $3: $l"
    awk -v f="$f" -v l="$l" 'BEGIN { exit !(l > f + 0.3) }' || fail "$1: mean reward did not rise"
}

if [ "$part" = learn ] || [ "$part" = learn2 ]; then
    args=$learn
    run 2 learn2
    rises learn2 "1 2 3" "8 9 10"
    [ "$part" = learn ] || { echo "train learning on 2 ranks: all checks passed"; exit 0; }
    run 3 learn3
    rises learn3 "1 2 3" "8 9 10"
    same learn2 learn3 "3 ranks differ from 2 ranks"
    echo "train learning: all checks passed"
    exit 0
fi

args=$common
run 2 a --steps 4
run 2 b --steps 4
same a b "two identical runs differ"
run 1 r1 --steps 4
same a r1 "1 rank differs from 2 ranks"
run 3 r3 --steps 4
same a r3 "3 ranks differ from 2 ranks"
# a training pass of one sequence at a time (1 MB of activations): the same gradient sums,
# in another order
run 2 passes --steps 4 --trainer-memory 1
grep -q "training passes of 1 sequence" "$dir/passes.log" || fail "trainer_memory 1 did not split the chunks"
"$weights_close" "$dir/a.safetensors" "$dir/passes.safetensors" 1e-5 1e-3 ||
    fail "training in passes of one sequence differs from whole chunks"

run 2 c --steps 4 --checkpoint-dir "$dir/ckpt-c" --checkpoint-every 2 --stop-after 2
[ ! -e "$dir/c.expert" ] || fail "a stopped run wrote an expert"
run 2 c --steps 4 --checkpoint-dir "$dir/ckpt-c" --checkpoint-every 2
grep -q "resuming after step 2" "$dir/c.log" || fail "the second run did not resume"
same a c "resumed run differs from the uninterrupted one"

# a real crash: SIGKILL once the first checkpoint exists, then resume; mpiexec and its ranks
# are the processes of a session of their own (tests/session.sh), and only they are killed
session_start "$dir/k.sid" $mpiexec -n 2 --oversubscribe "$t2" train $args --steps 4 \
    --checkpoint-dir "$dir/ckpt-k" --checkpoint-every 1 --out "$dir/k.expert" \
    --metrics "$dir/k.jsonl" 2>"$dir/k0.log"
while [ ! -e "$dir/ckpt-k/train-state.pb" ] && kill -0 $session_job 2>/dev/null; do sleep 0.2; done
session_kill "$dir/k.sid"
wait $session_job 2>/dev/null || true
run 2 k --steps 4 --checkpoint-dir "$dir/ckpt-k" --checkpoint-every 1
same a k "a run killed and resumed differs from the uninterrupted one"

run 2 sft --steps 2 --objective sft
run 2 kl --steps 2 --kl-beta 0.1
grep -q '"kl": 0,' "$dir/kl.jsonl" && fail "kl_beta > 0 reported no KL"
grep -q '"kl": ' "$dir/kl.jsonl" || fail "no KL in the metrics"
run 2 lora --steps 2 --method lora --lora-rank 2
"$t2" inspect "$dir/lora.expert" | grep -q "lora" || fail "inspect does not show the lora expert"

"$t2" task eval --task cls --level 1 --model "$model" --expert "$dir/a.expert" --store "$dir/svd" \
    -n 8 >"$dir/eval.out" 2>&1 || { cat "$dir/eval.out"; fail "task eval with the expert"; }
grep -q "^expert: " "$dir/eval.out" || fail "task eval did not report the expert"
"$t2" new-model --out "$dir/other" --hidden 192 --layers 4 --heads 6 --kv-heads 2 --ffn 512 \
    --max-positions 512 --seed 9 2>/dev/null
if "$t2" task eval --task cls --model "$dir/other" --expert "$dir/a.expert" --store "$dir/svd" \
    -n 4 >"$dir/other.out" 2>&1; then fail "an expert was accepted by another model"; fi
grep -q "expert made for another base model" "$dir/other.out" ||
    { cat "$dir/other.out"; fail "no clear message for an expert of another model"; }
"$t2" decompose --model "$dir/other" --out "$dir/other.svd" 2>/dev/null || fail "decompose other"
if "$t2" task eval --task cls --model "$model" --expert "$dir/a.expert" --store "$dir/other.svd" \
    -n 4 >"$dir/store.out" 2>&1; then fail "a store of another model was accepted"; fi
grep -q "was made from other weights than the model" "$dir/store.out" ||
    { cat "$dir/store.out"; fail "no clear message for a store of another model"; }
# the metrics of a resumed run: one line per step, none repeated
[ "$(grep -c '"step"' "$dir/k.jsonl")" -eq 4 ] || { cat "$dir/k.jsonl"; fail "metrics of the resumed run"; }
echo "train: all checks passed"
