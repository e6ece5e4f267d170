#!/bin/sh
# tests/expect.sh itself: a command that ends as required passes; one that does not fails
# with exit 1 and prints the command it ran, each word quoted so that the shell reads the
# same words back (spaces, quotes, backslashes), not the checker's own arguments.
# usage: test_expect.sh SOURCE_DIR
set -u
expect=$1/tests/expect.sh
fail() { echo "FAIL: $*"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

sh "$expect" 3 "" "^it's" "" sh -c 'echo "$1"; exit 3' sh "it's" >"$out" 2>&1 ||
    { cat "$out"; fail "a command that exited 3 as required did not pass"; }

sh "$expect" 0 "" "" "" sh -c 'exit 3' sh "it's a \\ b" >"$out" 2>&1
status=$?
[ "$status" -eq 1 ] || { cat "$out"; fail "exit status $status for a failing command; expected 1"; }
grep -q "^FAIL: expected exit 0$" "$out" || { cat "$out"; fail "no FAIL line"; }
grep -q "^exit status: 3$" "$out" || { cat "$out"; fail "no exit status line"; }
line=$(sed -n 's/^command: //p' "$out")
[ "$line" = "'sh' '-c' 'exit 3' 'sh' 'it'\\''s a \\ b'" ] ||
    { cat "$out"; fail "the command line printed is <$line>"; }
# the shell reads the printed line back as the same words
eval "set -- $line"
[ $# -eq 5 ] && [ "$2" = "-c" ] && [ "$5" = "it's a \\ b" ] ||
    fail "the printed command reads back as $# words, the last <$5>"
echo "expect.sh: all checks passed"
