/* Block-cyclic index helpers against ScaLAPACK's own TOOLS (numroc, indxg2p, indxl2g), and
 * the local fill/gather of a distributed matrix simulated for every process of a few grids
 * (no communication: t2_dist_matrix_set_global and _add_to_global are local). */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "check.h"
#include "linalg/block_cyclic.h"

static void check_indices(void) {
    int failures = 0;
    for (int n = 0; n <= 40 && failures < 5; n++)
        for (int nb = 1; nb <= 7; nb++)
            for (int nprocs = 1; nprocs <= 4; nprocs++)
                for (int isrc = 0; isrc < nprocs; isrc++)
                    for (int iproc = 0; iproc < nprocs; iproc++) {
                        int want = numroc_(&n, &nb, &iproc, &isrc, &nprocs);
                        int64_t got = t2_block_cyclic_count(n, nb, iproc, isrc, nprocs);
                        if (got != want && failures++ < 5)
                            CHECK(0, "count n %d nb %d proc %d/%d src %d: %lld, numroc %d", n,
                                  nb, iproc, nprocs, isrc, (long long)got, want);
                        for (int l = 0; l < want; l++) {
                            int l1 = l + 1;
                            int64_t g = t2_block_cyclic_global(l, nb, iproc, isrc, nprocs);
                            int g_want = indxl2g_(&l1, &nb, &iproc, &isrc, &nprocs) - 1;
                            int g1 = g_want + 1;
                            int owner = indxg2p_(&g1, &nb, &iproc, &isrc, &nprocs);
                            int ok = g == g_want &&
                                     t2_block_cyclic_owner(g, nb, isrc, nprocs) == owner &&
                                     owner == iproc &&
                                     (isrc != 0 || t2_block_cyclic_local(g, nb, nprocs) == l);
                            if (!ok && failures++ < 5)
                                CHECK(0, "local %d nb %d proc %d/%d src %d: global %lld, "
                                      "indxl2g %d, owner %d", l, nb, iproc, nprocs, isrc,
                                      (long long)g, g_want, owner);
                        }
                    }
}

/* Every process of an nprow x npcol grid takes its part of the matrix; the parts must add
 * up to the matrix exactly. */
static void check_fill(int64_t rows, int64_t cols, int64_t mb, int64_t nb, int nprow, int npcol) {
    double *full = t2_alloc((size_t)(rows * cols) * sizeof *full);
    double *sum = t2_alloc_zero((size_t)(rows * cols) * sizeof *sum);
    for (int64_t i = 0; i < rows * cols; i++) full[i] = (double)(i + 1);
    for (int pr = 0; pr < nprow; pr++)
        for (int pc = 0; pc < npcol; pc++) {
            t2_process_grid g = {0, nprow, npcol, pr, pc};
            t2_dist_matrix a;
            t2_dist_matrix_init(&a, &g, T2_PRECISION_DOUBLE, rows, cols, mb, nb);
            t2_dist_matrix_set_global(&a, 0, 0, rows, cols, full, rows);
            t2_dist_matrix_add_to_global(&a, sum, rows);
            t2_dist_matrix_free(&a);
        }
    char what[96];
    snprintf(what, sizeof what, "gather %lldx%lld blocks %lldx%lld grid %dx%d", (long long)rows,
             (long long)cols, (long long)mb, (long long)nb, nprow, npcol);
    t2_check_close_double(what, sum, full, rows * cols, 0.0, 0.0);
    t2_free(full);
    t2_free(sum);
}

/* set_global of a sub-block touches only that block. */
static void check_sub_block(void) {
    int64_t rows = 11, cols = 9;
    double *block = t2_alloc(4 * 5 * sizeof *block), *sum = t2_alloc_zero(99 * sizeof *sum);
    for (int k = 0; k < 20; k++) block[k] = k + 1;
    for (int pr = 0; pr < 2; pr++)
        for (int pc = 0; pc < 2; pc++) {
            t2_process_grid g = {0, 2, 2, pr, pc};
            t2_dist_matrix a;
            t2_dist_matrix_init(&a, &g, T2_PRECISION_DOUBLE, rows, cols, 3, 2);
            t2_dist_matrix_set_global(&a, 5, 3, 4, 5, block, 4);
            t2_dist_matrix_add_to_global(&a, sum, rows);
            t2_dist_matrix_free(&a);
        }
    double want[99] = {0};
    for (int j = 0; j < 5; j++)
        for (int i = 0; i < 4; i++) want[(5 + i) + (3 + j) * rows] = block[i + 4 * j];
    t2_check_close_double("sub-block 4x5 at (5, 3)", sum, want, rows * cols, 0.0, 0.0);
    t2_free(block);
    t2_free(sum);
}

int main(void) {
    check_indices();
    check_fill(13, 17, 4, 3, 2, 3);
    check_fill(8, 8, 4, 4, 2, 2);
    check_fill(3, 2, 4, 4, 2, 2); /* smaller than the grid: some processes hold nothing */
    check_fill(1, 1, 1, 1, 3, 1);
    check_sub_block();
    return t2_check_exit_code();
}
