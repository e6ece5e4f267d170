/* base/alloc.h's huge-page arrays: below T2_ALLOC_HUGE_BYTES an ordinary zeroed array; from
 * it up zeroed, 2 MiB-aligned, writable to its last byte; zero-count and large arrays both
 * free with t2_free. Whether the kernel grants huge pages is its choice (THP may be off),
 * so it is not checked. */
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"

static void check_array(size_t count, size_t size) {
    unsigned char *p = t2_alloc_array_huge(count, size);
    size_t bytes = count * size;
    CHECK(p != NULL, "%zu bytes: NULL", bytes);
    CHECK((uintptr_t)p % 64 == 0, "%zu bytes: not 64-byte aligned", bytes);
    if (bytes >= T2_ALLOC_HUGE_BYTES)
        CHECK((uintptr_t)p % ((size_t)2 << 20) == 0, "%zu bytes: not 2 MiB-aligned", bytes);
    size_t nonzero = 0;
    for (size_t i = 0; i < bytes; i++) nonzero += p[i] != 0;
    CHECK(nonzero == 0, "%zu bytes: %zu bytes not zeroed", bytes, nonzero);
    if (bytes > 0) {
        memset(p, 0xAB, bytes);
        CHECK(p[bytes - 1] == 0xAB, "%zu bytes: the last byte is not writable", bytes);
    }
    t2_free(p);
}

int main(void) {
    check_array(0, 4);
    check_array(3, 4);
    check_array(T2_ALLOC_HUGE_BYTES / 4 - 1, 4);
    check_array(T2_ALLOC_HUGE_BYTES / 4, 4);
    check_array(3 * ((size_t)1 << 20) + 5, 4); /* not a multiple of 2 MiB */
    return t2_check_exit_code();
}
