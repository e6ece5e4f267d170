/* SVF (Singular Value Fine-tuning, DESIGN.md "The method, precisely"): compose W' from a
 * target's factors and mask, accumulate h from a layer's (X, Δ), chain h to ∂L/∂params.
 * Does not: read the factors (adapter.c) or parse options.
 *
 * For one target W = U diag(s) Vᵀ = Σ_i s_i u_i v_iᵀ (rows x cols, r = min(rows, cols)),
 * parameters p (r values):
 *   m_i = max_mult σ(p_i) (sigmoid) or m_i = p_i (linear);
 *   c   = Σ s / D with D = Σ_k s_k m_k when renormalize (and D != 0), else c = 1;
 *   e_i = c s_i m_i (the effective singular values),  W' = Σ_i e_i u_i v_iᵀ = (U diag(e)) Vᵀ.
 * A layer computes Y = X W'ᵀ for the rows of X, so with Δ = ∂L/∂Y,
 *   ∂L/∂W' = Δᵀ X = Σ_t δ_t x_tᵀ,
 *   h_i := ∂L/∂e_i = u_iᵀ (Δᵀ X) v_i = Σ_t (δ_t · u_i)(x_t · v_i) = Σ_t (Δ U)_{t,i} (X V)_{t,i}:
 * two GEMMs (Δ U and X V, rows x r) and a row sum of their elementwise product; linear in
 * the (X, Δ) pairs, so it is summed over layers' calls, row blocks, chunks and ranks.
 * The chain from h to p (e_i depends on m_j through m_i and c):
 *   ∂c/∂m_j   = -Σs s_j / D² = -c s_j / D          (renormalize; 0 otherwise)
 *   ∂L/∂m_j   = Σ_i h_i ∂e_i/∂m_j = c s_j h_j - (c s_j / D) Σ_i s_i m_i h_i
 *   ∂m_j/∂p_j = max_mult σ(p_j) (1 - σ(p_j)) (sigmoid), 1 (linear).
 * D = 0 (a zero matrix, or a linear mask orthogonal to s) takes c = 1 with no derivative:
 * W' is then U diag(s m) Vᵀ. The scalar chain runs in double (r values per target). */
#include <math.h>

#include "base/assert.h"
#include "linalg/gemm.h"
#include "model/adapter_impl.h"

/* m_j for parameter p. */
static double mask(const t2_adapter_options *o, float p) {
    if (o->parametrization == T2_SVF_LINEAR) return p;
    return (double)o->max_mult / (1.0 + exp(-(double)p));
}

/* ∂m_j/∂p_j. */
static double mask_slope(const t2_adapter_options *o, float p) {
    if (o->parametrization == T2_SVF_LINEAR) return 1.0;
    double sigma = 1.0 / (1.0 + exp(-(double)p));
    return (double)o->max_mult * sigma * (1.0 - sigma);
}

/* c, and D = Σ s m in *d: c = 1 without renormalize or when D = 0. */
static double renorm_factor(const t2_adapter_options *o, const t2_adapter_target *t,
                            const float *p, double *d) {
    double sum_s = 0.0, sum_sm = 0.0;
    for (int64_t i = 0; i < t->rank; i++) {
        sum_s += t->s[i];
        sum_sm += t->s[i] * mask(o, p[i]);
    }
    *d = sum_sm;
    return o->renormalize && sum_sm != 0.0 ? sum_s / sum_sm : 1.0;
}

void t2_adapter_svf_diagonal(const t2_adapter *a, int target, const float *params, float *e) {
    T2_ASSERT(a->options.method == T2_ADAPTER_SVF && target >= 0 && target < a->n);
    const t2_adapter_target *t = &a->targets[target];
    const float *p = params + t->offset;
    double d;
    double c = renorm_factor(&a->options, t, p, &d);
    for (int64_t i = 0; i < t->rank; i++) e[i] = (float)(c * t->s[i] * mask(&a->options, p[i]));
}

/* w (rows x cols) = (U diag(e)) Vᵀ, a block of T2_ADAPTER_BLOCK rows of U at a time:
 * panel_a (n x r) = U[block] diag(e), then one GEMM into those rows of w. Overwrites w.
 * Threads: BLIS's. */
void t2_adapter_svf_compose(const t2_adapter *a, const t2_adapter_target *t, const float *p,
                            float *w) {
    t2_adapter_work *work = a->work;
    int64_t r = t->rank, cols = t->cols;
    double d;
    double c = renorm_factor(&a->options, t, p, &d);
    double *e = work->sums;
    for (int64_t i = 0; i < r; i++) e[i] = c * t->s[i] * mask(&a->options, p[i]);
    for (int64_t r0 = 0; r0 < t->rows; r0 += T2_ADAPTER_BLOCK) {
        int64_t n = t->rows - r0 < T2_ADAPTER_BLOCK ? t->rows - r0 : T2_ADAPTER_BLOCK;
        for (int64_t row = 0; row < n; row++) {
            const float *u_row = t->u + (r0 + row) * r;
            float *scaled = work->panel_a + row * r;
            for (int64_t i = 0; i < r; i++) scaled[i] = (float)(u_row[i] * e[i]);
        }
        t2_gemm(w + r0 * cols, cols, work->panel_a, r, 0, t->v, r, 1, n, cols, r, 1.0f, 0.0f);
    }
}

/* h (r) += rowsum((Δ U) ⊙ (X V)) over the rows of x (rows x cols, ld cols) and delta
 * (rows x t->rows, ld t->rows), a block of rows at a time: panel_a = Δ U, panel_b = X V
 * (n x r each), the products summed per column in double (work->sums) and added to h once.
 * Threads: BLIS's; the scratch makes it single-caller. */
void t2_adapter_svf_accumulate(const t2_adapter *a, const t2_adapter_target *t, const float *x,
                               const float *delta, int64_t rows, float *h) {
    t2_adapter_work *work = a->work;
    int64_t r = t->rank, out = t->rows, cols = t->cols;
    double *sums = work->sums;
    for (int64_t i = 0; i < r; i++) sums[i] = 0.0;
    for (int64_t r0 = 0; r0 < rows; r0 += T2_ADAPTER_BLOCK) {
        int64_t n = rows - r0 < T2_ADAPTER_BLOCK ? rows - r0 : T2_ADAPTER_BLOCK;
        t2_gemm(work->panel_a, r, delta + r0 * out, out, 0, t->u, r, 0, n, r, out, 1.0f, 0.0f);
        t2_gemm(work->panel_b, r, x + r0 * cols, cols, 0, t->v, r, 0, n, r, cols, 1.0f, 0.0f);
        for (int64_t row = 0; row < n; row++) {
            const float *du = work->panel_a + row * r, *xv = work->panel_b + row * r;
            for (int64_t i = 0; i < r; i++) sums[i] += (double)du[i] * xv[i];
        }
    }
    for (int64_t i = 0; i < r; i++) h[i] += (float)sums[i];
}

/* grad (r, overwritten) = ∂L/∂p from h = ∂L/∂e (see the top of the file). */
void t2_adapter_svf_gradient(const t2_adapter *a, const t2_adapter_target *t, const float *p,
                             const float *h, float *grad) {
    const t2_adapter_options *o = &a->options;
    double d;
    double c = renorm_factor(o, t, p, &d);
    double smh = 0.0; /* Σ_i s_i m_i h_i */
    for (int64_t i = 0; i < t->rank; i++) smh += t->s[i] * mask(o, p[i]) * h[i];
    double through_c = o->renormalize && d != 0.0 ? smh / d : 0.0;
    for (int64_t j = 0; j < t->rank; j++) {
        double dm = c * t->s[j] * (h[j] - through_c);
        grad[j] = (float)(dm * mask_slope(o, p[j]));
    }
}

void t2_adapter_svf_masks(const t2_adapter *a, const t2_adapter_target *t, const float *p,
                          float *m) {
    for (int64_t i = 0; i < t->rank; i++) m[i] = (float)mask(&a->options, p[i]);
}
