/* T2_ASSERT: broken preconditions (programming errors, not bad input). Reports file:line and
 * the failed expression, then calls the abort hook: plain abort() by default, MPI_Abort once
 * dist/ has installed its hook, so no rank hangs waiting for a dead peer.
 * A macro because it must capture __FILE__/__LINE__ and the expression's text; it behaves as
 * one statement. Asserts stay on in every build. */
#ifndef T2_BASE_ASSERT_H
#define T2_BASE_ASSERT_H

#define T2_ASSERT(cond)                                                        \
    do {                                                                       \
        if (!(cond)) t2_assert_fail(__FILE__, __LINE__, #cond);                \
    } while (0)

_Noreturn void t2_assert_fail(const char *file, int line, const char *expr);

/* Installs the function that ends the process after a failed assert (NULL restores abort);
 * should it return, abort() follows. */
void t2_assert_set_abort_hook(void (*hook)(void));

#endif
