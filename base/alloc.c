/* Checked, aligned allocation (see alloc.h). t2_realloc'ed blocks come from realloc, aligned
 * ones from posix_memalign; both are released by free(), so one t2_free serves them all. */
#include "base/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void die_out_of_memory(size_t bytes) {
    fprintf(stderr, "t2: out of memory allocating %zu bytes\n", bytes);
    abort();
}

void *t2_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 1;
    if (posix_memalign(&p, 64, bytes) != 0) die_out_of_memory(bytes);
    return p;
}

void *t2_alloc_zero(size_t bytes) {
    void *p = t2_alloc(bytes);
    memset(p, 0, bytes);
    return p;
}

void *t2_alloc_array(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) die_out_of_memory(SIZE_MAX);
    return t2_alloc_zero(count * size);
}

void *t2_alloc_array_huge(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) die_out_of_memory(SIZE_MAX);
    size_t bytes = count * size;
    if (bytes < T2_ALLOC_HUGE_BYTES) return t2_alloc_zero(bytes);
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (posix_memalign(&p, huge, bytes) != 0) die_out_of_memory(bytes);
    (void)madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE); /* a hint */
    memset(p, 0, bytes);
    return p;
}

void *t2_realloc(void *ptr, size_t bytes) {
    void *p = realloc(ptr, bytes ? bytes : 1);
    if (p == NULL) die_out_of_memory(bytes);
    return p;
}

char *t2_strndup(const char *s, size_t n) {
    char *p = t2_alloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *t2_strdup(const char *s) { return t2_strndup(s, strlen(s)); }

char *t2_strdup_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = t2_alloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return text;
}

void t2_free(void *ptr) { free(ptr); }
