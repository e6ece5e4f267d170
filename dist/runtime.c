/* MPI start-up and shutdown for distributed commands: initialises MPI, tells the log module
 * this process's rank, makes failed asserts abort the whole job (MPI_Abort) instead of
 * leaving peers hanging, and sets BLIS's threads from the ranks sharing this node. */
#include "dist/runtime.h"

#include <mpi.h>
#include <stdio.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"
#include "base/log.h"
#include "base/memory.h"
#include "linalg/blis_setup.h"

static void abort_job(void) { MPI_Abort(MPI_COMM_WORLD, 1); }

void t2_runtime_init(t2_runtime *rt, int *argc, char ***argv) {
    int already = 0;
    MPI_Initialized(&already);
    /* SERIALIZED: dist/handout.c's server thread on the parameter rank calls MPI while the
     * main thread computes (never both at once). */
    int provided = 0;
    if (!already) MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    else MPI_Query_thread(&provided);
    rt->threads_ok = provided >= MPI_THREAD_SERIALIZED;
    MPI_Comm_rank(MPI_COMM_WORLD, &rt->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &rt->size);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rt->rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &rt->ranks_on_node);
    MPI_Comm_free(&node);
    t2_log_set_rank(rt->rank);
    t2_assert_set_abort_hook(abort_job);
    t2_blis_setup(0, rt->ranks_on_node);
}

void t2_runtime_log_memory(const t2_runtime *rt, const char *when) {
    enum { FIELDS = 6 };
    t2_memory mine;
    t2_memory_read(&mine);
    int64_t fields[FIELDS] = {mine.rss,      mine.pss,       mine.pss_file,
                              mine.pss_anon, mine.pss_shmem, mine.shared_file};
    int64_t *all = rt->rank == 0 ? t2_alloc_array((size_t)rt->size * FIELDS, sizeof *all) : NULL;
    MPI_Gather(fields, FIELDS, MPI_INT64_T, all, FIELDS, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (rt->rank != 0) return;
    int64_t total_pss = 0;
    for (int r = 0; r < rt->size; r++) {
        char text[FIELDS][16];
        for (int f = 0; f < FIELDS; f++) t2_memory_format(text[f], all[FIELDS * r + f]);
        t2_log(T2_LOG_INFO, "memory %s, rank %d: RSS %s, PSS %s (file-backed %s, anonymous "
               "%s, shared memory %s); file pages shared with other processes %s", when, r,
               text[0], text[1], text[2], text[3], text[4], text[5]);
        total_pss += all[FIELDS * r + 1];
    }
    char total[16];
    t2_memory_format(total, total_pss);
    t2_log(T2_LOG_INFO, "memory %s: the %d ranks' PSS adds up to %s", when, rt->size, total);
    t2_free(all);
}

int t2_runtime_agree(const t2_runtime *rt, int local_ok) {
    (void)rt;
    int all_ok = 0;
    MPI_Allreduce(&local_ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all_ok;
}

int t2_runtime_agree_status(const t2_runtime *rt, int status, t2_error *err) {
    int mine = status != 0 ? rt->rank : rt->size, first = rt->size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == rt->size) return 0;
    t2_error shared = {{0}};
    if (rt->rank == first) {
        shared = *err;
        if (first != 0) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "rank %d", first);
            t2_error_prefix(&shared, prefix);
        }
    }
    MPI_Bcast(shared.msg, (int)sizeof shared.msg, MPI_CHAR, first, MPI_COMM_WORLD);
    if (err != NULL) *err = shared;
    return -1;
}

int t2_runtime_broadcast_file(const t2_runtime *rt, const char *path, char **text, size_t *len,
                              t2_error *err) {
    *text = NULL;
    *len = 0;
    int status = rt->rank == 0 ? t2_file_read(path, text, len, err) : 0;
    if (t2_runtime_agree_status(rt, status, err) != 0) {
        t2_free(*text);
        *text = NULL;
        return -1;
    }
    unsigned long long n = *len;
    MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    T2_ASSERT(n < (1ull << 31));
    if (rt->rank != 0) {
        *text = t2_alloc((size_t)n + 1);
        (*text)[n] = '\0';
        *len = (size_t)n;
    }
    MPI_Bcast(*text, (int)n, MPI_CHAR, 0, MPI_COMM_WORLD);
    return 0;
}

void t2_runtime_finalize(t2_runtime *rt) {
    (void)rt;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}
