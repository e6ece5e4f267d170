#!/bin/sh
# The shipped default model loads and leaves room to learn: greedy accuracy on the first 100
# test items of each built-in expert task lies between 15 % and 75 % (docs/base-model.md).
# usage: test_default_model.sh T2_EXE MODEL_DIR
set -eu
t2=$1; model=$2
status=0
for task in math code reasoning cls; do
    acc=$("$t2" task eval --task "$task" --model "$model" -n 100 | sed -n 's/^accuracy: *\([0-9.]*\).*/\1/p')
    echo "$task: accuracy $acc"
    awk -v a="$acc" 'BEGIN { exit !(a != "" && a >= 0.15 && a <= 0.75) }' ||
        { echo "FAIL: $task accuracy $acc is outside [0.15, 0.75]"; status=1; }
done
exit $status
