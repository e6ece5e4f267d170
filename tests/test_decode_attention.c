/* The decode attention kernel (linalg/decode_attention.h): against values derived by hand
 * (one position, two weighted positions, equal keys across a block boundary), then the
 * blocked kernel against its plain-loop `_ref` twin on random data for odd and even head
 * sizes, grouped-query ratios 1, 4 and 8, and contexts on both sides of the block size;
 * and scores far apart (stability of the max shifts, a block whose weight underflows); and
 * float16 keys and values against their float32 widening, bit for bit. ctest runs it on the
 * automatic kernel and on T2_KERNEL=plain (the portable loops). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/decode_attention.h"

static void fill_normal(float *x, int64_t n, t2_rng *rng, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * t2_rng_normal(rng);
}

/* out of t2_decode_attention_forward, with its own scratch */
static void run_fast(float *out, const float *q, const float *k, const float *v,
                     int64_t n_group, int64_t head_dim, int64_t n_ctx, float scale) {
    float *scratch = t2_alloc_array(
        (size_t)t2_decode_attention_scratch_floats(n_ctx, n_group, head_dim), sizeof(float));
    t2_decode_attention_forward(out, q, k, v, T2_WEIGHT_F32, n_group, head_dim, n_ctx, scale, scratch);
    t2_free(scratch);
}

static void test_by_hand(void) {
    /* one position: the output is its value row, for every head */
    float q1[6] = {1, 2, 3, -1, 0, 5}, k1[3] = {0.5f, -1, 2}, v1[3] = {7, -3, 0.25f};
    float out1[6], want1[6] = {7, -3, 0.25f, 7, -3, 0.25f};
    run_fast(out1, q1, k1, v1, 2, 3, 1, 0.7f);
    t2_check_close("one position, 2 heads", out1, want1, 6, 0.0, 0.0);

    /* scores 0 and ln 3: weights 1/4 and 3/4, so out = 4/4 + 3 * 8/4 = 7 */
    float q2[1] = {1}, k2[2] = {0, (float)log(3.0)}, v2[2] = {4, 8}, out2[1], want2[1] = {7};
    run_fast(out2, q2, k2, v2, 1, 1, 2, 1.0f);
    t2_check_close("two positions, weights 1/4 and 3/4", out2, want2, 1, 0.0, 1e-6);

    /* 513 equal keys (two blocks: 512 + 1), values 0..512: the mean, 256 */
    enum { N = 513 };
    float *k3 = t2_alloc_array(N, sizeof(float)), *v3 = t2_alloc_array(N, sizeof(float));
    for (int j = 0; j < N; j++) {
        k3[j] = 1.0f;
        v3[j] = (float)j;
    }
    float q3[1] = {0.5f}, out3[1], want3[1] = {256};
    CHECK(t2_decode_attention_blocks(N) == 2, "%lld blocks for 513 positions; expected 2",
          (long long)t2_decode_attention_blocks(N));
    run_fast(out3, q3, k3, v3, 1, 1, N, 1.0f);
    t2_check_close("513 equal keys: the mean of 0..512", out3, want3, 1, 0.0, 1e-6);
    t2_free(k3);
    t2_free(v3);
}

/* Fast vs ref for one shape; q scaled by q_scale (large: scores far apart). */
static void compare(t2_rng *rng, int64_t n_group, int64_t head_dim, int64_t n_ctx,
                    float q_scale) {
    float *q = t2_alloc_array((size_t)(n_group * head_dim), sizeof(float));
    float *k = t2_alloc_array((size_t)(n_ctx * head_dim), sizeof(float));
    float *v = t2_alloc_array((size_t)(n_ctx * head_dim), sizeof(float));
    float *fast = t2_alloc_array((size_t)(n_group * head_dim), sizeof(float));
    float *ref = t2_alloc_array((size_t)(n_group * head_dim), sizeof(float));
    fill_normal(q, n_group * head_dim, rng, q_scale);
    fill_normal(k, n_ctx * head_dim, rng, 1.0f);
    fill_normal(v, n_ctx * head_dim, rng, 1.0f);
    float scale = 1.0f / sqrtf((float)head_dim);
    run_fast(fast, q, k, v, n_group, head_dim, n_ctx, scale);
    t2_decode_attention_forward_ref(ref, q, k, v, n_group, head_dim, n_ctx, scale);
    char what[128];
    snprintf(what, sizeof what, "fast vs ref: group %lld, head_dim %lld, context %lld, q x %g",
             (long long)n_group, (long long)head_dim, (long long)n_ctx, (double)q_scale);
    t2_check_close(what, fast, ref, n_group * head_dim, 2e-6, 2e-5);
    t2_free(q);
    t2_free(k);
    t2_free(v);
    t2_free(fast);
    t2_free(ref);
}

static void test_against_ref(void) {
    t2_rng rng;
    t2_rng_init(&rng, 21);
    const int64_t groups[3] = {1, 4, 8}, head_dims[4] = {1, 17, 67, 128};
    const int64_t contexts[6] = {1, 17, 511, 512, 513, 2048};
    for (int gi = 0; gi < 3; gi++)
        for (int hi = 0; hi < 4; hi++)
            for (int ci = 0; ci < 6; ci++)
                compare(&rng, groups[gi], head_dims[hi], contexts[ci], 1.0f);
    /* scores spread over tens of units: the max shifts carry the result */
    compare(&rng, 4, 64, 1500, 8.0f);
    compare(&rng, 1, 16, 1100, 30.0f);
}

/* Block 0's scores sit ~200 below block 1's: its merge weight underflows to 0 and the output
 * is block 1's own. */
static void test_underflowing_block(void) {
    enum { N = 520, HD = 2 };
    float q[HD] = {1, 0}, k[N * HD], v[N * HD], out[HD], ref[HD];
    for (int j = 0; j < N; j++) {
        k[j * HD] = j < 512 ? -200.0f : (float)(j - 512) * 0.1f;
        k[j * HD + 1] = 0;
        v[j * HD] = (float)j;
        v[j * HD + 1] = j < 512 ? 1e6f : 1.0f;
    }
    run_fast(out, q, k, v, 1, HD, N, 1.0f);
    t2_decode_attention_forward_ref(ref, q, k, v, 1, HD, N, 1.0f);
    t2_check_close("a block 200 below the other", out, ref, HD, 0.0, 1e-6);
    CHECK(fabsf(out[1] - 1.0f) <= 1e-6f, "the low block leaks in: %.9g; expected 1", out[1]);
}

/* n random normal float16 values (magnitudes 2^-7 .. 2^3) as bits, and their widening. */
static void fill_half(uint16_t *bits, float *wide, int64_t n, t2_rng *rng) {
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = t2_rng_next(rng);
        uint16_t sign = (uint16_t)((r & 1u) << 15), exponent = (uint16_t)(8 + (r >> 1) % 11);
        bits[i] = (uint16_t)(sign | exponent << 10 | ((r >> 8) & 0x3ffu));
        wide[i] = t2_weight_f16_to_f32(bits[i]);
    }
}

/* A float16 cache gives what its float32 widening gives, bit for bit. */
static void test_f16_matches_widened(void) {
    t2_rng rng;
    t2_rng_init(&rng, 22);
    const int64_t groups[3] = {1, 2, 8}, head_dims[3] = {17, 64, 128}, contexts[3] = {3, 130, 513};
    for (int gi = 0; gi < 3; gi++)
        for (int hi = 0; hi < 3; hi++)
            for (int ci = 0; ci < 3; ci++) {
                int64_t g = groups[gi], hd = head_dims[hi], n = contexts[ci];
                float *q = t2_alloc_array((size_t)(g * hd), sizeof(float));
                uint16_t *kv16 = t2_alloc_array((size_t)(2 * n * hd), sizeof(uint16_t));
                float *kv32 = t2_alloc_array((size_t)(2 * n * hd), sizeof(float));
                float *out16 = t2_alloc_array((size_t)(g * hd), sizeof(float));
                float *out32 = t2_alloc_array((size_t)(g * hd), sizeof(float));
                float *scratch = t2_alloc_array(
                    (size_t)t2_decode_attention_scratch_floats(n, g, hd), sizeof(float));
                fill_normal(q, g * hd, &rng, 0.5f);
                fill_half(kv16, kv32, 2 * n * hd, &rng);
                float scale = 1.0f / sqrtf((float)hd);
                t2_decode_attention_forward(out16, q, kv16, kv16 + n * hd, T2_WEIGHT_F16, g, hd,
                                            n, scale, scratch);
                t2_decode_attention_forward(out32, q, kv32, kv32 + n * hd, T2_WEIGHT_F32, g, hd,
                                            n, scale, scratch);
                char what[128];
                snprintf(what, sizeof what, "float16 vs widened: group %lld, head_dim %lld, "
                         "context %lld", (long long)g, (long long)hd, (long long)n);
                CHECK(memcmp(out16, out32, (size_t)(g * hd) * sizeof(float)) == 0,
                      "%s: not bitwise equal", what);
                t2_free(q);
                t2_free(kv16);
                t2_free(kv32);
                t2_free(out16);
                t2_free(out32);
                t2_free(scratch);
            }
}

int main(void) {
    test_by_hand();
    test_f16_matches_widened();
    test_against_ref();
    test_underflowing_block();
    return t2_check_exit_code();
}
