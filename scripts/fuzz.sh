#!/bin/sh
# Runs fuzz targets (tests/fuzz/fuzz_TARGET.c) under libFuzzer with AddressSanitizer and UBSan:
#     scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags ...]
# Builds them with clang in build-fuzz/ (or $T2_FUZZ_BUILD; -DT2_FUZZ=ON, Debug; not when
# T2_FUZZ_NO_BUILD is set), then runs each target for SECONDS on its seed corpus and crash regressions, one process.
# New inputs go to build-fuzz/fuzz-work/TARGET (kept: later runs start from them), crashes,
# leaks and hangs (> 10 s) to build-fuzz/fuzz-findings/TARGET/, the log to
# build-fuzz/fuzz-logs/TARGET.log; one summary line per target (runs, cov, ft) on stdout.
# Exits 1 on the first finding. docs/reliability.md ("Fuzzing") says how to keep a finding
# as a regression.
set -eu
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
    echo "usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags ...]" >&2
    echo "targets: $(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||' | tr '\n' ' ')" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2
build=${T2_FUZZ_BUILD:-build-fuzz}

if [ "$target" = all ]; then
    targets=$(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')
elif [ -f "tests/fuzz/fuzz_$target.c" ]; then
    targets=$target
else
    echo "t2 fuzz: no target '$target' (tests/fuzz/fuzz_$target.c)" >&2
    exit 2
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DT2_FUZZ=ON >/dev/null
fi
build_targets=""
for t in $targets; do build_targets="$build_targets fuzz_$t"; done
if [ -z "${T2_FUZZ_NO_BUILD:-}" ]; then
    cmake --build "$build" -j "$(nproc)" --target $build_targets >/dev/null
fi

for t in $targets; do
    work="$build/fuzz-work/$t"
    findings="$build/fuzz-findings/$t"
    log="$build/fuzz-logs/$t.log"
    mkdir -p "$work" "$findings" "$build/fuzz-logs"
    dirs="$work tests/fuzz/corpus/$t"
    if [ -d "tests/fuzz/regressions/$t" ]; then dirs="$dirs tests/fuzz/regressions/$t"; fi
    status=0
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$build/tests/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$findings/" "$@" $dirs >"$log" 2>&1 || status=$?
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | sed 's/.*: *//' || true)
    cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
    if [ "$status" != 0 ]; then
        echo "fuzz $t: FAILED (status $status) after ${runs:-?} runs; see $log" >&2
        grep -E 'ERROR|SUMMARY|t2 fuzz:|Test unit written|runtime error' "$log" | head -n 8 >&2 || true
        exit 1
    fi
    echo "fuzz $t: ${runs:-?} runs in ${seconds} s, ${cov:-no coverage line}, no findings"
done
