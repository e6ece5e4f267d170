#!/bin/sh
# t2 report (cmd/report*.c, docs/report.md) on hand-written inputs, checked by
# tests/report_check.py (Python's standard library, independent of t2):
#   pages   two training runs (one with a resumed step, one with KL), a few-shot log of two
#           searches (one per layer), an evaluation report: the page, the 8 PNGs and every
#           data file against the inputs; a second report into the same folder replaces it;
#   demo    the report `t2 demo --quick` wrote beside its tables (DIR = the demo's folder).
# usage: test_report.sh MODE T2_EXE SOURCE_DIR DIR
set -eu
mode=$1; t2=$2; src=$3; dir=$4
fail() { echo "FAIL: $*"; exit 1; }
check() { /usr/bin/python3 "$src/tests/report_check.py" "$@" || fail "report_check.py $*"; }

inputs() {
    rm -rf "$dir"; mkdir -p "$dir/in"
    # run a: steps 1-4, then a resume that re-did steps 3 and 4 (other values); validation
    # on steps 2 and 4.
    cat >"$dir/in/math.jsonl" <<'EOF'
{"step": 1, "reward_mean": -0.40625, "reward_std": 0.913762, "accuracy": 0.296875, "kl": 0, "loss": -0.578236, "grad_norm": 0.312014, "tokens": 8303, "seconds": {"rollout": 0.1914, "backward": 0.5865, "wait": 0.0000, "communication": 0.0001, "update": 0.0001}, "elapsed": 1.162}
{"step": 2, "reward_mean": -0.46875, "reward_std": 0.883331, "accuracy": 0.265625, "kl": 0, "loss": -0.768874, "grad_norm": 0.223048, "tokens": 8246, "val_accuracy": 0.382812, "seconds": {"rollout": 0.1918, "backward": 0.5456, "wait": 0.0000, "communication": 0.0001, "update": 0.0028}, "elapsed": 1.903}
{"step": 3, "reward_mean": -0.625, "reward_std": 0.780625, "accuracy": 0.1875, "kl": 0, "loss": -0.5, "grad_norm": 0.19, "tokens": 8100, "seconds": {"rollout": 0.2, "backward": 0.5, "wait": 0.01, "communication": 0.0001, "update": 0.0001}, "elapsed": 2.7}
{"step": 4, "reward_mean": -0.5, "reward_std": 0.8, "accuracy": 0.25, "kl": 0, "loss": -0.4, "grad_norm": 0.18, "tokens": 8000, "val_accuracy": 0.4, "seconds": {"rollout": 0.2, "backward": 0.5, "wait": 0.01, "communication": 0.0001, "update": 0.0001}, "elapsed": 3.5}
{"step": 3, "reward_mean": -0.3125, "reward_std": 0.95, "accuracy": 0.34375, "kl": 0, "loss": -0.61, "grad_norm": 0.2125, "tokens": 8111, "seconds": {"rollout": 0.2125, "backward": 0.5375, "wait": 0.0003, "communication": 0.0002, "update": 0.0004}, "elapsed": 2.75}
{"step": 4, "reward_mean": -0.15625, "reward_std": 0.99, "accuracy": 0.421875, "kl": 0, "loss": -0.7, "grad_norm": 0.1875, "tokens": 8222, "val_accuracy": 0.4375, "seconds": {"rollout": 0.25, "backward": 0.5, "wait": 0.125, "communication": 0.0625, "update": 0.03125}, "elapsed": 3.625}
EOF
    # run b: KL > 0, no validation.
    cat >"$dir/in/code.jsonl" <<'EOF'
{"step": 1, "reward_mean": -0.75, "reward_std": 0.66, "accuracy": 0.125, "kl": 0.0123, "loss": 0.5, "grad_norm": 0.5, "tokens": 9000, "seconds": {"rollout": 0.3, "backward": 0.6, "wait": 0, "communication": 0, "update": 0}, "elapsed": 0.9}
{"step": 2, "reward_mean": -0.5, "reward_std": 0.86, "accuracy": 0.25, "kl": 0.0456, "loss": 0.25, "grad_norm": 0.25, "tokens": 9100, "seconds": {"rollout": 0.35, "backward": 0.65, "wait": 0, "communication": 0, "update": 0}, "elapsed": 1.9}
{"step": 3, "reward_mean": -0.25, "reward_std": 0.96, "accuracy": 0.375, "kl": 0.0789, "loss": 0.125, "grad_norm": 0.125, "tokens": 9200, "seconds": {"rollout": 0.4, "backward": 0.7, "wait": 0, "communication": 0, "update": 0}, "elapsed": 3.0}
EOF
    # two searches: mc_math with 2 experts x 2 layers (3 iterations), arith_code (2).
    cat >"$dir/in/fewshot.jsonl" <<'EOF'
{"search": "mc_math", "iteration": 1, "examples": 8, "members": 8, "experts": ["math", "code"], "best_score": 0.25, "best_tiebreak": -1.5, "best_alpha": [0.5, 0.25, 1, 0], "iteration_best": 0.25, "iteration_mean": 0.125, "mean_alpha": [0.5, 0.5, 0.5, 0.5]}
{"search": "mc_math", "iteration": 2, "examples": 8, "members": 8, "experts": ["math", "code"], "best_score": 0.375, "best_tiebreak": -1.25, "best_alpha": [0.75, 0.5, 0.125, 0.375], "iteration_best": 0.375, "iteration_mean": 0.1875, "mean_alpha": [0.625, 0.5, 0.25, 0.5]}
{"search": "mc_math", "iteration": 3, "examples": 8, "members": 8, "experts": ["math", "code"], "best_score": 0.375, "best_tiebreak": -1.25, "best_alpha": [0.75, 0.5, 0.125, 0.375], "iteration_best": 0.25, "iteration_mean": 0.2, "mean_alpha": [0.7, 0.55, 0.2, 0.4]}
{"search": "arith_code", "iteration": 1, "examples": 4, "members": 4, "experts": ["math", "code"], "best_score": 0.5, "best_tiebreak": -2, "best_alpha": [0, 1], "iteration_best": 0.5, "iteration_mean": 0.25, "mean_alpha": [0.1, 0.9]}
{"search": "arith_code", "iteration": 2, "examples": 4, "members": 4, "experts": ["math", "code"], "best_score": 0.75, "best_tiebreak": -1, "best_alpha": [0.2, 0.8], "iteration_best": 0.75, "iteration_mean": 0.5, "mean_alpha": [0.15, 0.85]}
EOF
    cat >"$dir/in/table.json" <<'EOF'
{
  "command": "eval", "model": "m", "store": null, "bundle": "b.t2b", "split": "test",
  "samples_per_task": 20, "batch": 4, "max_new_tokens": 16, "seed": 1, "decoding": "greedy",
  "ranks": 2,
  "results": [
    {"task": "math", "level": 3, "strategy": "base", "n": 20, "correct": 10, "no_answer": 0,
     "accuracy": 0.5, "interval95": {"low": 0.2993, "high": 0.7007}, "prompt_tokens": 1851,
     "new_tokens": 725, "seconds": 0.31, "routing": null, "fewshot": null},
    {"task": "math", "level": 3, "strategy": "prompt", "n": 20, "correct": 12, "no_answer": 0,
     "accuracy": 0.6, "interval95": {"low": 0.3866, "high": 0.7812}, "prompt_tokens": 1900,
     "new_tokens": 800, "seconds": 0.52,
     "routing": {"prompt_tokens": 900, "new_tokens": 300, "routed": {"math": 15, "base": 5},
                 "share": {"math": 0.75, "base": 0.25}}, "fewshot": null},
    {"task": "code", "level": 1, "strategy": "base", "n": 20, "correct": 2, "no_answer": 2,
     "accuracy": 0.1, "interval95": {"low": 0.0279, "high": 0.3010}, "prompt_tokens": 1736,
     "new_tokens": 1419, "seconds": 0.46, "routing": null, "fewshot": null},
    {"task": "code", "level": 1, "strategy": "fewshot", "n": 20, "correct": 3, "no_answer": 1,
     "accuracy": 0.15, "interval95": {"low": 0.0524, "high": 0.3604}, "prompt_tokens": 1736,
     "new_tokens": 1400, "seconds": 0.4, "routing": null,
     "fewshot": {"alpha": [0.2, 0.8], "examples": 4}}
  ]
}
EOF
}

pages() {
    inputs
    in=$dir/in
    "$t2" report --out "$dir/out" --title "report <test> & check" "$in/math.jsonl" \
        "$in/code.jsonl" "$in/fewshot.jsonl" "$in/table.json" 2>"$dir/err" ||
        { cat "$dir/err"; fail "t2 report exited $?"; }
    grep -q "^t2 report: wrote $dir/out/index.html (4 input files)$" "$dir/err" ||
        fail "no closing line: $(cat "$dir/err")"
    # reward, val_accuracy, kl, grad_norm, step_time, fewshot-1, fewshot-2, eval-1
    check "$dir/out" 8 "$in/math.jsonl" "$in/code.jsonl" "$in/fewshot.jsonl" "$in/table.json"
    grep -q "<title>report &lt;test&gt; &amp; check</title>" "$dir/out/index.html" ||
        fail "the title is not escaped"
    grep -q "mc_math" "$dir/out/report.gp" || fail "report.gp does not name the search"
    ! ls "$dir/out" | grep -q '\.tmp\.' || fail "a temporary file was left"
    # Again into the same folder with the metrics of run b alone: KL plot only, page replaced.
    "$t2" report --out "$dir/out" "$in/code.jsonl" 2>"$dir/err" ||
        { cat "$dir/err"; fail "second t2 report exited $?"; }
    check "$dir/out" 4 "$in/code.jsonl" # reward, kl, grad_norm, step_time (no validation)
    echo "report pages: all checks passed"
}

demo() {
    [ -f "$dir/report/index.html" ] || fail "$dir/report/index.html was not written"
    [ -s "$dir/fewshot.jsonl" ] || fail "$dir/fewshot.jsonl was not written"
    # 4 trainings (reward, val_accuracy, grad_norm, step_time; KL is 0), 2 searches, 2 tables
    check "$dir/report" 8 "$dir/math.jsonl" "$dir/code.jsonl" "$dir/reasoning.jsonl" \
        "$dir/cls.jsonl" "$dir/fewshot.jsonl" "$dir/table1.json" "$dir/table2.json"
    echo "report demo: all checks passed"
}

case $mode in
pages) pages ;;
demo) demo ;;
*) fail "unknown mode $mode" ;;
esac
