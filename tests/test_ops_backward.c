/* The kernels of linalg/ops_backward.h: each backward against a central finite difference
 * of a double-precision forward written here (plain loops, libm), each fast kernel against
 * its plain-loop `_ref` twin, and the attention forward's output and log-sum-exp against
 * double sums. Shapes are small but cross the kernels' internal boundaries (16-float lanes,
 * 64-row attention blocks, 256-value exp chunks). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "linalg/ops.h"
#include "linalg/ops_backward.h"

static void fill_normal(float *x, int64_t n, t2_rng *rng, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * t2_rng_normal(rng);
}

static double *to_double(const float *x, int64_t n) {
    double *out = t2_alloc_array((size_t)n, sizeof(double));
    for (int64_t i = 0; i < n; i++) out[i] = x[i];
    return out;
}

/* A scalar loss of double inputs held in ctx. */
typedef double (*loss_fn)(void *ctx);

/* Compares grad (float, from a backward) with the central difference of loss in each of the
 * n entries param[i * stride] (a double input the loss reads): passes when every entry is
 * within 1e-3 relative, with an absolute floor of 1e-4 times the largest difference. */
static void check_fd(const char *what, loss_fn loss, void *ctx, double *param, int64_t n,
                     int64_t stride, const float *grad) {
    double *got = t2_alloc_array((size_t)n, sizeof(double));
    double *want = t2_alloc_array((size_t)n, sizeof(double));
    double largest = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double keep = param[i * stride], h = 1e-5 * (fabs(keep) > 1.0 ? fabs(keep) : 1.0);
        param[i * stride] = keep + h;
        double up = loss(ctx);
        param[i * stride] = keep - h;
        double down = loss(ctx);
        param[i * stride] = keep;
        want[i] = (up - down) / (2.0 * h);
        got[i] = grad[i * stride];
        largest = fabs(want[i]) > largest ? fabs(want[i]) : largest;
    }
    t2_check_close_double(what, got, want, n, 1e-4 * largest, 1e-3);
    t2_free(want);
    t2_free(got);
}

/* ---- RMSNorm ---- */

typedef struct rmsnorm_case {
    int64_t rows, dim;
    double eps, *x, *w, *dy; /* L = sum dy . rmsnorm(x; w) */
} rmsnorm_case;

static double rmsnorm_loss(void *ctx) {
    rmsnorm_case *c = ctx;
    double loss = 0.0;
    for (int64_t t = 0; t < c->rows; t++) {
        const double *x = c->x + t * c->dim;
        double ss = 0.0;
        for (int64_t i = 0; i < c->dim; i++) ss += x[i] * x[i];
        double r = 1.0 / sqrt(ss / (double)c->dim + c->eps);
        for (int64_t i = 0; i < c->dim; i++) loss += c->dy[t * c->dim + i] * x[i] * r * c->w[i];
    }
    return loss;
}

static void test_rmsnorm(t2_rng *rng) {
    enum { ROWS = 3, DIM = 37 };
    float x[ROWS * DIM], w[DIM], dy[ROWS * DIM], base[ROWS * DIM], dx[ROWS * DIM],
        dx_ref[ROWS * DIM], dw[DIM], dw_ref[DIM];
    fill_normal(x, ROWS * DIM, rng, 2.0f);
    fill_normal(w, DIM, rng, 1.0f);
    fill_normal(dy, ROWS * DIM, rng, 1.0f);
    fill_normal(base, ROWS * DIM, rng, 1.0f);
    fill_normal(dw, DIM, rng, 1.0f);
    memcpy(dw_ref, dw, sizeof dw);
    memcpy(dx, base, sizeof dx);
    memcpy(dx_ref, base, sizeof dx);
    float eps = 1e-5f;
    t2_rmsnorm_backward(dx, dw, dy, x, w, ROWS, DIM, eps);
    t2_rmsnorm_backward_ref(dx_ref, dw_ref, dy, x, w, ROWS, DIM, eps);
    t2_check_close("rmsnorm backward dx: fast vs ref", dx, dx_ref, ROWS * DIM, 1e-5, 1e-5);
    t2_check_close("rmsnorm backward dweight: fast vs ref", dw, dw_ref, DIM, 1e-5, 1e-5);
    /* the backward adds: remove what was there before, for the finite differences */
    for (int64_t i = 0; i < ROWS * DIM; i++) dx[i] -= base[i];
    float dw_only[DIM];
    memset(dw_only, 0, sizeof dw_only);
    float dx_unused[ROWS * DIM];
    memset(dx_unused, 0, sizeof dx_unused);
    t2_rmsnorm_backward(dx_unused, dw_only, dy, x, w, ROWS, DIM, eps);
    rmsnorm_case c = {ROWS, DIM, eps, to_double(x, ROWS * DIM), to_double(w, DIM),
                      to_double(dy, ROWS * DIM)};
    check_fd("rmsnorm dx vs finite differences", rmsnorm_loss, &c, c.x, ROWS * DIM, 1, dx);
    check_fd("rmsnorm dweight vs finite differences", rmsnorm_loss, &c, c.w, DIM, 1, dw_only);
    float no_dw[ROWS * DIM];
    memset(no_dw, 0, sizeof no_dw);
    t2_rmsnorm_backward(no_dw, NULL, dy, x, w, ROWS, DIM, eps);
    t2_check_close("rmsnorm backward without dweight", no_dw, dx_unused, ROWS * DIM, 0.0, 0.0);
    t2_free(c.x);
    t2_free(c.w);
    t2_free(c.dy);
}

/* ---- SwiGLU ---- */

typedef struct swiglu_case {
    int64_t rows, dim;
    double *gu, *dh; /* L = sum dh . silu(g) u */
} swiglu_case;

static double swiglu_loss(void *ctx) {
    swiglu_case *c = ctx;
    double loss = 0.0;
    for (int64_t t = 0; t < c->rows; t++) {
        for (int64_t i = 0; i < c->dim; i++) {
            double g = c->gu[t * 2 * c->dim + i], u = c->gu[t * 2 * c->dim + c->dim + i];
            loss += c->dh[t * c->dim + i] * g / (1.0 + exp(-g)) * u;
        }
    }
    return loss;
}

static void test_swiglu(t2_rng *rng) {
    enum { ROWS = 3, DIM = 37 };
    float gu[ROWS * 2 * DIM], dh[ROWS * DIM], dgu[ROWS * 2 * DIM], dgu_ref[ROWS * 2 * DIM];
    float h[ROWS * DIM], h_ref[ROWS * DIM], h_fwd[ROWS * DIM];
    fill_normal(gu, ROWS * 2 * DIM, rng, 3.0f);
    gu[0] = 95.0f; /* past exp's clamp on both sides */
    gu[1] = -95.0f;
    fill_normal(dh, ROWS * DIM, rng, 1.0f);
    t2_swiglu_backward(dgu, h, dh, gu, ROWS, DIM);
    t2_swiglu_backward_ref(dgu_ref, h_ref, dh, gu, ROWS, DIM);
    t2_check_close("swiglu backward: fast vs ref", dgu, dgu_ref, ROWS * 2 * DIM, 1e-6, 1e-5);
    t2_check_close("swiglu backward's h: fast vs ref", h, h_ref, ROWS * DIM, 1e-6, 1e-5);
    t2_swiglu_forward(h_fwd, DIM, gu, 2 * DIM, gu + DIM, 2 * DIM, ROWS, DIM);
    t2_check_close("swiglu backward's h vs the forward", h, h_fwd, ROWS * DIM, 1e-6, 1e-6);
    swiglu_case c = {ROWS, DIM, to_double(gu, ROWS * 2 * DIM), to_double(dh, ROWS * DIM)};
    check_fd("swiglu dgate | dup vs finite differences", swiglu_loss, &c, c.gu, ROWS * 2 * DIM,
             1, dgu);
    t2_free(c.gu);
    t2_free(c.dh);
}

/* ---- RoPE ---- */

typedef struct rope_case {
    int64_t n_heads, head_dim;
    double *x, *dy;
    const float *cos, *sin;
} rope_case;

static double rope_loss(void *ctx) {
    rope_case *c = ctx;
    int64_t half = c->head_dim / 2;
    double loss = 0.0;
    for (int64_t h = 0; h < c->n_heads; h++) {
        const double *x = c->x + h * c->head_dim, *dy = c->dy + h * c->head_dim;
        for (int64_t i = 0; i < half; i++) {
            loss += dy[i] * (x[i] * c->cos[i] - x[i + half] * c->sin[i]);
            loss += dy[i + half] * (x[i + half] * c->cos[i] + x[i] * c->sin[i]);
        }
    }
    return loss;
}

static void test_rope(t2_rng *rng) {
    enum { HEADS = 3, HD = 12, N = HEADS * HD };
    float x[N], dy[N], dx[N], cos[HD / 2], sin[HD / 2];
    fill_normal(x, N, rng, 1.0f);
    fill_normal(dy, N, rng, 1.0f);
    for (int i = 0; i < HD / 2; i++) {
        float angle = 0.7f * (float)(i + 1);
        cos[i] = cosf(angle);
        sin[i] = sinf(angle);
    }
    memcpy(dx, dy, sizeof dx);
    t2_rope_backward(dx, HEADS, HD, cos, sin);
    rope_case c = {HEADS, HD, to_double(x, N), to_double(dy, N), cos, sin};
    check_fd("rope backward vs finite differences", rope_loss, &c, c.x, N, 1, dx);
    /* the backward undoes the forward's rotation */
    float round_trip[N];
    memcpy(round_trip, x, sizeof x);
    t2_rope_forward(round_trip, HEADS, HD, cos, sin);
    t2_rope_backward(round_trip, HEADS, HD, cos, sin);
    t2_check_close("rope backward inverts the forward", round_trip, x, N, 1e-6, 0.0);
    t2_free(c.x);
    t2_free(c.dy);
}

/* ---- attention ---- */

typedef struct attention_case {
    int64_t n, group, hd, ld_q, ld_kv;
    double scale;
    double *q, *k, *v, *dout; /* L = sum dout . out */
} attention_case;

/* Output (t, g) of the double attention into out (hd values); lse_out gets its log-sum-exp. */
static void attention_row(const attention_case *c, int64_t t, int64_t g, double *out,
                          double *lse_out) {
    const double *q = c->q + t * c->ld_q + g * c->hd;
    double max = -INFINITY, s[256];
    for (int64_t j = 0; j <= t; j++) {
        s[j] = 0.0;
        for (int64_t i = 0; i < c->hd; i++) s[j] += q[i] * c->k[j * c->ld_kv + i];
        s[j] *= c->scale;
        max = s[j] > max ? s[j] : max;
    }
    double sum = 0.0;
    for (int64_t j = 0; j <= t; j++) {
        s[j] = exp(s[j] - max);
        sum += s[j];
    }
    for (int64_t i = 0; i < c->hd; i++) {
        out[i] = 0.0;
        for (int64_t j = 0; j <= t; j++) out[i] += s[j] / sum * c->v[j * c->ld_kv + i];
    }
    *lse_out = max + log(sum);
}

static double attention_loss(void *ctx) {
    attention_case *c = ctx;
    double loss = 0.0, out[64], lse;
    for (int64_t t = 0; t < c->n; t++) {
        for (int64_t g = 0; g < c->group; g++) {
            attention_row(c, t, g, out, &lse);
            for (int64_t i = 0; i < c->hd; i++)
                loss += c->dout[t * c->ld_q + g * c->hd + i] * out[i];
        }
    }
    return loss;
}

static void test_attention(t2_rng *rng, int64_t n, int64_t group, int64_t hd) {
    int64_t ld_q = group * hd + 3, ld_kv = hd + 5; /* strided views, as in the q|k|v rows */
    float scale = 1.0f / sqrtf((float)hd);
    float *q = t2_alloc_array((size_t)(n * ld_q), sizeof(float));
    float *k = t2_alloc_array((size_t)(n * ld_kv), sizeof(float));
    float *v = t2_alloc_array((size_t)(n * ld_kv), sizeof(float));
    float *dout = t2_alloc_array((size_t)(n * ld_q), sizeof(float));
    float *out = t2_alloc_array((size_t)(n * ld_q), sizeof(float));
    float *out_ref = t2_alloc_array((size_t)(n * ld_q), sizeof(float));
    float *lse = t2_alloc_array((size_t)(n * group), sizeof(float));
    float *dq = t2_alloc_array((size_t)(n * ld_q), sizeof(float));
    float *dq_ref = t2_alloc_array((size_t)(n * ld_q), sizeof(float));
    float *dkv = t2_alloc_array((size_t)(4 * n * ld_kv), sizeof(float));
    float *dk = dkv, *dv = dkv + n * ld_kv, *dk_ref = dv + n * ld_kv, *dv_ref = dk_ref + n * ld_kv;
    float *scratch = t2_alloc_array((size_t)t2_attention_scratch_floats(n, group, hd),
                                    sizeof(float));
    fill_normal(q, n * ld_q, rng, 1.5f);
    fill_normal(k, n * ld_kv, rng, 1.5f);
    fill_normal(v, n * ld_kv, rng, 1.0f);
    fill_normal(dout, n * ld_q, rng, 1.0f);
    char what[160];

    t2_attention_lse_forward(out, ld_q, lse, group, q, ld_q, k, v, ld_kv, n, group, hd, scale,
                             scratch);
    /* t2_attention_forward_ref reads K and V densely: copy them out of their strided rows */
    float *k_dense = t2_alloc_array((size_t)(n * hd), sizeof(float));
    float *v_dense = t2_alloc_array((size_t)(n * hd), sizeof(float));
    for (int64_t j = 0; j < n; j++) {
        memcpy(k_dense + j * hd, k + j * ld_kv, (size_t)hd * sizeof(float));
        memcpy(v_dense + j * hd, v + j * ld_kv, (size_t)hd * sizeof(float));
    }
    t2_attention_forward_ref(out_ref, ld_q, q, ld_q, k_dense, v_dense, n, group, hd, 0, scale);
    for (int64_t t = 0; t < n; t++) /* the padding columns are not outputs */
        for (int64_t i = group * hd; i < ld_q; i++) out[t * ld_q + i] = out_ref[t * ld_q + i];
    snprintf(what, sizeof what, "attention forward n %lld group %lld: out vs ref", (long long)n,
             (long long)group);
    t2_check_close(what, out, out_ref, n * ld_q, 1e-5, 1e-4);

    attention_case c = {n, group, hd, ld_q, ld_kv, scale, to_double(q, n * ld_q),
                        to_double(k, n * ld_kv), to_double(v, n * ld_kv),
                        to_double(dout, n * ld_q)};
    double *lse_want = t2_alloc_array((size_t)(n * group), sizeof(double));
    double *lse_got = t2_alloc_array((size_t)(n * group), sizeof(double));
    double row[64];
    for (int64_t t = 0; t < n; t++) {
        for (int64_t g = 0; g < group; g++) {
            attention_row(&c, t, g, row, &lse_want[t * group + g]);
            lse_got[t * group + g] = lse[t * group + g];
        }
    }
    snprintf(what, sizeof what, "attention forward n %lld: log-sum-exp vs double", (long long)n);
    t2_check_close_double(what, lse_got, lse_want, n * group, 1e-5, 1e-5);

    t2_attention_backward(dq, ld_q, dk, dv, ld_kv, dout, ld_q, out, ld_q, lse, group, q, ld_q,
                          k, v, ld_kv, n, group, hd, scale, scratch);
    t2_attention_backward_ref(dq_ref, ld_q, dk_ref, dv_ref, ld_kv, dout, ld_q, out, ld_q, lse,
                              group, q, ld_q, k, v, ld_kv, n, group, hd, scale);
    for (int64_t t = 0; t < n; t++) { /* compare only the head columns, not the padding */
        for (int64_t i = group * hd; i < ld_q; i++) dq[t * ld_q + i] = dq_ref[t * ld_q + i];
        for (int64_t i = hd; i < ld_kv; i++) {
            dk[t * ld_kv + i] = dk_ref[t * ld_kv + i];
            dv[t * ld_kv + i] = dv_ref[t * ld_kv + i];
        }
    }
    float *fast[3] = {dq, dk, dv}, *ref[3] = {dq_ref, dk_ref, dv_ref};
    const char *names[3] = {"dq", "dk", "dv"};
    for (int i = 0; i < 3; i++) {
        snprintf(what, sizeof what, "attention backward n %lld group %lld: %s fast vs ref",
                 (long long)n, (long long)group, names[i]);
        t2_check_close(what, fast[i], ref[i], n * (i == 0 ? ld_q : ld_kv), 1e-5, 1e-4);
    }
    /* finite differences on a column of every head of q, k and v (every row) */
    for (int64_t i = 0; i < group * hd; i += hd - 1) {
        snprintf(what, sizeof what, "attention n %lld dq column %lld vs finite differences",
                 (long long)n, (long long)i);
        check_fd(what, attention_loss, &c, c.q + i, n, ld_q, dq + i);
    }
    for (int64_t i = 0; i < hd; i += hd - 1) {
        snprintf(what, sizeof what, "attention n %lld dk column %lld vs finite differences",
                 (long long)n, (long long)i);
        check_fd(what, attention_loss, &c, c.k + i, n, ld_kv, dk + i);
        snprintf(what, sizeof what, "attention n %lld dv column %lld vs finite differences",
                 (long long)n, (long long)i);
        check_fd(what, attention_loss, &c, c.v + i, n, ld_kv, dv + i);
    }
    t2_free(c.q);
    t2_free(c.k);
    t2_free(c.v);
    t2_free(c.dout);
    t2_free(lse_want);
    t2_free(lse_got);
    t2_free(k_dense);
    t2_free(v_dense);
    t2_free(scratch);
    t2_free(dkv);
    t2_free(dq_ref);
    t2_free(dq);
    t2_free(lse);
    t2_free(out_ref);
    t2_free(out);
    t2_free(dout);
    t2_free(v);
    t2_free(k);
    t2_free(q);
}

/* ---- cross-entropy ---- */

typedef struct ce_case {
    int64_t rows, vocab;
    double *logits;
    const int32_t *targets;
    const float *weights;
} ce_case;

static double ce_loss(void *ctx) {
    ce_case *c = ctx;
    double loss = 0.0;
    for (int64_t t = 0; t < c->rows; t++) {
        if (c->weights[t] == 0.0f) continue;
        const double *row = c->logits + t * c->vocab;
        double max = row[0], sum = 0.0;
        for (int64_t j = 1; j < c->vocab; j++) max = row[j] > max ? row[j] : max;
        for (int64_t j = 0; j < c->vocab; j++) sum += exp(row[j] - max);
        loss -= c->weights[t] * (row[c->targets[t]] - max - log(sum));
    }
    return loss;
}

static void test_cross_entropy(t2_rng *rng) {
    enum { ROWS = 4, VOCAB = 300 }; /* more than one 256-value exp chunk */
    float *logits = t2_alloc_array(ROWS * VOCAB, sizeof(float));
    float *dlogits = t2_alloc_array(ROWS * VOCAB, sizeof(float));
    float *dlogits_ref = t2_alloc_array(ROWS * VOCAB, sizeof(float));
    fill_normal(logits, ROWS * VOCAB, rng, 3.0f);
    int32_t targets[ROWS] = {7, 299, -1, 256};
    float weights[ROWS] = {0.5f, 0.25f, 0.0f, -0.75f}; /* row 2 learns nothing */
    float logprob[ROWS], lse[ROWS], logprob_ref[ROWS], lse_ref[ROWS];
    t2_cross_entropy_forward(logprob, lse, logits, VOCAB, targets, ROWS, VOCAB);
    t2_cross_entropy_forward_ref(logprob_ref, lse_ref, logits, VOCAB, targets, ROWS, VOCAB);
    t2_check_close("cross-entropy lse: fast vs ref", lse, lse_ref, ROWS, 1e-5, 1e-6);
    t2_check_close("cross-entropy logprob: fast vs ref", logprob, logprob_ref, ROWS, 1e-5, 1e-6);
    CHECK(logprob[2] == 0.0f, "logprob of an out-of-range target = %g; expected 0", logprob[2]);
    t2_cross_entropy_backward(dlogits, VOCAB, logits, VOCAB, lse, targets, weights, ROWS, VOCAB);
    t2_cross_entropy_backward_ref(dlogits_ref, VOCAB, logits, VOCAB, lse, targets, weights, ROWS,
                                  VOCAB);
    t2_check_close("cross-entropy backward: fast vs ref", dlogits, dlogits_ref, ROWS * VOCAB,
                   1e-7, 1e-5);
    ce_case c = {ROWS, VOCAB, to_double(logits, ROWS * VOCAB), targets, weights};
    check_fd("cross-entropy dlogits vs finite differences", ce_loss, &c, c.logits, ROWS * VOCAB,
             1, dlogits);
    t2_free(c.logits);
    t2_free(dlogits_ref);
    t2_free(dlogits);
    t2_free(logits);
}

static void test_bias_backward(void) {
    float x[3 * 5] = {1, 2, 3, 99, 99, 4, 5, 6, 99, 99, 7, 8, 9, 99, 99};
    float db[3] = {1, 1, 1}, want[3] = {13, 16, 19};
    t2_bias_backward(db, x, 3, 3, 5);
    t2_check_close("bias backward adds column sums", db, want, 3, 0.0, 0.0);
}

int main(void) {
    t2_blis_setup(1, 1);
    t2_rng rng;
    t2_rng_init(&rng, 11);
    test_rmsnorm(&rng);
    test_swiglu(&rng);
    test_rope(&rng);
    test_attention(&rng, 9, 1, 8);   /* one query block, no grouping */
    test_attention(&rng, 70, 2, 8);  /* two blocks (64 + 6), grouped heads */
    test_cross_entropy(&rng);
    test_bias_backward();
    return t2_check_exit_code();
}
