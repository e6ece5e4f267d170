/* BLIS kernel-set and thread selection (see blis_setup.h; BUILD-NOTES.md, "BLIS pitfalls"). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#define BLIS_DISABLE_BLAS_DEFS
#include <blis.h>

#include "linalg/blis_setup.h"

#include <sched.h>
#include <stdlib.h>

/* BLIS 0.9.0's arch_t values (frame/include/bli_type_defs.h). */
enum { BLIS_ARCH_ID_SKX = 0, BLIS_ARCH_ID_HASWELL = 3 };

static int setup_done = 0;

static int cpus_available(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    return 1;
}

void t2_blis_setup(int threads, int ranks_per_node) {
    if (setup_done) return;
    setup_done = 1;
    if (getenv("BLIS_ARCH_TYPE") == NULL) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f"))
            setenv("BLIS_ARCH_TYPE", "0", 0);
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            setenv("BLIS_ARCH_TYPE", "3", 0);
    }
    bli_init();
    if (threads <= 0) {
        const char *env = getenv("BLIS_NUM_THREADS");
        if (env != NULL && atoi(env) > 0) {
            threads = atoi(env);
        } else {
            int per_rank = ranks_per_node > 0 ? ranks_per_node : 1;
            threads = cpus_available() / per_rank;
        }
    }
    if (threads < 1) threads = 1;
    bli_thread_set_num_threads(threads);
}

const char *t2_blis_arch_name(void) { return bli_arch_string(bli_arch_query_id()); }

int t2_blis_threads(void) { return (int)bli_thread_get_num_threads(); }
