/* The elementwise kernels and the attention kernel of linalg/ops.h: each against values
 * derived by hand, then the fast version against its plain-loop `_ref` twin on random data. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/ops.h"

static void fill_normal(float *x, int64_t n, t2_rng *rng, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * t2_rng_normal(rng);
}

static void test_exp(void) {
    enum { N = 2001 };
    float x[N], want[N];
    for (int i = 0; i < N; i++) {
        x[i] = -87.0f + 175.0f * (float)i / (N - 1);
        want[i] = (float)exp((double)x[i]);
    }
    t2_exp_inplace(x, N);
    t2_check_close("exp on [-87, 88]", x, want, N, 0.0, 1.5e-7);
    float special[6] = {0.0f, -100.0f, NAN, 1.0f, -INFINITY, 100.0f};
    t2_exp_inplace(special, 6);
    CHECK(special[0] == 1.0f, "exp(0) = %g; expected exactly 1", special[0]);
    CHECK(special[1] == 0.0f, "exp(-100) = %g; expected 0 (flushed)", special[1]);
    CHECK(isnan(special[2]), "exp(NaN) = %g; expected NaN", special[2]);
    CHECK(fabsf(special[3] - 2.7182817f) < 1e-6f, "exp(1) = %.9g", special[3]);
    CHECK(special[4] == 0.0f, "exp(-inf) = %g; expected 0", special[4]);
    CHECK(fabs(special[5] - exp(88.0)) < 1e-6 * exp(88.0), "exp(100) = %g; expected e^88",
          special[5]);
}

static void test_rmsnorm(void) {
    /* row 0: mean square 25/4 -> rms 2.5; row 1: mean 1 + eps 3 -> rms 2 */
    float x[8] = {3, -4, 0, 0, 1, 1, 1, 1}, weight[4] = {1, 1, 2, 0.5f}, out[8];
    float want0[4] = {1.2f, -1.6f, 0.0f, 0.0f};
    t2_rmsnorm_forward(out, x, weight, 1, 4, 0.0f);
    t2_check_close("rmsnorm row (3,-4,0,0)", out, want0, 4, 1e-7, 0.0);
    float want1[4] = {0.5f, 0.5f, 1.0f, 0.25f};
    t2_rmsnorm_forward(out, x + 4, weight, 1, 4, 3.0f);
    t2_check_close("rmsnorm with eps 3", out, want1, 4, 1e-7, 0.0);

    enum { ROWS = 5, DIM = 97 };
    t2_rng rng;
    t2_rng_init(&rng, 1);
    float in[ROWS * DIM], w[DIM], fast[ROWS * DIM], ref[ROWS * DIM];
    fill_normal(in, ROWS * DIM, &rng, 3.0f);
    fill_normal(w, DIM, &rng, 1.0f);
    t2_rmsnorm_forward(fast, in, w, ROWS, DIM, 1e-6f);
    t2_rmsnorm_forward_ref(ref, in, w, ROWS, DIM, 1e-6f);
    t2_check_close("rmsnorm fast vs ref", fast, ref, ROWS * DIM, 1e-6, 1e-5);
    memcpy(fast, in, sizeof in); /* in place */
    t2_rmsnorm_forward(fast, fast, w, ROWS, DIM, 1e-6f);
    t2_check_close("rmsnorm in place", fast, ref, ROWS * DIM, 1e-6, 1e-5);
}

static void test_softmax(void) {
    float x[3] = {0.0f, logf(2.0f), logf(3.0f)};
    float want[3] = {1.0f / 6, 2.0f / 6, 3.0f / 6};
    t2_softmax_row(x, 3, 3);
    t2_check_close("softmax(0, ln2, ln3)", x, want, 3, 1e-7, 0.0);
    float masked[3] = {0.0f, logf(2.0f), 50.0f};
    float want_masked[3] = {1.0f / 3, 2.0f / 3, 0.0f};
    t2_softmax_row(masked, 3, 2);
    t2_check_close("softmax masked after 2", masked, want_masked, 3, 1e-7, 0.0);
    float big[2] = {1000.0f, 1000.0f}, want_big[2] = {0.5f, 0.5f};
    t2_softmax_row(big, 2, 2);
    t2_check_close("softmax(1000, 1000)", big, want_big, 2, 0.0, 0.0);

    enum { N = 300 };
    t2_rng rng;
    t2_rng_init(&rng, 2);
    float fast[N], ref[N];
    for (int valid = 1; valid <= N; valid += 37) {
        fill_normal(fast, N, &rng, 10.0f);
        memcpy(ref, fast, sizeof fast);
        t2_softmax_row(fast, N, valid);
        t2_softmax_row_ref(ref, N, valid);
        t2_check_close("softmax fast vs ref", fast, ref, N, 1e-7, 1e-5);
    }
}

static void test_swiglu(void) {
    /* silu(ln3) = ln3 / (1 + 1/3) = 0.75 ln3; silu(-ln3) = -ln3 / 4; silu(0) = 0 */
    float gate[3] = {logf(3.0f), -logf(3.0f), 0.0f}, up[3] = {2.0f, 1.0f, 5.0f}, out[3];
    float want[3] = {1.5f * logf(3.0f), -0.25f * logf(3.0f), 0.0f};
    t2_swiglu_forward(out, 3, gate, 3, up, 3, 1, 3);
    t2_check_close("swiglu by hand", out, want, 3, 1e-7, 1e-6);

    enum { ROWS = 4, DIM = 83, LD = 2 * DIM };
    t2_rng rng;
    t2_rng_init(&rng, 3);
    float gu[ROWS * LD], fast[ROWS * LD], ref[ROWS * DIM];
    fill_normal(gu, ROWS * LD, &rng, 6.0f);
    memcpy(fast, gu, sizeof gu);
    t2_swiglu_forward(fast, LD, fast, LD, fast + DIM, LD, ROWS, DIM); /* over the gate half */
    t2_swiglu_forward_ref(ref, DIM, gu, LD, gu + DIM, LD, ROWS, DIM);
    for (int t = 0; t < ROWS; t++)
        t2_check_close("swiglu fast (in place) vs ref", fast + t * LD, ref + t * DIM, DIM, 1e-6,
                       1e-5);
}

static void test_rope_and_bias(void) {
    /* head_dim 4: pair (x0, x2) turns by 90 degrees, pair (x1, x3) by 0 */
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float cos[2] = {0.0f, 1.0f}, sin[2] = {1.0f, 0.0f};
    float want[8] = {-3, 2, 1, 4, -7, 6, 5, 8};
    t2_rope_forward(x, 2, 4, cos, sin);
    t2_check_close("rope quarter turn", x, want, 8, 0.0, 0.0);
    float c = cosf(0.3f), s = sinf(0.3f);
    float y[2] = {1.0f, 2.0f}, cy[1] = {c}, sy[1] = {s};
    float want_y[2] = {c - 2.0f * s, 2.0f * c + s};
    t2_rope_forward(y, 1, 2, cy, sy);
    t2_check_close("rope by 0.3 rad", y, want_y, 2, 1e-7, 0.0);

    float m[6] = {1, 2, 9, 3, 4, 9}, bias[2] = {10, 20}, want_m[6] = {11, 22, 9, 13, 24, 9};
    t2_add_bias(m, bias, 2, 2, 3);
    t2_check_close("add_bias with ld 3", m, want_m, 6, 0.0, 0.0);
}

static void test_attention(void) {
    /* One position: the output is that position's value whatever the query. */
    float q[4] = {1, -2, 3, 0.5f}, k[4] = {0.3f, 0.1f, -1, 2}, v[4] = {7, -1, 2, 4};
    float out[4];
    t2_attention_forward_ref(out, 4, q, 4, k, v, 1, 1, 4, 0, 0.5f);
    t2_check_close("attention over one position", out, v, 4, 0.0, 0.0);
    /* Two positions with equal keys: the mean of the values. Two query heads share them. */
    float q2[4] = {1, 2, -3, 4}, k2[4] = {1, 1, 1, 1}, v2[4] = {2, 4, 6, -8}, out2[4];
    float want2[4] = {4, -2, 4, -2};
    t2_attention_forward_ref(out2, 4, q2, 4, k2, v2, 1, 2, 2, 1, 1.0f);
    t2_check_close("attention, equal keys", out2, want2, 4, 1e-6, 0.0);

    /* Random: 3 query tokens after 5 cached positions, 4 heads per KV head, head_dim 24. */
    enum { NQ = 3, G = 4, HD = 24, FIRST = 5, CTX = FIRST + NQ, LDQ = G * HD + 7 };
    t2_rng rng;
    t2_rng_init(&rng, 4);
    float qr[NQ * LDQ], kr[CTX * HD], vr[CTX * HD], ref[NQ * G * HD];
    fill_normal(qr, NQ * LDQ, &rng, 1.0f);
    fill_normal(kr, CTX * HD, &rng, 1.0f);
    fill_normal(vr, CTX * HD, &rng, 1.0f);
    float scale = 1.0f / sqrtf((float)HD);
    t2_attention_forward_ref(ref, G * HD, qr, LDQ, kr, vr, NQ, G, HD, FIRST, scale);
    /* Causality: the first query token's output must not change when later keys change. */
    kr[(CTX - 1) * HD] += 5.0f;
    vr[(CTX - 1) * HD] += 5.0f;
    float again[NQ * G * HD];
    t2_attention_forward_ref(again, G * HD, qr, LDQ, kr, vr, NQ, G, HD, FIRST, scale);
    t2_check_close("attention causal (first token unchanged)", again, ref, G * HD, 0.0, 0.0);
}

int main(void) {
    test_exp();
    test_rmsnorm();
    test_softmax();
    test_swiglu();
    test_rope_and_bias();
    test_attention();
    return t2_check_exit_code();
}
