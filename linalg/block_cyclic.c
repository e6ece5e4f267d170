/* Block-cyclic index helpers and the distributed matrix (see block_cyclic.h).
 * The index formulas are ScaLAPACK's TOOLS (numroc.f, indxg2p.f, indxg2l.f, indxl2g.f)
 * rewritten 0-based in 64 bits; tests/test_svd_block_cyclic.c checks them against the
 * library's own. */
#include "linalg/block_cyclic.h"

#include <limits.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

size_t t2_precision_size(t2_precision p) { return p == T2_PRECISION_DOUBLE ? 8 : 4; }

const char *t2_precision_name(t2_precision p) {
    return p == T2_PRECISION_DOUBLE ? "double" : "float";
}

int64_t t2_block_cyclic_count(int64_t n, int64_t nb, int iproc, int isrc, int nprocs) {
    T2_ASSERT(n >= 0 && nb > 0 && nprocs > 0);
    int dist = (nprocs + iproc - isrc) % nprocs; /* distance from the source process */
    int64_t blocks = n / nb;                     /* whole blocks */
    int64_t count = (blocks / nprocs) * nb;
    int64_t extra = blocks % nprocs;
    if (dist < extra) count += nb;
    else if (dist == extra) count += n % nb;
    return count;
}

int t2_block_cyclic_owner(int64_t g, int64_t nb, int isrc, int nprocs) {
    T2_ASSERT(g >= 0 && nb > 0 && nprocs > 0);
    return (int)((isrc + g / nb) % nprocs);
}

int64_t t2_block_cyclic_local(int64_t g, int64_t nb, int nprocs) {
    T2_ASSERT(g >= 0 && nb > 0 && nprocs > 0);
    return (g / (nb * nprocs)) * nb + g % nb;
}

int64_t t2_block_cyclic_global(int64_t l, int64_t nb, int iproc, int isrc, int nprocs) {
    T2_ASSERT(l >= 0 && nb > 0 && nprocs > 0);
    int dist = (nprocs + iproc - isrc) % nprocs;
    return (l / nb) * nb * nprocs + (int64_t)dist * nb + l % nb;
}

void t2_process_grid_query(t2_process_grid *g, int context) {
    g->context = context;
    g->nprow = g->npcol = 0;
    g->myrow = g->mycol = -1;
    if (context >= 0) Cblacs_gridinfo(context, &g->nprow, &g->npcol, &g->myrow, &g->mycol);
    if (g->myrow < 0 || g->mycol < 0) g->myrow = g->mycol = -1;
}

int t2_process_grid_member(const t2_process_grid *g) { return g->myrow >= 0 && g->mycol >= 0; }

static int to_int(int64_t v) {
    T2_ASSERT(v >= 0 && v <= INT_MAX);
    return (int)v;
}

void t2_dist_matrix_init(t2_dist_matrix *a, const t2_process_grid *grid, t2_precision precision,
                         int64_t rows, int64_t cols, int64_t mb, int64_t nb) {
    memset(a, 0, sizeof *a);
    T2_ASSERT(rows >= 0 && cols >= 0 && mb > 0 && nb > 0);
    a->grid = *grid;
    a->precision = precision;
    a->rows = rows;
    a->cols = cols;
    a->mb = mb;
    a->nb = nb;
    int member = t2_process_grid_member(grid);
    if (member) {
        a->local_rows = t2_block_cyclic_count(rows, mb, grid->myrow, 0, grid->nprow);
        a->local_cols = t2_block_cyclic_count(cols, nb, grid->mycol, 0, grid->npcol);
    }
    a->lld = a->local_rows > 1 ? a->local_rows : 1;
    int64_t elements = a->lld * a->local_cols;
    T2_ASSERT(a->local_cols == 0 || elements / a->local_cols == a->lld);
    a->data = t2_alloc_zero((size_t)(elements > 0 ? elements : 1) * t2_precision_size(precision));
    int desc[T2_DESC_LEN] = {1, member ? grid->context : -1, to_int(rows), to_int(cols),
                             to_int(mb), to_int(nb), 0, 0, to_int(a->lld)};
    memcpy(a->desc, desc, sizeof desc);
}

void t2_dist_matrix_free(t2_dist_matrix *a) {
    t2_free(a->data);
    memset(a, 0, sizeof *a);
}

void t2_dist_matrix_set_global(t2_dist_matrix *a, int64_t i0, int64_t j0, int64_t m, int64_t n,
                               const void *g, int64_t ldg) {
    T2_ASSERT(i0 >= 0 && j0 >= 0 && i0 + m <= a->rows && j0 + n <= a->cols && ldg >= m);
    const t2_process_grid *grid = &a->grid;
    if (!t2_process_grid_member(grid)) return;
    size_t elem = t2_precision_size(a->precision);
    for (int64_t jl = 0; jl < a->local_cols; jl++) {
        int64_t j = t2_block_cyclic_global(jl, a->nb, grid->mycol, 0, grid->npcol);
        if (j < j0 || j >= j0 + n) continue;
        /* Local rows come in runs of mb consecutive global rows. */
        for (int64_t il = 0; il < a->local_rows; il += a->mb) {
            int64_t i = t2_block_cyclic_global(il, a->mb, grid->myrow, 0, grid->nprow);
            int64_t run = a->local_rows - il < a->mb ? a->local_rows - il : a->mb;
            int64_t first = i < i0 ? i0 : i, last = i + run < i0 + m ? i + run : i0 + m;
            if (first >= last) continue;
            const char *src = (const char *)g + ((first - i0) + (j - j0) * ldg) * (int64_t)elem;
            char *dst = (char *)a->data + (il + (first - i) + jl * a->lld) * (int64_t)elem;
            memcpy(dst, src, (size_t)(last - first) * elem);
        }
    }
}

void t2_dist_matrix_add_to_global(const t2_dist_matrix *a, void *g, int64_t ldg) {
    T2_ASSERT(ldg >= a->rows);
    const t2_process_grid *grid = &a->grid;
    if (!t2_process_grid_member(grid)) return;
    for (int64_t jl = 0; jl < a->local_cols; jl++) {
        int64_t j = t2_block_cyclic_global(jl, a->nb, grid->mycol, 0, grid->npcol);
        for (int64_t il = 0; il < a->local_rows; il++) {
            int64_t i = t2_block_cyclic_global(il, a->mb, grid->myrow, 0, grid->nprow);
            if (a->precision == T2_PRECISION_DOUBLE)
                ((double *)g)[i + j * ldg] += ((const double *)a->data)[il + jl * a->lld];
            else
                ((float *)g)[i + j * ldg] += ((const float *)a->data)[il + jl * a->lld];
        }
    }
}

void t2_dist_matrix_copy(t2_dist_matrix *dst, const t2_dist_matrix *src, int context) {
    T2_ASSERT(dst->rows == src->rows && dst->cols == src->cols);
    T2_ASSERT(dst->precision == src->precision);
    int m = to_int(src->rows), n = to_int(src->cols), one = 1;
    if (m == 0 || n == 0) return;
    if (src->precision == T2_PRECISION_DOUBLE)
        pdgemr2d_(&m, &n, src->data, &one, &one, src->desc, dst->data, &one, &one, dst->desc,
                  &context);
    else
        psgemr2d_(&m, &n, src->data, &one, &one, src->desc, dst->data, &one, &one, dst->desc,
                  &context);
}
