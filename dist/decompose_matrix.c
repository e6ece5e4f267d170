/* One matrix of `t2 decompose` (see decompose_matrix.h).
 *
 * Orientation. W is out x in, row-major on disk; ScaLAPACK is column-major. The group
 * decomposes the tall one of the two column-major views of the same bytes: A = W^T
 * (in x out) when in >= out, else A = W (out x in). With A = U_A diag(s) VT_A:
 *   A = W^T: the store's U (out x r, row-major) is VT_A in column-major order, and its
 *            V (in x r, row-major) is U_A in row-major order;
 *   A = W:   the store's U is U_A in row-major order, its V is VT_A in column-major order.
 * Writing a distributed factor in one of those orders first redistributes it (p?gemr2d)
 * onto a strip layout in which each rank holds one contiguous range of the file, which it
 * then converts to float and pwrites. Reading goes the other way: each rank reads, run by
 * run, only the elements of W its blocks of A hold. */
#include "dist/decompose_matrix.h"

#include <limits.h>
#include <string.h>

#include "base/alloc.h"
#include "base/progress.h"

int t2_decompose_agree(MPI_Comm comm, int local_status, t2_error *err) {
    int rank = 0, first = INT_MAX;
    MPI_Comm_rank(comm, &rank);
    int mine = local_status != 0 ? rank : INT_MAX;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == INT_MAX) return 0;
    MPI_Bcast(err->msg, T2_ERROR_MAX, MPI_CHAR, first, comm);
    return -1;
}

/* n floats from src into dst of precision p (dst may be the float buffer itself). */
static void widen(t2_precision p, void *dst, const float *src, int64_t n) {
    if (p == T2_PRECISION_FLOAT) {
        if (dst != src) memcpy(dst, src, (size_t)n * sizeof *src);
        return;
    }
    double *d = dst;
    for (int64_t i = 0; i < n; i++) d[i] = src[i];
}

/* n values of precision p into floats. */
static void narrow(t2_precision p, float *dst, const void *src, int64_t n) {
    if (p == T2_PRECISION_FLOAT) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
        return;
    }
    const double *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = (float)s[i];
}

static int put(const t2_decompose_work *work, int64_t offset, const void *values,
               t2_precision p, int64_t n, float *scratch, t2_error *err) {
    narrow(p, scratch, values, n);
    return t2_decomposition_writer_put(work->writer, offset, scratch, n, err);
}

int t2_decompose_matrix_local(const t2_decompose_work *work, int target,
                              t2_decompose_outcome *out, t2_error *err) {
    double start = t2_time_now();
    const t2_target *t = &work->targets->items[target];
    const t2_decomposition_slot *slot = &work->layout->slots[target];
    t2_precision p = work->opts->precision;
    int64_t rows = t->rows, cols = t->cols, r = slot->rank;
    size_t elem = t2_precision_size(p);
    int64_t biggest = rows * cols > (rows + cols) * r ? rows * cols : (rows + cols) * r;
    float *scratch = t2_alloc((size_t)biggest * sizeof *scratch);
    void *w = t2_alloc((size_t)(rows * cols) * elem), *w0 = NULL;
    void *u = t2_alloc((size_t)(rows * r) * elem), *v = t2_alloc((size_t)(cols * r) * elem);
    void *s = t2_alloc((size_t)r * elem);
    int status = t2_safetensors_read_f32(t->tensor, 0, rows * cols, scratch, err);
    if (status == 0) {
        widen(p, w, scratch, rows * cols);
        if (work->opts->verify) {
            w0 = t2_alloc((size_t)(rows * cols) * elem);
            memcpy(w0, w, (size_t)(rows * cols) * elem);
        }
        status = t2_svd_lapack(p, u, s, v, w, rows, cols, err);
    }
    if (status == 0 && w0 != NULL) t2_svd_check_local(&out->check, p, w0, u, s, v, rows, cols);
    if (status == 0) status = put(work, slot->u_offset, u, p, rows * r, scratch, err);
    if (status == 0) status = put(work, slot->s_offset, s, p, r, scratch, err);
    if (status == 0) status = put(work, slot->v_offset, v, p, cols * r, scratch, err);
    if (status != 0) t2_error_prefix(err, t->name);
    t2_free(w0);
    t2_free(w);
    t2_free(u);
    t2_free(v);
    t2_free(s);
    t2_free(scratch);
    out->seconds = t2_time_now() - start;
    return status;
}

/* Fills this rank's blocks of A from tensor t (W, out x in): A = W^T when transposed. */
static int read_blocks(t2_dist_matrix *a, const t2_target *t, int transposed, t2_error *err) {
    const t2_process_grid *g = &a->grid;
    size_t elem = t2_precision_size(a->precision);
    int64_t run_max = a->mb > a->nb ? a->mb : a->nb;
    float *run = t2_alloc((size_t)run_max * sizeof *run);
    int status = 0;
    if (transposed) {
        /* Column j of A is row j of W; a run of mb local rows is contiguous in both. */
        for (int64_t jl = 0; jl < a->local_cols && status == 0; jl++) {
            int64_t j = t2_block_cyclic_global(jl, a->nb, g->mycol, 0, g->npcol);
            for (int64_t il = 0; il < a->local_rows && status == 0; il += a->mb) {
                int64_t i = t2_block_cyclic_global(il, a->mb, g->myrow, 0, g->nprow);
                int64_t n = a->local_rows - il < a->mb ? a->local_rows - il : a->mb;
                status = t2_safetensors_read_f32(t->tensor, j * t->cols + i, n, run, err);
                if (status == 0)
                    widen(a->precision, (char *)a->data + (il + jl * a->lld) * (int64_t)elem,
                          run, n);
            }
        }
    } else {
        /* Row i of A is row i of W; a run of nb local columns is contiguous in W only. */
        for (int64_t il = 0; il < a->local_rows && status == 0; il++) {
            int64_t i = t2_block_cyclic_global(il, a->mb, g->myrow, 0, g->nprow);
            for (int64_t jl = 0; jl < a->local_cols && status == 0; jl += a->nb) {
                int64_t j = t2_block_cyclic_global(jl, a->nb, g->mycol, 0, g->npcol);
                int64_t n = a->local_cols - jl < a->nb ? a->local_cols - jl : a->nb;
                status = t2_safetensors_read_f32(t->tensor, i * t->cols + j, n, run, err);
                for (int64_t k = 0; k < n && status == 0; k++) {
                    int64_t at = il + (jl + k) * a->lld;
                    if (a->precision == T2_PRECISION_DOUBLE) ((double *)a->data)[at] = run[k];
                    else ((float *)a->data)[at] = run[k];
                }
            }
        }
    }
    t2_free(run);
    return status;
}

/* Writes the distributed x (R x C) to the store at byte offset `offset`, its elements in
 * row-major (row_major) or column-major order. */
static int write_factor(const t2_decompose_work *work, const t2_blacs_grid *bg,
                        const t2_dist_matrix *x, int row_major, int64_t offset, t2_error *err) {
    int64_t rows = x->rows, cols = x->cols, p = bg->size;
    t2_dist_matrix strip;
    if (row_major)
        t2_dist_matrix_init(&strip, &bg->row_strip, x->precision, rows, cols,
                            (rows + p - 1) / p, cols > 0 ? cols : 1);
    else
        t2_dist_matrix_init(&strip, &bg->col_strip, x->precision, rows, cols,
                            rows > 0 ? rows : 1, (cols + p - 1) / p);
    t2_dist_matrix_copy(&strip, x, bg->grid.context);
    int64_t n = strip.local_rows * strip.local_cols, first;
    float *buf = t2_alloc((size_t)(n > 0 ? n : 1) * sizeof *buf);
    if (row_major) {
        /* Local rows [first, first + local_rows) of all columns, column-major locally. */
        first = (int64_t)strip.grid.myrow * strip.mb * cols;
        for (int64_t jl = 0; jl < strip.local_cols; jl++)
            for (int64_t il = 0; il < strip.local_rows; il++) {
                int64_t at = il + jl * strip.lld;
                buf[il * cols + jl] = strip.precision == T2_PRECISION_DOUBLE
                                          ? (float)((const double *)strip.data)[at]
                                          : ((const float *)strip.data)[at];
            }
    } else {
        first = (int64_t)strip.grid.mycol * strip.nb * rows;
        narrow(strip.precision, buf, strip.data, n);
    }
    int status = n > 0 ? t2_decomposition_writer_put(work->writer, offset + 4 * first, buf, n, err)
                       : 0;
    t2_free(buf);
    t2_dist_matrix_free(&strip);
    return status;
}

int t2_decompose_matrix_group(const t2_decompose_work *work, int target, MPI_Comm comm,
                              const t2_blacs_grid *bg, t2_decompose_outcome *out, t2_error *err) {
    double start = t2_time_now();
    const t2_target *t = &work->targets->items[target];
    const t2_decomposition_slot *slot = &work->layout->slots[target];
    t2_precision p = work->opts->precision;
    int64_t nb = work->opts->block_size, r = slot->rank;
    int transposed = t->cols >= t->rows; /* A = W^T keeps A tall */
    int64_t m = transposed ? t->cols : t->rows, n = transposed ? t->rows : t->cols;
    t2_dist_matrix a, a0, u, vt;
    t2_dist_matrix_init(&a, &bg->grid, p, m, n, nb, nb);
    t2_dist_matrix_init(&u, &bg->grid, p, m, r, nb, nb);
    t2_dist_matrix_init(&vt, &bg->grid, p, r, n, nb, nb);
    memset(&a0, 0, sizeof a0);
    void *s = t2_alloc_zero((size_t)r * t2_precision_size(p));
    int status = t2_decompose_agree(comm, read_blocks(&a, t, transposed, err), err);
    if (status == 0 && work->opts->verify) {
        t2_dist_matrix_init(&a0, &bg->grid, p, m, n, nb, nb);
        memcpy(a0.data, a.data, (size_t)(a.lld * a.local_cols) * t2_precision_size(p));
    }
    if (status == 0) status = t2_svd_distributed(work->opts->method, &a, s, &u, &vt, err);
    if (status == 0 && work->opts->verify) t2_svd_check_distributed(&out->check, &a0, &u, s, &vt);
    if (status == 0) {
        int local =
            write_factor(work, bg, &u, 1, transposed ? slot->v_offset : slot->u_offset, err);
        if (local == 0)
            local =
                write_factor(work, bg, &vt, 0, transposed ? slot->u_offset : slot->v_offset, err);
        int rank = 0;
        MPI_Comm_rank(comm, &rank);
        if (local == 0 && rank == 0) {
            float *sf = t2_alloc((size_t)r * sizeof *sf);
            local = put(work, slot->s_offset, s, p, r, sf, err);
            t2_free(sf);
        }
        status = t2_decompose_agree(comm, local, err);
    }
    if (status != 0) t2_error_prefix(err, t->name);
    t2_free(s);
    t2_dist_matrix_free(&a);
    t2_dist_matrix_free(&a0);
    t2_dist_matrix_free(&u);
    t2_dist_matrix_free(&vt);
    out->seconds = t2_time_now() - start;
    return status;
}
