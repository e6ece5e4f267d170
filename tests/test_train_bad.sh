#!/bin/sh
# t2 train on bad input, on 2 ranks: each case exits non-zero with one clear line (printed
# once, by rank 0), no crash, no hang, and no expert file; then one good run on a float16 KV
# cache (kv_cache = "f16").
# usage: test_train_bad.sh T2_EXE MPIEXEC SOURCE_DIR
set -eu
t2=$1; mpiexec=$2; src=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/t2-train-bad-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
model=$src/assets/default-model
"$t2" decompose --model "$model" --out "$dir/svd" 2>/dev/null || fail "decompose"
"$t2" new-model --out "$dir/other" --hidden 192 --layers 4 --heads 6 --kv-heads 2 --ffn 512 \
    --max-positions 512 --seed 9 2>/dev/null
"$t2" decompose --model "$dir/other" --out "$dir/other.svd" 2>/dev/null || fail "decompose other"
"$t2" decompose --model "$model" --targets attn --out "$dir/attn.svd" 2>/dev/null || fail "decompose attn"
printf 'model = "%s";\ntask = "math";\nstepz = 3;\n' "$model" >"$dir/unknown.cfg"
printf 'model = "%s";\ntask = "math";\nsteps = "many";\n' "$model" >"$dir/type.cfg"
printf 'model = "%s";\ntask = "math";\nsteps = = 3;\n' "$model" >"$dir/syntax.cfg"

expect() { # exit-code stderr-pattern args...
    code=$1; pattern=$2; shift 2
    set +e
    $mpiexec -n 2 --oversubscribe "$t2" train "$@" --out "$dir/x.expert" >"$dir/out" 2>"$dir/err"
    got=$?
    set -e
    [ "$got" -eq "$code" ] || { cat "$dir/err"; fail "$*: exit $got, expected $code"; }
    grep -q -- "$pattern" "$dir/err" || { cat "$dir/err"; fail "$*: no line matching '$pattern'"; }
    lines=$(grep -c "t2 train: error" "$dir/err" || true)
    [ "$lines" -eq 1 ] || { cat "$dir/err"; fail "$*: $lines error lines, expected 1"; }
    ! grep -qi "sanitizer\|segmentation\|backtrace" "$dir/err" || { cat "$dir/err"; fail "$*: crashed"; }
    [ ! -e "$dir/x.expert" ] || fail "$*: an expert file was written"
    echo "ok: $pattern"
}
ok="--model $model --store $dir/svd --task math --steps 1 --batch 4 --chunk 2 --val-samples 4"
expect 1 "unknown.cfg:3: unknown key 'stepz'" "$dir/unknown.cfg"
expect 1 "type.cfg:3: key 'steps' has the wrong type" "$dir/type.cfg"
expect 1 "syntax.cfg:3: syntax error" "$dir/syntax.cfg"
expect 2 "missing setting 'task'" --model "$model" --store "$dir/svd"
expect 2 "unknown flag\|unknown option\|--bogus" $ok --bogus 1
expect 1 "method: 'dora'; expected svf or lora" $ok --method dora
expect 1 "parametrization: 'tanh'" $ok --parametrization tanh
expect 1 "objective: 'ppo'" $ok --objective ppo
expect 1 "reward_norm: 'zscore'" $ok --reward-norm zscore
expect 1 "kv_cache: 'bf16' is not known; expected f32 or f16" $ok --kv-cache bf16
expect 1 "store: not set" --model "$model" --task math --steps 1 --batch 4 --chunk 2
expect 1 "other.svd" $ok --store "$dir/other.svd"
expect 1 "no decomposition of" $ok --store "$dir/attn.svd"
expect 1 "no-such.svd" $ok --store "$dir/no-such.svd"
expect 1 "no-such-model" $ok --model "$dir/no-such-model"
expect 1 "unknown task\|nosuchtask" $ok --task nosuchtask
expect 1 "val_samples" $ok --task gsm8k --task-data "$src/tests/data/tasks/gsm8k.jsonl" --val-samples 100000
expect 2 "chunk = 8 is larger than batch = 4" $ok --chunk 8
expect 2 "stop_after needs checkpoint_dir" $ok --stop-after 1
expect 1 "matches no matrix" $ok --targets "model.nothing.*"
mkdir -p "$dir/ckpt"
printf 'garbage' >"$dir/ckpt/train-state.pb"
expect 1 "train-state.pb" $ok --checkpoint-dir "$dir/ckpt"
expect 1 "cannot write\|x.expert.*directory\|No such file" $ok --metrics "$dir/no-dir/m.jsonl"
set +e
$mpiexec -n 2 --oversubscribe "$t2" train $ok --out "$dir/no-dir/x.expert" 2>"$dir/err"
got=$?
set -e
[ "$got" -eq 1 ] && grep -q "out: cannot write" "$dir/err" || { cat "$dir/err"; fail "unwritable out"; }
grep -q "^train " "$dir/err" && fail "an unwritable out was only found after training"
echo "ok: out: cannot write"
# the same settings on a float16 KV cache train (the rollouts and validation decode on it)
$mpiexec -n 2 --oversubscribe "$t2" train $ok --kv-cache f16 --out "$dir/f16.expert" \
    2>"$dir/err" || { cat "$dir/err"; fail "training on a float16 KV cache"; }
[ -s "$dir/f16.expert" ] || fail "no expert from the float16 KV cache run"
echo "ok: kv_cache f16 trains"
echo "train bad input: all checks passed"
