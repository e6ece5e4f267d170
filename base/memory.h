/* What this process's memory costs the machine, from Linux's /proc/self/smaps_rollup and
 * /proc/self/smaps: resident set (RSS), proportional set (PSS: each page divided by the
 * number of processes mapping it, so the PSS of all processes adds up to the memory in use),
 * and how much of it is file-backed and shared (weights and decomposition stores mapped by
 * every rank of a node count once for the node). Linux only; on a system without these
 * files every figure is 0. */
#ifndef T2_BASE_MEMORY_H
#define T2_BASE_MEMORY_H

#include <stdint.h>

typedef struct t2_memory {
    int64_t rss;         /* bytes resident */
    int64_t pss;         /* proportional share of rss */
    int64_t pss_file;    /* of pss: file-backed pages (mapped weights, stores, libraries) */
    int64_t pss_anon;    /* of pss: anonymous pages (the process's own allocations) */
    int64_t pss_shmem;   /* of pss: shared memory (e.g. a node's MPI shared windows) */
    int64_t shared_file; /* of rss: file-backed pages some other process maps too */
} t2_memory;

/* The whole process. 0, or -1 (all fields 0) when /proc/self/smaps_rollup is unreadable. */
int t2_memory_read(t2_memory *m);

/* The mappings of one file (its path as the kernel shows it, e.g. after realpath): rss, pss
 * and shared_file summed over them, pss_file = pss, pss_anon = pss_shmem = 0
 * (copy-on-write pages of a private mapping count as the file's). 0, or -1 when /proc/self/smaps is unreadable. */
int t2_memory_read_file(t2_memory *m, const char *path);

/* Bytes the machine can still give this process without swapping: the environment's
 * T2_MEMORY_AVAILABLE when it is a whole number of bytes (a job on a shared node can state
 * its share; tests set it), else /proc/meminfo's MemAvailable; -1 when neither is there. */
int64_t t2_memory_available(void);

/* "1.23 GB" style text of bytes into out (at least 16 bytes). */
void t2_memory_format(char *out, int64_t bytes);

#endif
