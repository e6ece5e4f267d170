/* Prints what the run-time dispatch chose on this CPU, and a hash of what it computed, for
 * tests/test_portable.sh, which runs it natively and under qemu-x86_64 with older CPU models:
 *   skinny <kernel>   the skinny decode kernel (linalg/skinny.h; T2_KERNEL honoured)
 *   blis <arch>       BLIS's kernel set (linalg/blis_setup.h)
 *   kernels <hash>    FNV-1a 64 of the outputs of the T2_CLONES kernels (linalg/clones.h) on
 *                     fixed inputs: bitwise the same on every CPU, whichever version runs.
 * Leaves out the kernels whose results depend on BLIS's kernel set (the training attention)
 * or on libm's CPU-specific versions (logf in the cross-entropy forward). Checks nothing. */
#include <inttypes.h>
#include <stdio.h>

#include "base/alloc.h"
#include "linalg/blis_setup.h"
#include "linalg/decode_attention.h"
#include "linalg/ops.h"
#include "linalg/ops_backward.h"
#include "linalg/skinny.h"

enum { ROWS = 3, DIM = 333, VOCAB = 300, GROUP = 2, HEAD_DIM = 64, CTX = 700 };

/* n floats uniform in [lo, hi) from a 64-bit LCG (Knuth's MMIX constants). */
static void fill(float *x, int64_t n, float lo, float hi, uint64_t *state) {
    for (int64_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005u + 1442695040888963407u;
        x[i] = lo + (hi - lo) * (float)(*state >> 40) / 16777216.0f;
    }
}

/* FNV-1a 64 over n floats' bytes, continuing from h. */
static uint64_t hash(uint64_t h, const float *x, int64_t n) {
    const unsigned char *bytes = (const unsigned char *)x;
    for (size_t i = 0; i < (size_t)n * sizeof(float); i++) h = (h ^ bytes[i]) * 1099511628211u;
    return h;
}

int main(void) {
    t2_blis_setup(1, 1);
    printf("skinny %s\n", t2_skinny_kernel_name(t2_skinny_active_kernel()));
    printf("blis %s\n", t2_blis_arch_name());

    uint64_t state = 1, h = 14695981039346656037u;
    float *x = t2_alloc_array(ROWS * 2 * DIM, sizeof(float));
    float *y = t2_alloc_array(ROWS * 2 * DIM, sizeof(float));
    float *w = t2_alloc_array(ROWS * 2 * DIM, sizeof(float));
    float *out = t2_alloc_array(ROWS * 2 * DIM, sizeof(float));
    float *dw = t2_alloc_array(DIM, sizeof(float));

    fill(x, ROWS * DIM, -100.0f, 100.0f, &state); /* beyond exp's clamps on both sides */
    t2_exp_inplace(x, ROWS * DIM);
    h = hash(h, x, ROWS * DIM);

    fill(x, ROWS * 2 * DIM, -4.0f, 4.0f, &state);
    fill(y, ROWS * 2 * DIM, -1.0f, 1.0f, &state);
    fill(w, DIM, 0.5f, 1.5f, &state);
    t2_rmsnorm_forward(out, x, w, ROWS, DIM, 1e-5f);
    h = hash(h, out, ROWS * DIM);
    t2_rmsnorm_backward(out, dw, y, x, w, ROWS, DIM, 1e-5f);
    h = hash(hash(h, out, ROWS * DIM), dw, DIM);
    t2_swiglu_forward(out, DIM, x, 2 * DIM, x + DIM, 2 * DIM, ROWS, DIM);
    h = hash(h, out, ROWS * DIM);
    t2_swiglu_backward(out, w, y, x, ROWS, DIM);
    h = hash(hash(h, out, ROWS * 2 * DIM), w, ROWS * DIM);

    fill(x, VOCAB, -8.0f, 8.0f, &state);
    t2_softmax_row(x, VOCAB, VOCAB - 7);
    h = hash(h, x, VOCAB);
    int32_t targets[ROWS] = {0, VOCAB - 1, 17};
    float lse[ROWS] = {9.0f, 8.5f, 7.25f}, weights[ROWS] = {1.0f, 0.0f, 0.5f};
    fill(x, ROWS * VOCAB, -8.0f, 8.0f, &state);
    t2_cross_entropy_backward(out, VOCAB, x, VOCAB, lse, targets, weights, ROWS, VOCAB);
    h = hash(h, out, ROWS * VOCAB);

    float *q = t2_alloc_array(GROUP * HEAD_DIM, sizeof(float));
    float *kv = t2_alloc_array(2 * CTX * HEAD_DIM, sizeof(float));
    int64_t scratch_floats = t2_decode_attention_scratch_floats(CTX, GROUP, HEAD_DIM);
    float *scratch = t2_alloc_array((size_t)scratch_floats, sizeof(float));
    fill(q, GROUP * HEAD_DIM, -1.0f, 1.0f, &state);
    fill(kv, 2 * CTX * HEAD_DIM, -1.0f, 1.0f, &state);
    t2_decode_attention_forward(out, q, kv, kv + CTX * HEAD_DIM, T2_WEIGHT_F32, GROUP, HEAD_DIM,
                                CTX, 0.125f, scratch);
    h = hash(h, out, GROUP * HEAD_DIM);
    /* a float16 cache: normal halves of magnitude 2^-7 .. 2^3 from the same LCG */
    uint16_t *kv16 = t2_alloc_array(2 * CTX * HEAD_DIM, sizeof(uint16_t));
    for (int64_t i = 0; i < 2 * CTX * HEAD_DIM; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        uint64_t r = state >> 33;
        kv16[i] = (uint16_t)((r & 1u) << 15 | (8 + (r >> 1) % 11) << 10 | ((r >> 8) & 0x3ffu));
    }
    t2_decode_attention_forward(out, q, kv16, kv16 + CTX * HEAD_DIM, T2_WEIGHT_F16, GROUP,
                                HEAD_DIM, CTX, 0.125f, scratch);
    h = hash(h, out, GROUP * HEAD_DIM);
    t2_free(kv16);
    printf("kernels %016" PRIx64 "\n", h);

    t2_free(scratch);
    t2_free(kv);
    t2_free(q);
    t2_free(dw);
    t2_free(out);
    t2_free(w);
    t2_free(y);
    t2_free(x);
    return 0;
}
