#!/bin/sh
# Installs the Debian 12 packages t2 needs to build and test, when any is missing.
# Runs as root (or through sudo when it is available); changes nothing when all are present.
set -eu

packages="build-essential cmake pkg-config
libopenmpi-dev openmpi-bin libscalapack-openmpi-dev libblis-dev liblapack-dev liblapacke-dev
libconfig-dev libprotobuf-c-dev protobuf-c-compiler libjansson-dev libpcre2-dev libutf8proc-dev
libmicrohttpd-dev curl
clang libclang-rt-14-dev libomp-dev python3 procps qemu-user gnuplot-nox
slurm-wlm slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge libpmix-dev"
# clang with libclang-rt-14-dev (the sanitizer and libFuzzer runtimes) and libomp-dev (clang's
# OpenMP) build the fuzz targets (scripts/fuzz.sh, docs/reliability.md).
# python3 (/usr/bin/python3) runs the tests of the mbpp task's reward (docs/tasks.md); procps gives
# the tests ps and pgrep; qemu-user runs t2 on emulated older CPUs (tests/portable.cmake);
# gnuplot-nox draws the plots of `t2 report` and the demo's report page (docs/report.md).
# The last line is for slurm/ and its test (docs/slurm.md): the Slurm daemons and clients,
# munge for their authentication, and libpmix-dev because srun --mpi=pmix dlopens the
# unversioned libpmix.so that only the -dev package ships.
# libmicrohttpd-dev is t2 serve's HTTP server; curl and the openai npm client (below) are its
# tests' clients (docs/serve.md).

# The official openai npm client for tests/test_serve_openai.mjs, into the git-ignored
# .npm-clients/ (node and npm are not installed here); skipped with a message when npm or the
# registry cannot be reached, and the test then skips too.
npm_clients() {
    root=$(cd "$(dirname "$0")/.." && pwd)
    [ ! -f "$root/.npm-clients/node_modules/openai/package.json" ] || return 0
    if ! command -v npm >/dev/null 2>&1; then
        echo "t2 setup: npm not found; the openai client test will be skipped" >&2
        return 0
    fi
    npm install --silent --no-audit --no-fund --prefix "$root/.npm-clients" openai@4 >&2 ||
        echo "t2 setup: npm could not install openai@4; the openai client test will be skipped" >&2
}

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    npm_clients
    exit 0
fi

echo "t2 setup: installing$missing" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
    sudo=sudo
fi
$sudo apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing >&2
npm_clients
