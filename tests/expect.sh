#!/bin/sh
# Runs a command and checks how it ended:
#   expect.sh EXIT STDERR_REGEX STDOUT_REGEX STDIN_FILE COMMAND...
# EXIT: the exit status required ("nonzero" accepts any failure that is not a crash).
# Empty regexes are not checked; STDIN_FILE empty means /dev/null.
# Always fails on a sanitizer report, a signal, or an assertion failure.
want_exit=$1; want_err=$2; want_out=$3; stdin_file=${4:-/dev/null}
shift 4
# The command as a shell would take it back: each word in single quotes (' as '\'').
command=
for word in "$@"; do
    command="$command${command:+ }'$(printf '%s' "$word" | sed "s/'/'\\\\''/g")'"
done
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$@" <"$stdin_file" >"$out" 2>"$err"
status=$?
fail() {
    echo "FAIL: $*"
    echo "command: $command"; echo "exit status: $status"
    echo "--- stdout (first 40 lines)"; head -n 40 "$out"
    echo "--- stderr (first 40 lines)"; head -n 40 "$err"
    exit 1
}
if grep -q -E "AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer|assertion failed|Segmentation fault|core dumped" "$err"; then
    fail "sanitizer report, assertion or crash"
fi
if [ "$status" -ge 128 ]; then fail "killed by a signal"; fi
if [ "$want_exit" = nonzero ]; then
    [ "$status" -ne 0 ] || fail "expected a non-zero exit"
else
    [ "$status" -eq "$want_exit" ] || fail "expected exit $want_exit"
fi
if [ -n "$want_err" ] && ! grep -q -E -- "$want_err" "$err"; then fail "stderr does not match /$want_err/"; fi
if [ -n "$want_out" ] && ! grep -q -E -- "$want_out" "$out"; then fail "stdout does not match /$want_out/"; fi
exit 0
