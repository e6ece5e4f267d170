/* Elementwise transformer kernels (see ops.h). Loops are written so the compiler vectorises
 * the inner one; reductions use float accumulators in several lanes. */
#include "linalg/ops.h"

#include <math.h>

#include "base/assert.h"

void t2_rmsnorm_forward(float *out, const float *x, const float *weight, int64_t rows,
                        int64_t dim, float eps) {
    T2_ASSERT(dim > 0);
    for (int64_t t = 0; t < rows; t++) {
        const float *x_row = x + t * dim;
        float *out_row = out + t * dim;
        float sum_sq = 0.0f;
        for (int64_t i = 0; i < dim; i++) sum_sq += x_row[i] * x_row[i];
        float inv_rms = 1.0f / sqrtf(sum_sq / (float)dim + eps);
        for (int64_t i = 0; i < dim; i++) out_row[i] = x_row[i] * inv_rms * weight[i];
    }
}

void t2_rmsnorm_forward_ref(float *out, const float *x, const float *weight, int64_t rows,
                            int64_t dim, float eps) {
    for (int64_t t = 0; t < rows; t++) {
        double sum_sq = 0.0;
        for (int64_t i = 0; i < dim; i++) sum_sq += (double)x[t * dim + i] * x[t * dim + i];
        double inv_rms = 1.0 / sqrt(sum_sq / (double)dim + eps);
        for (int64_t i = 0; i < dim; i++)
            out[t * dim + i] = (float)(x[t * dim + i] * inv_rms * weight[i]);
    }
}

void t2_softmax_row(float *x, int64_t n, int64_t valid) {
    T2_ASSERT(valid >= 1 && valid <= n);
    float max = x[0];
    for (int64_t j = 1; j < valid; j++) max = x[j] > max ? x[j] : max;
    float sum = 0.0f;
    for (int64_t j = 0; j < valid; j++) {
        x[j] = expf(x[j] - max);
        sum += x[j];
    }
    float inv = 1.0f / sum;
    for (int64_t j = 0; j < valid; j++) x[j] *= inv;
    for (int64_t j = valid; j < n; j++) x[j] = 0.0f;
}

void t2_swiglu_forward(float *out, const float *gate, const float *up, int64_t rows,
                       int64_t dim, int64_t ld) {
    for (int64_t t = 0; t < rows; t++) {
        const float *gate_row = gate + t * ld, *up_row = up + t * ld;
        float *out_row = out + t * ld;
        for (int64_t i = 0; i < dim; i++)
            out_row[i] = gate_row[i] / (1.0f + expf(-gate_row[i])) * up_row[i];
    }
}

void t2_rope_forward(float *x, int64_t n_heads, int64_t head_dim, const float *cos,
                     const float *sin) {
    T2_ASSERT(head_dim % 2 == 0);
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *lo = x + h * head_dim, *hi = lo + half;
        for (int64_t i = 0; i < half; i++) {
            float a = lo[i], b = hi[i];
            lo[i] = a * cos[i] - b * sin[i];
            hi[i] = b * cos[i] + a * sin[i];
        }
    }
}

void t2_add_bias(float *x, const float *bias, int64_t rows, int64_t n, int64_t ld) {
    for (int64_t t = 0; t < rows; t++) {
        float *row = x + t * ld;
        for (int64_t j = 0; j < n; j++) row[j] += bias[j];
    }
}
