/* Reading /proc/self/smaps_rollup and /proc/self/smaps (see memory.h). The fields are lines
 * "Name:   <n> kB"; in smaps, a mapping starts with a line of hex addresses whose last
 * column is the path. Reference: Linux Documentation/filesystems/proc.rst. */
#include "base/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds the kB value of a "Name: n kB" line to *field when the line starts with name. */
static void take(const char *line, const char *name, int64_t *field) {
    size_t len = strlen(name);
    long long kb;
    if (strncmp(line, name, len) == 0 && sscanf(line + len, " %lld", &kb) == 1)
        *field += (int64_t)kb * 1024;
}

/* The fields of one block of smaps lines into m (added). */
static void take_fields(const char *line, t2_memory *m, int64_t *shared_clean,
                        int64_t *shared_dirty) {
    take(line, "Rss:", &m->rss);
    take(line, "Pss:", &m->pss);
    take(line, "Pss_File:", &m->pss_file);
    take(line, "Pss_Anon:", &m->pss_anon);
    take(line, "Pss_Shmem:", &m->pss_shmem);
    take(line, "Shared_Clean:", shared_clean);
    take(line, "Shared_Dirty:", shared_dirty);
}

int t2_memory_read(t2_memory *m) {
    memset(m, 0, sizeof *m);
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (f == NULL) return -1;
    char line[512];
    int64_t shared_clean = 0, shared_dirty = 0;
    while (fgets(line, sizeof line, f) != NULL) take_fields(line, m, &shared_clean, &shared_dirty);
    fclose(f);
    m->shared_file = shared_clean + shared_dirty; /* anonymous pages are not shared here */
    return 0;
}

/* 1 when an smaps line starts a mapping: "<start>-<end> <perms> ...". */
static int mapping_header(const char *line, const char **path) {
    unsigned long start, end;
    int consumed = 0;
    if (sscanf(line, "%lx-%lx %*s %*s %*s %*s%n", &start, &end, &consumed) != 2 || consumed == 0)
        return 0;
    const char *p = line + consumed;
    while (*p == ' ') p++;
    *path = p;
    return 1;
}

int t2_memory_read_file(t2_memory *m, const char *path) {
    memset(m, 0, sizeof *m);
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL) return -1;
    char line[4096];
    int inside = 0;
    size_t len = strlen(path);
    int64_t shared_clean = 0, shared_dirty = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        const char *mapped;
        if (mapping_header(line, &mapped)) {
            inside = strncmp(mapped, path, len) == 0 && (mapped[len] == '\n' || mapped[len] == '\0');
            continue;
        }
        if (inside) take_fields(line, m, &shared_clean, &shared_dirty);
    }
    fclose(f);
    m->pss_file = m->pss;
    m->pss_anon = m->pss_shmem = 0;
    m->shared_file = shared_clean + shared_dirty;
    return 0;
}

int64_t t2_memory_available(void) {
    const char *env = getenv("T2_MEMORY_AVAILABLE");
    if (env != NULL && *env >= '0' && *env <= '9') {
        char *end;
        long long bytes = strtoll(env, &end, 10);
        if (*end == '\0') return (int64_t)bytes;
    }
    FILE *f = fopen("/proc/meminfo", "r");
    if (f == NULL) return -1;
    char line[256];
    int64_t available = 0;
    while (fgets(line, sizeof line, f) != NULL) take(line, "MemAvailable:", &available);
    fclose(f);
    return available > 0 ? available : -1;
}

void t2_memory_format(char *out, int64_t bytes) {
    snprintf(out, 16, "%.2f GB", (double)bytes / 1e9);
}
