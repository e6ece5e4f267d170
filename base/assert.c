/* Failed-assert reporting (see assert.h). */
#include "base/assert.h"

#include <stdio.h>
#include <stdlib.h>

static void (*abort_hook)(void) = NULL;

void t2_assert_set_abort_hook(void (*hook)(void)) { abort_hook = hook; }

_Noreturn void t2_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "t2: %s:%d: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    if (abort_hook != NULL) abort_hook();
    abort();
}
