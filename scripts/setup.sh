#!/bin/sh
# Installs the Debian 12 packages t2 needs to build and test, when any is missing.
# Runs as root (or through sudo when it is available); changes nothing when all are present.
set -eu

packages="build-essential cmake pkg-config
libopenmpi-dev openmpi-bin libscalapack-openmpi-dev libblis-dev liblapack-dev liblapacke-dev
libconfig-dev libprotobuf-c-dev protobuf-c-compiler libjansson-dev libpcre2-dev libutf8proc-dev
clang libclang-rt-14-dev python3 procps qemu-user
slurm-wlm slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge libpmix-dev"
# python3 (/usr/bin/python3) runs the tests of the mbpp task's reward (docs/tasks.md); procps gives
# the tests ps and pgrep; qemu-user runs t2 on emulated older CPUs (tests/portable.cmake).
# The last line is for slurm/ and its test (docs/slurm.md): the Slurm daemons and clients,
# munge for their authentication, and libpmix-dev because srun --mpi=pmix dlopens the
# unversioned libpmix.so that only the -dev package ships.

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "t2 setup: installing$missing" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
    sudo=sudo
fi
$sudo apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing >&2
