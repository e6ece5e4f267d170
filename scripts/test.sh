#!/bin/sh
# Sets up the machine (scripts/setup.sh), then builds and runs the whole ctest suite twice:
# the Release build in build/, and the AddressSanitizer + UBSan build in build-sanitize/;
# then a libFuzzer smoke run of every fuzz target, a few seconds each, in build-fuzz/
# (clang; scripts/fuzz.sh, docs/reliability.md).
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
jobs=$(nproc)
for variant in "build Release" "build-sanitize Debug"; do
    set -- $variant
    echo "== t2 tests: $2 build in $1/" >&2
    cmake -S . -B "$1" -DCMAKE_BUILD_TYPE="$2" >/dev/null
    cmake --build "$1" -j "$jobs"
    ctest --test-dir "$1" -j "$jobs" --output-on-failure
done
echo "== t2 tests: libFuzzer smoke run in build-fuzz/" >&2
./scripts/fuzz.sh all 3
