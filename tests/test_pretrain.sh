#!/bin/sh
# Pretraining end to end on a tiny model, under mpirun:
#   - the training loss falls over the run (2 ranks);
#   - two identical runs write byte-identical models;
#   - a run stopped after step 4 and resumed equals the uninterrupted run, byte for byte;
#   - a run killed with SIGKILL after a checkpoint and resumed equals it too;
#   - 1 rank and 3 ranks follow the 2-rank loss curve and end with the same weights to float
#     tolerance (same rows, sums in another order);
#   - distillation: a one-layer student (keep_layers) of the trained model learns from it as
#     teacher (its loss, the distillation term, falls); distill = 0 with a teacher gives the
#     plain run's weights exactly; bad keep_layers and a teacher of another vocabulary give one
#     line each.
# usage: test_pretrain.sh T2_EXE MPIEXEC WEIGHTS_CLOSE
set -eu
t2=$1; mpiexec=$2; weights_close=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/t2-pretrain-XXXXXX")
. "$(dirname "$0")/session.sh"
trap 'session_kill "$dir/k.sid"; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$t2" new-model --out "$dir/init" --hidden 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --seed 3 2>/dev/null
common="--init-model $dir/init --steps 8 --batch-seqs 6 --seq-len 48 --micro-batch 2 --lr 0.01 --warmup 2 --eval-every 4 --eval-rows 4 --corpus math:1,code:1"
run() { # ranks out-folder extra-flags...
    ranks=$1; out=$2; shift 2
    $mpiexec -n "$ranks" --oversubscribe "$t2" pretrain $common --out "$dir/$out" --metrics "$dir/$out.jsonl" "$@" 2>"$dir/$out.log" ||
        { cat "$dir/$out.log"; fail "pretrain $out exited non-zero"; }
}
loss_at() { sed -n "s/^{\"step\": $2, \"loss\": \([0-9.]*\).*/\1/p" "$dir/$1.jsonl"; }

run 2 a
run 2 b
cmp -s "$dir/a/model.safetensors" "$dir/b/model.safetensors" || fail "two identical runs differ"
first=$(loss_at a 1); last=$(loss_at a 8)
echo "loss step 1: $first, step 8: $last"
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < f - 0.2) }' || fail "loss did not fall ($first -> $last)"

run 2 c --checkpoint-dir "$dir/ckpt" --checkpoint-every 2 --stop-after 4
[ -e "$dir/c/model.safetensors" ] || fail "a stopped run did not write the model of its last step"
run 2 c --checkpoint-dir "$dir/ckpt" --checkpoint-every 2 --resume
grep -q "resuming after step 4" "$dir/c.log" || fail "the second run did not resume"
cmp -s "$dir/a/model.safetensors" "$dir/c/model.safetensors" || fail "resumed run differs from the uninterrupted one"

# a real crash: SIGKILL once the step-4 checkpoint exists, then resume; mpiexec and its ranks
# are the processes of a session of their own (tests/session.sh), and only they are killed
session_start "$dir/k.sid" $mpiexec -n 2 --oversubscribe "$t2" pretrain $common --out "$dir/k" \
    --checkpoint-dir "$dir/ckpt-k" --checkpoint-every 4 --metrics "$dir/k0.jsonl" 2>"$dir/k0.log"
while ! grep -q '"step": 4,' "$dir/k0.jsonl" 2>/dev/null && kill -0 $session_job 2>/dev/null; do sleep 0.1; done
while [ ! -e "$dir/ckpt-k/checkpoint.safetensors" ] && kill -0 $session_job 2>/dev/null; do sleep 0.1; done
session_kill "$dir/k.sid"
wait $session_job 2>/dev/null || true
run 2 k --checkpoint-dir "$dir/ckpt-k" --checkpoint-every 4 --resume
grep -q "resuming after step" "$dir/k.log" || fail "the run after the kill did not resume"
cmp -s "$dir/a/model.safetensors" "$dir/k/model.safetensors" ||
    fail "a run killed and resumed differs from the uninterrupted one"

for ranks in 1 3; do
    run "$ranks" r$ranks
    for step in 1 8; do
        want=$(loss_at a $step); got=$(loss_at r$ranks $step)
        awk -v w="$want" -v g="$got" 'BEGIN { d = w - g; if (d < 0) d = -d; exit !(d < 1e-3 * w) }' ||
            fail "$ranks ranks: loss at step $step is $got, 2 ranks gave $want"
    done
    "$weights_close" "$dir/a/model.safetensors" "$dir/r$ranks/model.safetensors" 1e-5 1e-4 ||
        fail "$ranks ranks: weights differ from the 2-rank run beyond float tolerance"
done
run 2 d --keep-layers 1 --teacher "$dir/a" --distill 1 --distill-temperature 2
grep -q '"num_hidden_layers": 1' "$dir/d/config.json" || fail "keep_layers 1: not a one-layer model"
first=$(loss_at d 1); last=$(loss_at d 8)
echo "distillation loss step 1: $first, step 8: $last"
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < 0.8 * f) }' || fail "distillation loss did not fall ($first -> $last)"
run 2 e --teacher "$dir/a" --distill 0
"$weights_close" "$dir/a/model.safetensors" "$dir/e/model.safetensors" 0 0 ||
    fail "distill 0 differs from no teacher (the files differ only in their run metadata)"
bad() { # stderr-pattern extra-flags...
    pattern=$1; shift
    set +e
    $mpiexec -n 2 --oversubscribe "$t2" pretrain $common --out "$dir/bad" "$@" 2>"$dir/bad.log"
    got=$?
    set -e
    [ $got -eq 1 ] && grep -q -- "$pattern" "$dir/bad.log" || { cat "$dir/bad.log"; fail "$*: exit $got"; }
    [ "$(grep -c 'error' "$dir/bad.log")" -eq 1 ] || { cat "$dir/bad.log"; fail "$*: not one error line"; }
    [ ! -e "$dir/bad" ] || fail "$*: an output was written"
}
bad "keep_layers: layer 2 is out of range; expected 0 to 1" --keep-layers 0,2
bad "keep_layers: '1,0' is not increasing" --keep-layers 1,0
bad "keep_layers: 'x' is not a comma list" --keep-layers x
"$t2" new-model --out "$dir/wide" --hidden 32 --layers 1 --heads 4 --kv-heads 2 --ffn 64 --vocab 300 2>/dev/null
bad "teacher: .*wide has a vocabulary of 300; expected the model's 259" --teacher "$dir/wide"
echo "pretrain: all checks passed"
