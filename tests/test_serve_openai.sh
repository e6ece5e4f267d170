#!/bin/sh
# The official openai npm client (tests/test_serve_openai.mjs) against `t2 serve --port 0` on
# the shipped default model and the bundle of tests/test_serve_http.sh's fixtures. Skipped
# (exit 77) when node or the client (scripts/setup.sh installs it into .npm-clients/) is
# missing.
# usage: test_serve_openai.sh T2_EXE SOURCE_DIR DIR
set -eu
t2=$1; src=$2; dir=$3
clients=$src/.npm-clients/node_modules
if ! command -v node >/dev/null 2>&1 || [ ! -f "$clients/openai/package.json" ]; then
    echo "skipped: the openai npm client is not installed (scripts/setup.sh installs it into" \
        ".npm-clients/ when npm can reach its registry)"
    exit 77
fi
err=$dir/openai-server.err
"$t2" serve --model "$src/assets/default-model" --store "$dir/S" --bundle "$dir/b.t2b" \
    --port 0 --threads 1 2>"$err" &
pid=$!
i=0
until grep -q '^t2 serve: listening on ' "$err"; do
    kill -0 $pid 2>/dev/null || { cat "$err"; echo "FAIL: t2 serve exited"; exit 1; }
    i=$((i + 1)); [ $i -lt 1200 ] || { kill $pid; echo "FAIL: no listening line"; exit 1; }
    sleep 0.1
done
url=$(sed -n 's/^t2 serve: listening on \(http:[^ ]*\)$/\1/p' "$err")
set +e
node "$src/tests/test_serve_openai.mjs" "$clients/openai" "$url/v1"
status=$?
kill -TERM $pid
wait $pid
rc=$?
set -e
[ $status -eq 0 ] || { tail -20 "$err"; echo "FAIL: the openai client's checks"; exit 1; }
[ $rc -eq 0 ] || { tail -20 "$err"; echo "FAIL: t2 serve exited $rc"; exit 1; }
! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$err" || { cat "$err"; exit 1; }
echo "serve openai: all checks passed"
