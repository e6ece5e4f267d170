#!/bin/sh
# t2 eval (dist/eval.h, rl/adapt.h) on the shipped default model, under mpirun.
#   fixtures  the inputs, into DIR: the model's store, four one-step experts (math, code,
#             reasoning and the cls classifier), a bundle of the three with the classifier,
#             one of two without it, and a bundle of an expert of another model (same
#             shapes, other weights: t2 new-model --seed 9);
#   ranks     base, expert:math, prompt, classifier and fewshot on two tasks, on 1, 2 and 3
#             ranks: the reports' counts (and the few-shot α) are equal (test_eval_check
#             same), the few-shot mixture is no worse than the best single expert on its
#             examples (test_eval_check fewshot), the routing adds up and
#             routes queries (test_eval_check routing, which prints it), the table file is
#             what stdout printed, and no temporary file is left;
#   adapt     t2 adapt: classifier answers to a file of queries, a few-shot search on a qa
#             file saved as an expert (1 and 2 ranks write the same file; it loads and
#             evaluates), and bad input on 2 ranks;
#   bad       bad input on 2 ranks: exit 1 (2 for a usage error) with exactly one error line,
#             no crash, no hang, no report written.
# usage: test_eval.sh MODE T2_EXE MPIEXEC SOURCE_DIR DIR [CHECK_EXE]
set -eu
mode=$1; t2=$2; mpiexec=$3; src=$4; dir=$5; check=${6:-}
fail() { echo "FAIL: $*"; exit 1; }
model=$src/assets/default-model
quick="--steps 1 --batch 4 --chunk 2 --val-samples 4 --max-new-tokens 16"

fixtures() {
    rm -rf "$dir"
    mkdir -p "$dir"
    "$t2" decompose --model "$model" --out "$dir/S" 2>/dev/null || fail "decompose"
    for task in math code reasoning cls; do
        "$t2" train --model "$model" --store "$dir/S" --task $task --out "$dir/$task.expert" \
            $quick 2>/dev/null || fail "train $task"
    done
    "$t2" bundle create --out "$dir/b.t2b" "$dir/math.expert" "$dir/code.expert" \
        "$dir/reasoning.expert" --classifier "$dir/cls.expert" || fail "bundle"
    "$t2" bundle create --out "$dir/nocls.t2b" "$dir/math.expert" "$dir/code.expert" ||
        fail "bundle without classifier"
    "$t2" new-model --out "$dir/other" --hidden 192 --layers 4 --heads 6 --kv-heads 2 \
        --ffn 512 --max-positions 512 --seed 9 2>/dev/null || fail "new-model"
    "$t2" decompose --model "$dir/other" --out "$dir/other.svd" 2>/dev/null ||
        fail "decompose other"
    "$t2" train --model "$dir/other" --store "$dir/other.svd" --task math \
        --out "$dir/other-math.expert" $quick 2>/dev/null || fail "train other"
    "$t2" bundle create --out "$dir/other.t2b" "$dir/other-math.expert" ||
        fail "bundle other"
    echo "fixtures written to $dir"
}

ranks() {
    # 20 samples in blocks of 8: 3 blocks, so 2 ranks split them 1 + 2 and 3 ranks 1 + 1 + 1
    args="--model $model --store $dir/S --bundle $dir/b.t2b --tasks math,code@1 --n 20
          --batch 8 --strategies base,expert:math,prompt,classifier,fewshot
          --fewshot_examples 4 --fewshot_iterations 2 --fewshot_population 4
          --fewshot_batch 3"
    for r in 1 2 3; do
        rm -f "$dir/r$r.json" "$dir/t$r.md"
        $mpiexec -n $r --oversubscribe "$t2" eval $args --report "$dir/r$r.json" \
            --table "$dir/t$r.md" >"$dir/out$r.md" 2>"$dir/err$r" ||
            { cat "$dir/err$r"; fail "eval on $r ranks exited non-zero"; }
        cmp -s "$dir/out$r.md" "$dir/t$r.md" || fail "$r ranks: table file differs from stdout"
        grep -q '^| code@1 | prompt | ' "$dir/t$r.md" || fail "$r ranks: no prompt row"
        grep -q '"ranks": '$r "$dir/r$r.json" || fail "$r ranks: report says otherwise"
    done
    cat "$dir/t1.md"
    "$check" same "$dir/r1.json" "$dir/r2.json" || fail "2 ranks differ from 1"
    "$check" same "$dir/r1.json" "$dir/r3.json" || fail "3 ranks differ from 1"
    "$check" routing "$dir/r1.json" || fail "routing"
    "$check" fewshot "$dir/r1.json" || fail "fewshot"
    # (only this mode's outputs: the adapt mode may be writing into the same folder now)
    ! ls "$dir" | grep -q -E '^(r[123]\.json|t[123]\.md)\.tmp\.' ||
        fail "a temporary file was left"
    echo "eval ranks: all checks passed"
}

command=eval
expect() { # exit-code stderr-pattern args... (of t2 $command; eval also writes a report)
    code=$1; pattern=$2; shift 2
    rm -f "$dir/$mode-bad.json"
    report=""
    [ "$command" != eval ] || report="--report $dir/$mode-bad.json"
    set +e
    $mpiexec -n 2 --oversubscribe "$t2" $command "$@" $report \
        >"$dir/$mode-bad.out" 2>"$dir/$mode-bad.err"
    got=$?
    set -e
    [ "$got" -eq "$code" ] || { cat "$dir/$mode-bad.err"; fail "$*: exit $got, expected $code"; }
    grep -q -- "$pattern" "$dir/$mode-bad.err" ||
        { cat "$dir/$mode-bad.err"; fail "$*: no line matching '$pattern'"; }
    lines=$(grep -c "t2 $command: error" "$dir/$mode-bad.err" || true)
    [ "$lines" -eq 1 ] || { cat "$dir/$mode-bad.err"; fail "$*: $lines error lines, expected 1"; }
    ! grep -qi "sanitizer\|segmentation\|backtrace\|assertion" "$dir/$mode-bad.err" ||
        { cat "$dir/$mode-bad.err"; fail "$*: crashed"; }
    [ ! -e "$dir/$mode-bad.json" ] || fail "$*: a report was written"
    grep "t2 $command: error" "$dir/$mode-bad.err"
}

# t2 adapt: two-pass answers to free queries, a few-shot search saved as an expert (the
# same file from 1 and 2 ranks, and it loads and evaluates), and bad input on 2 ranks.
adapt() {
    ok="--model $model --store $dir/S --bundle $dir/b.t2b --max_new_tokens 24"
    printf 'Tom has 5 apples and buys 7 more. How many apples does Tom have?\n\nprint 3+4\n' \
        >"$dir/q.txt"
    # (on a float16 KV cache: the kv_cache setting reaches the decoding)
    $mpiexec -n 2 --oversubscribe "$t2" adapt $ok --strategy classifier --queries "$dir/q.txt" \
        --kv-cache f16 >"$dir/adapt.out" 2>"$dir/adapt.err" ||
        { cat "$dir/adapt.err"; fail "adapt classifier"; }
    cat "$dir/adapt.out"
    [ "$(grep -c '^== query [12] (answered by [a-z]*)$' "$dir/adapt.out")" -eq 2 ] ||
        fail "classifier: expected two answered queries (the blank line skipped)"
    grep -q '^Question: print 3+4$' "$dir/adapt.out" || fail "classifier: query 2 not shown"
    # few-shot examples: a qa file of solved math problems
    i=0
    for a in 12 9 20 7; do
        printf '{"prompt": "Question: Ann has %d pens and buys %d more. How many pens does Ann have?\\nAnswer:", "answer": %d, "match": "numeric"}\n' \
            $((a - 3)) 3 $a
    done >"$dir/shots.jsonl"
    fs="--strategy fewshot --examples $dir/shots.jsonl --fewshot_iterations 2
        --fewshot_population 4 --query 1+1"
    for r in 1 2; do
        rm -f "$dir/fs$r.expert"
        $mpiexec -n $r --oversubscribe "$t2" adapt $ok $fs --save_expert "$dir/fs$r.expert" \
            >"$dir/fs$r.out" 2>"$dir/fs$r.err" || { cat "$dir/fs$r.err"; fail "fewshot on $r"; }
        grep -q "few-shot mixture scores .* on 4 examples" "$dir/fs$r.err" ||
            { cat "$dir/fs$r.err"; fail "fewshot on $r ranks: no summary line"; }
        grep -q '^== query 1 (answered by mixture)$' "$dir/fs$r.out" || fail "fewshot answer"
    done
    cmp "$dir/fs1.expert" "$dir/fs2.expert" || fail "the few-shot expert differs on 2 ranks"
    "$t2" inspect "$dir/fs1.expert" | grep -q "parametrization=linear" ||
        fail "the saved mixture does not read as a linear svf expert"
    "$t2" task eval --task math --model "$model" --store "$dir/S" --expert "$dir/fs1.expert" \
        -n 4 --max-new-tokens 24 >/dev/null 2>&1 || fail "the saved mixture does not evaluate"
    command=adapt
    expect 1 "examples: not set; expected either a file of solved examples" \
        $ok --strategy fewshot --query x
    expect 1 "save_expert: set with strategy prompt; expected the fewshot strategy" \
        $ok --strategy prompt --query x --save_expert "$dir/x.expert"
    expect 1 "strategy: bogus: not a strategy" $ok --strategy bogus --query x
    expect 1 "kv_cache: 'bf16' is not known; expected f32 or f16" $ok --strategy prompt --query x \
        --kv-cache bf16
    expect 1 "no questions; expected a --query or a file of questions" $ok --strategy prompt
    expect 1 "nope.txt: cannot open" $ok --strategy prompt --queries "$dir/nope.txt"
    echo '{"prompt": 3}' >"$dir/badshots.jsonl"
    expect 1 "badshots.jsonl:1: " $ok --strategy fewshot --examples "$dir/badshots.jsonl" \
        --query x
    expect 1 "other.t2b: bundle made for another base model" \
        --model "$model" --store "$dir/S" --bundle "$dir/other.t2b" --strategy prompt --query x
    [ ! -e "$dir/x.expert" ] || fail "an expert was written after an error"
    echo "adapt: all checks passed"
}

bad() {
    ok="--model $model --store $dir/S --tasks math --n 4 --batch 2"
    expect 1 "other.t2b: bundle made for another base model (fingerprint [0-9a-f]*); expected [0-9a-f]* (.*default-model)" \
        $ok --bundle "$dir/other.t2b" --strategies prompt
    expect 1 "other.t2b: bundle made for another base model" \
        $ok --bundle "$dir/other.t2b" --strategies base
    expect 1 "strategies: bogus: not a strategy; expected base, expert:<name>, prompt, classifier or fewshot" \
        $ok --bundle "$dir/b.t2b" --strategies base,bogus
    expect 1 "strategies: empty item in 'base,'" $ok --strategies base,
    expect 1 "tasks: task 'nosuch': unknown; expected one of math" $ok --tasks math,nosuch
    expect 1 "tasks: task 'math': level 9 is out of range; expected 1 to 5" $ok --tasks math@9
    expect 1 "tasks: 'math@x': level 'x' is not a level" $ok --tasks math@x
    expect 1 "tasks: task 'gsm8k': no data file given" $ok --tasks gsm8k
    expect 1 "split: 'dev'; expected test or train" $ok --split dev
    expect 1 "kv_cache: 'bf16' is not known; expected f32 or f16" $ok --kv-cache bf16
    $mpiexec -n 2 --oversubscribe "$t2" eval $ok --kv-cache f16 >"$dir/f16.md" 2>"$dir/f16.err" ||
        { cat "$dir/f16.err"; fail "eval on a float16 KV cache"; }
    grep -q '^| math@3 | base | ' "$dir/f16.md" || fail "float16 KV cache: no base row"
    for s in prompt classifier expert:math; do
        expect 1 "strategies: $s: needs an expert bundle; expected the bundle setting" \
            $ok --strategies $s
    done
    expect 1 "strategies: classifier: .*nocls.t2b has no classifier; expected a bundle made with a classifier" \
        $ok --bundle "$dir/nocls.t2b" --strategies prompt,classifier
    expect 1 "strategies: expert:reasoning: .*nocls.t2b has no expert 'reasoning'; expected one of math, code" \
        $ok --bundle "$dir/nocls.t2b" --strategies expert:reasoning
    expect 1 "store: not set; expected the model's decomposition store" \
        --model "$model" --tasks math --bundle "$dir/b.t2b" --strategies expert:math
    expect 1 "other.svd: was made from other weights than the model" \
        $ok --store "$dir/other.svd" --bundle "$dir/b.t2b" --strategies expert:math
    expect 1 "nope.t2b: cannot open: No such file" $ok --bundle "$dir/nope.t2b"
    expect 1 "S: not a t2 expert bundle" $ok --bundle "$dir/S"
    expect 1 "no-model" --model "$dir/no-model" --tasks math
    expect 2 "missing setting 'tasks'\|tasks" --model "$model"
    expect 2 "unknown flag\|--bogus" $ok --bogus 1
    rm -f "$dir/$mode-bad.json"
    set +e
    $mpiexec -n 2 --oversubscribe "$t2" eval $ok --report "$dir/no-dir/r.json" 2>"$dir/$mode-bad.err"
    got=$?
    set -e
    [ "$got" -eq 1 ] && grep -q "no-dir/r.json: cannot write" "$dir/$mode-bad.err" ||
        { cat "$dir/$mode-bad.err"; fail "unwritable report"; }
    ! grep -q "^eval: " "$dir/$mode-bad.err" || fail "an unwritable report was only found after the run"
    echo "eval bad input: all checks passed"
}

case $mode in
fixtures) fixtures ;;
ranks) ranks ;;
bad) bad ;;
adapt) adapt ;;
*) fail "unknown mode $mode" ;;
esac
