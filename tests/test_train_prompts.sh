#!/bin/sh
# Expert training on prompts of uneven lengths (dist/train_prompts.c) on the shipped default
# model (a byte-level tokenizer: a prompt's tokens are its bytes plus the template's 18,
# "Question: " and "\nAnswer:") with qa datasets this script writes, under mpirun:
#   - long: 2,300 rows whose first 2,000 prompts are short (at most 35 tokens) and the last
#     300 much longer (119 tokens), the longest being the last row (219 tokens, the one
#     validation item) and, among the items training draws, the one before it (item 2298,
#     179 tokens). With seed 62 the 3 steps draw item 2298 (as the sizing line says, which
#     also says the engine was sized for it), and the run succeeds. (Sized from the first
#     2,000 rows, as before, the engine held prompts of 35 · 3/2 + 8 = 60 tokens and the run
#     stopped at the first long row it drew.)
#   - skip: 40 rows of which row 5 (training) and row 39 (validation) cannot fit the model's
#     512 positions with 8 new tokens: both are skipped with one line naming the count and
#     row 5, and the run succeeds; it writes the same expert on 1 and 2 ranks and when
#     stopped after step 1 and resumed (row 5's draws are replaced the same way every time);
#   - no training item, or no validation item, that fits: one error line, exit 1, no expert.
# usage: test_train_prompts.sh T2_EXE MPIEXEC SOURCE_DIR [all|short]
#   short (the sanitizer build): without the 1-rank and resume comparisons, whose code paths
#   tests/test_train_rl.sh runs there already
set -eu
t2=$1; mpiexec=$2; src=$3; part=${4:-all}
dir=$(mktemp -d "${TMPDIR:-/tmp}/t2-train-prompts-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
model=$src/assets/default-model

# rows: awk prints row i's prompt as i's question, padded with "+ 1" terms to `pad` bytes
awk 'BEGIN {
    for (i = 0; i < 2300; i++) {
        q = "What is " i " + 1"
        pad = i < 2000 ? 0 : (i < 2298 ? 100 : (i == 2298 ? 160 : 200))
        while (length(q) < pad) q = q " + 1"
        printf "{\"prompt\": \"%s?\", \"answer\": \"%d\", \"match\": \"numeric\"}\n", q, i + 1
    }
}' >"$dir/long.jsonl"
awk 'BEGIN {
    for (i = 0; i < 40; i++) {
        q = "What is " i " + 1"
        if (i == 5 || i == 39) while (length(q) < 600) q = q " + 1"
        printf "{\"prompt\": \"%s?\", \"answer\": \"%d\", \"match\": \"numeric\"}\n", q, i + 1
    }
}' >"$dir/skip.jsonl"

common="--model $model --task qa --method lora --lora-rank 2 --batch 16 --chunk 8 --max-new-tokens 8 --val-samples 1 --val-every 0 --steps 3 --lr 0.01"
run() { # ranks name extra-flags...
    ranks=$1; name=$2; shift 2
    $mpiexec -n "$ranks" --oversubscribe "$t2" train $common --out "$dir/$name.expert" "$@" \
        2>"$dir/$name.log" || { cat "$dir/$name.log"; fail "train $name exited non-zero"; }
}
exported() { # name: the expert's vectors as safetensors
    [ -e "$dir/$1.expert" ] || fail "train $1 wrote no expert"
    "$t2" export --format safetensors --out "$dir/$1.safetensors" "$dir/$1.expert" \
        >"$dir/export.log" 2>&1 || { cat "$dir/export.log"; fail "export $1"; }
}

run 2 long --task-data "$dir/long.jsonl" --seed 62
exported long
grep -q "the longest drawn: 179 tokens (train item 2298)" "$dir/long.log" ||
    { cat "$dir/long.log"; fail "long: the engine was not sized for item 2298, or not drawn"; }
grep -q "skipping" "$dir/long.log" && { cat "$dir/long.log"; fail "long: an item was skipped"; }

skip="--task-data $dir/skip.jsonl --val-samples 2"
run 2 skip $skip
exported skip
[ "$(grep -c "skipping" "$dir/skip.log")" -eq 1 ] ||
    { cat "$dir/skip.log"; fail "skip: not one skipping line"; }
grep -q "skipping 2 train items whose prompt cannot fit .* (the first: item 5)" "$dir/skip.log" ||
    { cat "$dir/skip.log"; fail "skip: the line does not give the count 2 and item 5"; }
if [ "$part" = all ]; then
    run 1 skip1 $skip
    exported skip1
    cmp -s "$dir/skip.safetensors" "$dir/skip1.safetensors" || fail "skip: 1 rank differs from 2"
    run 2 skipr $skip --checkpoint-dir "$dir/ckpt" --stop-after 1
    run 2 skipr $skip --checkpoint-dir "$dir/ckpt"
    grep -q "resuming after step 1" "$dir/skipr.log" || fail "skip: the second run did not resume"
    exported skipr
    cmp -s "$dir/skip.safetensors" "$dir/skipr.safetensors" ||
        fail "skip: the run stopped and resumed differs from the uninterrupted one"
fi

refused() { # name expected-stderr extra-flags...
    name=$1; want=$2; shift 2
    status=0
    $mpiexec -n 2 --oversubscribe "$t2" train $common --out "$dir/$name.expert" "$@" \
        2>"$dir/$name.log" || status=$?
    [ "$status" -eq 1 ] || { cat "$dir/$name.log"; fail "$name: exit status $status; expected 1"; }
    grep -q -- "$want" "$dir/$name.log" || { cat "$dir/$name.log"; fail "$name: no line /$want/"; }
    [ ! -e "$dir/$name.expert" ] || fail "$name: an expert was written"
}
# every prompt is longer than 512 - 500 tokens
refused none "error: task qa: no training item has a prompt of at most 12 tokens" \
    --task-data "$dir/skip.jsonl" --max-new-tokens 500
# the one validation item, row 39, is too long
refused noval "error: task qa: no validation item has a prompt of at most 504 tokens" \
    --task-data "$dir/skip.jsonl"
echo "train prompts: all checks passed"
