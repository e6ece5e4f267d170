#!/bin/sh
# A t2 built here runs on x86-64 CPUs with fewer features, with the same results
# (docs/build.md). Runs the same small commands natively and under qemu-x86_64 (user-mode
# emulation, TCG: no AVX-512) for three older CPU models:
#   Haswell  AVX2 + FMA, no AVX-512: the skinny kernels must pick avx2;
#   Nehalem  SSE4.2, no AVX: they must leave every product to BLIS;
#   qemu64   SSE2 + SSE3 only (baseline x86-64): the same;
# and checks, under each model:
#   - the probe (tests/portable_probe.c) names the expected skinny kernel, and its hash of
#     the T2_CLONES kernels' outputs is the native one, bit for bit (it prints BLIS's kernel
#     set too);
#   - t2 generate, greedy, on MODEL_DIR prints exactly the native continuation (tokens are
#     exact: the logits differ from native ones at most in the last bits, BLIS's kernels
#     not being bitwise identical across kernel sets);
#   - two steps of t2 pretrain on a tiny model print the native losses (4 decimals).
# The work is small because TCG emulates AVX2's fused multiply-adds in software, ~0.3 us each:
# a token of the default model (1.7 M multiply-adds) takes ~0.4 s under Haswell.
# A binary with instructions the model lacks dies with SIGILL and fails here; so does a
# -march=native build on any machine with AVX-512 (qemu 7.2 has none).
# Skips (exit 0) when qemu-x86_64 is not installed (Debian package qemu-user).
# usage: test_portable.sh T2_EXE PROBE_EXE MODEL_DIR
set -u
t2=$1; probe=$2; model=$3
if ! command -v qemu-x86_64 >/dev/null 2>&1; then
    echo "SKIP: qemu-x86_64 is not installed (Debian package qemu-user; scripts/setup.sh)"
    exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export BLIS_NUM_THREADS=1
unset T2_KERNEL BLIS_ARCH_TYPE # the automatic choices are under test
prompt="Q: 17+25="
status=0

fail() {
    echo "FAIL: $*"
    status=1
}

# run NAME CPU COMMAND...: runs COMMAND natively (CPU "native") or under qemu with that CPU
# model; stdout to $dir/NAME.out, stderr (without qemu's warnings about CPUID bits TCG lacks)
# to $dir/NAME.err. Returns 1, reporting, when the command fails or is killed by a signal.
run() {
    name=$1; cpu=$2; shift 2
    if [ "$cpu" = native ]; then
        "$@" >"$dir/$name.out" 2>"$dir/$name.raw"
    else
        qemu-x86_64 -cpu "$cpu" "$@" >"$dir/$name.out" 2>"$dir/$name.raw"
    fi
    rc=$?
    grep -v "warning: TCG doesn't support requested feature" "$dir/$name.raw" >"$dir/$name.err"
    if [ $rc -ne 0 ]; then
        fail "$name on $cpu: exit status $rc$([ $rc -ge 128 ] && echo " (signal $((rc - 128)))")"
        sed 's/^/    /' "$dir/$name.err" | head -n 10
        return 1
    fi
    return 0
}

# The steps' training and validation losses of a pretrain run's progress lines.
losses() {
    grep -o -E '(loss|val) [0-9.]+' "$1"
}

# same NAME CPU WHAT: fails unless NAME-CPU's file equals NAME-native's (non-empty).
same() {
    if [ "$2" = native ]; then
        [ -s "$dir/$1-native" ] || fail "native: no $3"
    else
        cmp -s "$dir/$1-native" "$dir/$1-$2" ||
            fail "$2: $3 '$(tr '\n' ' ' <"$dir/$1-$2")'; expected the native" \
                "'$(tr '\n' ' ' <"$dir/$1-native")'"
    fi
}

"$t2" new-model --out "$dir/tiny" --hidden 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128 \
    --seed 3 >/dev/null 2>&1 || { echo "FAIL: t2 new-model"; exit 1; }
for cpu in native Haswell Nehalem qemu64; do
    if run "probe-$cpu" "$cpu" "$probe"; then
        echo "$cpu: $(tr '\n' ' ' <"$dir/probe-$cpu.out")"
        grep "^kernels " "$dir/probe-$cpu.out" >"$dir/hash-$cpu"
        same hash "$cpu" "kernel hash"
        case $cpu in
            Haswell) want=avx2 ;;
            Nehalem | qemu64) want=blis ;;
            *) want="" ;;
        esac
        [ -z "$want" ] || grep -q -x "skinny $want" "$dir/probe-$cpu.out" ||
            fail "$cpu: the probe reports '$(head -n 1 "$dir/probe-$cpu.out")'; expected" \
                "'skinny $want'"
    fi
    if run "generate-$cpu" "$cpu" "$t2" generate --model "$model" --prompt "$prompt" \
        --max-new-tokens 6; then
        cp "$dir/generate-$cpu.out" "$dir/text-$cpu"
        echo "  generate: '$(cat "$dir/text-$cpu")'"
        same text "$cpu" "greedy continuation"
    fi
    if run "pretrain-$cpu" "$cpu" "$t2" pretrain --init-model "$dir/tiny" \
        --out "$dir/out-$cpu" --steps 2 --batch-seqs 2 --seq-len 16 --micro-batch 2 \
        --warmup 1 --eval-every 0 --eval-rows 2; then
        losses "$dir/pretrain-$cpu.err" >"$dir/losses-$cpu"
        echo "  pretrain: $(tr '\n' ' ' <"$dir/losses-$cpu")"
        same losses "$cpu" "pretrain losses"
    fi
    [ "$cpu" != native ] || [ $status -eq 0 ] || exit 1
done
exit $status
