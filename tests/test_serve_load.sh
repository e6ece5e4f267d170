#!/bin/sh
# Load on `t2 serve` (docs/serve.md, "Load test"): 64 clients (tests/serve_load.py) for
# SECONDS on the shipped default model with the bundle of test_serve_http.sh's fixtures,
# mixing valid streamed and whole requests with every bad input. Passes when every valid
# request is answered, every bad one gets its error, the server still answers /health after,
# and SIGTERM stops it with exit 0 (no sanitizer report in an ASan build). Prints p50 / p99
# latency and tokens/s. ctest runs it for 5 s; the documented figures are from 30 s.
# usage: test_serve_load.sh T2_EXE SOURCE_DIR DIR [SECONDS [CLIENTS]]
set -eu
t2=$1; src=$2; dir=$3; seconds=${4:-30}; clients=${5:-64}
err=$dir/load-server.err
"$t2" serve --model "$src/assets/default-model" --store "$dir/S" --bundle "$dir/b.t2b" \
    --port 0 --slots 8 --queue 64 --timeout 3 2>"$err" &
pid=$!
fail() { echo "FAIL: $*"; tail -5 "$err"; kill -TERM $pid 2>/dev/null || true; exit 1; }
i=0
until grep -q '^t2 serve: listening on ' "$err"; do
    kill -0 $pid 2>/dev/null || { cat "$err"; echo "FAIL: t2 serve exited"; exit 1; }
    i=$((i + 1)); [ $i -lt 1200 ] || fail "no listening line"
    sleep 0.1
done
url=$(sed -n 's/^t2 serve: listening on \(http:[^ ]*\)$/\1/p' "$err" | tail -1)
case $url in http://127.0.0.1:[1-9]*) ;; *) fail "listening line: '$url' in $err" ;; esac
/usr/bin/python3 "$src/tests/serve_load.py" "${url##*:}" "$seconds" "$clients" ||
    fail "the load client saw unexpected answers"
kill -0 $pid 2>/dev/null || fail "t2 serve died under load"
[ "$(curl -s "$url/health")" = '{"status":"ok"}' ] || fail "/health after the load"
curl -s "$url/metrics" | grep -E '^t2_serve_(requests|completion_tokens|client_disconnects)_total ' || true
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
[ $rc -eq 0 ] || fail "t2 serve exited $rc after SIGTERM"
! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$err" || { cat "$err"; exit 1; }
echo "serve load: $(grep -c '^t2 serve: [A-Z]' "$err") log lines; all checks passed"
