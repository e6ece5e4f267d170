#!/bin/sh
# t2 demo --quick (cmd/demo.c, docs/demo.md) on 2 ranks, from the source tree's root (the
# demo's default --model is relative to it):
#   quick   the whole demo into DIR (emptied first): exit 0, the six steps announced on
#           stderr, both tables on stdout under their headings with every row (base and the
#           three experts on math, code and reasoning; base, prompt, classifier and fewshot
#           on math_shift and code_shift), the table files equal to what stdout printed, the
#           JSON reports, store, experts and bundle written, no temporary file left;
#   rerun   the demo again into the same DIR with fewer samples: the store and the four
#           finished trainings are re-used (nothing retrained), the tables say n = 2;
#   bad     a --model that is not a model, an --out that cannot be a folder, an unknown
#           flag: exit 1 (2 for the flag) with exactly one error line, no crash, no hang.
# usage: test_demo.sh MODE T2_EXE MPIEXEC SOURCE_DIR DIR
set -eu
mode=$1; t2=$2; mpiexec=$3; src=$4; dir=$5
fail() { echo "FAIL: $*"; exit 1; }
cd "$src"

demo() { # out-prefix args...: runs the demo on 2 ranks, stdout and stderr into files
    prefix=$1; shift
    set +e
    $mpiexec -n 2 --oversubscribe "$t2" demo "$@" >"$prefix.out" 2>"$prefix.err"
    got=$?
    set -e
    ! grep -q -E "AddressSanitizer|runtime error:|LeakSanitizer|assertion failed|Segmentation fault" \
        "$prefix.err" || { cat "$prefix.err"; fail "$*: crashed"; }
}

# rows TABLE-NUMBER TASKS STRATEGIES: every (task, strategy) row is in that table on stdout
rows() {
    for task in $2; do
        for strategy in $3; do
            sed -n "/^## Table $1:/,/^## Table $(($1 + 1)):/p" "$dir.run.out" |
                grep -q "^| $task@[0-9] | $strategy | [0-9.]* % | " ||
                fail "table $1: no row for $task, $strategy"
        done
    done
}

quick() {
    rm -rf "$dir" "$dir.run.out" "$dir.run.err"
    demo "$dir.run" --quick --out "$dir"
    [ "$got" -eq 0 ] || { cat "$dir.run.err"; fail "t2 demo --quick exited $got"; }
    for step in 1 2 3 4 5 6; do
        grep -q "^demo: step $step of 6: " "$dir.run.err" || fail "step $step not announced"
    done
    [ "$(grep -c '^demo: step 2 of 6: train the ' "$dir.run.err")" -eq 4 ] ||
        fail "not four trainings announced"
    grep -q "^demo: done in " "$dir.run.err" || fail "no closing line"
    grep -q "^## Table 1: " "$dir.run.out" || fail "no Table 1 heading"
    grep -q "^## Table 2: " "$dir.run.out" || fail "no Table 2 heading"
    rows 1 "math code reasoning" "base expert:math expert:code expert:reasoning"
    rows 2 "math_shift code_shift" "base prompt classifier fewshot"
    [ "$(grep -c '^| [a-z_]*@[0-9] | ' "$dir.run.out")" -eq 20 ] || fail "not 12 + 8 rows"
    for k in 1 2; do
        sed -n "/^## Table $k:/,/^## Table $((k + 1)):/p" "$dir.run.out" | grep '^|' \
            >"$dir.table$k" || true
        cmp -s "$dir.table$k" "$dir/table$k.md" || fail "table$k.md differs from stdout"
        grep -q '"command": "eval"' "$dir/table$k.json" || fail "table$k.json is no report"
        grep -q '"ranks": 2' "$dir/table$k.json" || fail "table$k.json: not 2 ranks"
        grep -q '"samples_per_task": 8' "$dir/table$k.json" || fail "table$k.json: n is not 8"
    done
    grep -q '"strategy": "fewshot"' "$dir/table2.json" || fail "table2.json: no fewshot row"
    for f in default.svd math.expert code.expert reasoning.expert cls.expert experts.t2b \
             math.jsonl cls-ckpt/train-state.pb; do
        [ -s "$dir/$f" ] || fail "$f was not written"
    done
    "$t2" inspect "$dir/experts.t2b" >"$dir.inspect" || fail "t2 inspect experts.t2b"
    grep -q "^  categories  *math, code, reasoning$" "$dir.inspect" || fail "bundle categories"
    grep -q "^  classifier  *cls$" "$dir.inspect" || fail "bundle classifier"
    ! ls "$dir" | grep -q '\.tmp\.' || fail "a temporary file was left"
    cat "$dir.run.out"
    echo "demo quick: all checks passed"
}

rerun() {
    demo "$dir.again" --quick --out "$dir" --n 2
    [ "$got" -eq 0 ] || { cat "$dir.again.err"; fail "the second demo exited $got"; }
    grep -q "^demo: .*default.svd already holds this decomposition; re-used it$" \
        "$dir.again.err" || fail "the store was not re-used"
    [ "$(grep -c '^train: resuming after step 2$' "$dir.again.err")" -eq 4 ] ||
        { cat "$dir.again.err"; fail "not all four trainings re-used"; }
    ! grep -q '^train: validation accuracy before training' "$dir.again.err" ||
        fail "an expert was trained again"
    grep -q '"samples_per_task": 2' "$dir/table1.json" || fail "table1.json was not rewritten"
    grep -q '^| math@[0-9] | expert:math | .* | 2 | ' "$dir.again.out" || fail "no n = 2 row"
    echo "demo rerun: all checks passed"
}

expect() { # exit-code stderr-pattern args...
    code=$1; pattern=$2; shift 2
    demo "$dir.bad" "$@"
    [ "$got" -eq "$code" ] || { cat "$dir.bad.err"; fail "$*: exit $got, expected $code"; }
    grep -q -- "$pattern" "$dir.bad.err" ||
        { cat "$dir.bad.err"; fail "$*: no line matching '$pattern'"; }
    lines=$(grep -c "t2 demo: error" "$dir.bad.err" || true)
    [ "$lines" -eq 1 ] || { cat "$dir.bad.err"; fail "$*: $lines error lines, expected 1"; }
    ! grep -q "^demo: step 1 of 6" "$dir.bad.err" || fail "$*: the demo started"
    grep "t2 demo: error" "$dir.bad.err"
}

bad() {
    rm -rf "$dir"
    mkdir -p "$dir"
    : >"$dir/file"
    expect 1 "^t2 demo: error: model: $dir/no-model" --quick --out "$dir/out" \
        --model "$dir/no-model"
    expect 1 "^t2 demo: error: model: .*config.json" --quick --out "$dir/out" --model "$dir"
    expect 1 "^t2 demo: error: out: $dir/file is not a folder; expected a folder or a new path" \
        --quick --out "$dir/file/sub"
    expect 2 "^t2 demo: error: .*--bogus" --quick --out "$dir/out" --bogus 1
    expect 1 "^t2 demo: error: out: empty; expected a folder" --quick --out ""
    [ ! -e "$dir/out" ] || fail "the demo's folder was made for a bad input"
    echo "demo bad input: all checks passed"
}

case $mode in
quick) quick ;;
rerun) rerun ;;
bad) bad ;;
*) fail "unknown mode $mode" ;;
esac
