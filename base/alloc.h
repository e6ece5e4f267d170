/* Checked allocation: every function here either returns usable memory or aborts with a
 * message naming the size (STYLE.md: out of memory aborts). Memory from any of them is freed
 * with t2_free. Allocations are 64-byte aligned so SIMD kernels and BLIS get aligned rows. */
#ifndef T2_BASE_ALLOC_H
#define T2_BASE_ALLOC_H

#include <stddef.h>

void *t2_alloc(size_t bytes);                  /* uninitialised */
void *t2_alloc_zero(size_t bytes);             /* zeroed */
void *t2_alloc_array(size_t count, size_t size); /* zeroed; aborts on count*size overflow */
/* Zeroed like t2_alloc_array, and from T2_ALLOC_HUGE_BYTES up 2 MiB-aligned with the kernel
 * asked for transparent huge pages (madvise MADV_HUGEPAGE; a hint, ignored where THP is
 * off): for large arrays streamed whole, such as weights, where 4 KiB pages cost a TLB
 * miss every page. Not for sparsely touched arrays (a touched byte backs 2 MiB). */
void *t2_alloc_array_huge(size_t count, size_t size);
enum { T2_ALLOC_HUGE_BYTES = 4 << 20 };
void *t2_realloc(void *ptr, size_t bytes);     /* like realloc; not aligned beyond malloc's */
char *t2_strdup(const char *s);
char *t2_strndup(const char *s, size_t n);
char *t2_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* formatted */
void t2_free(void *ptr);                       /* accepts NULL */

#endif
