#!/bin/sh
# The README's first command: sets up the machine (scripts/setup.sh: the Debian packages,
# with root or sudo), builds t2 (Release, in build/), and runs `t2 demo` on 2 ranks of this
# machine (docs/demo.md): Transformer² end to end on the embedded default model, its tables
# on standard output and everything it writes in build/demo, the report page with plots in
# build/demo/report/index.html. Arguments go to t2 demo (e.g. --quick, --out DIR, --n 100).
# Environment: T2_DEMO_RANKS (default 2) ranks; Open MPI's run-as-root switches only when run
# as root; one BLIS thread per rank, so the ranks do not oversubscribe the cores.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >&2
cmake --build build -j "$(nproc)" --target t2 >&2
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export BLIS_NUM_THREADS=1
exec mpirun -n "${T2_DEMO_RANKS:-2}" --oversubscribe --bind-to none build/t2 demo "$@"
