/* Element types of safetensors files: names, sizes, and the float16 / bfloat16 <-> float32
 * conversions (round to nearest, ties to even, as numpy and torch do).
 * Does not read or write files (safetensors.c, safetensors_write.c).
 * Reference: IEEE 754-2008 binary16; bfloat16 is the top half of a binary32. */
#include <string.h>

#include "base/assert.h"
#include "linalg/weight.h"
#include "model/safetensors.h"

typedef struct dtype_desc {
    const char *name;
    size_t size;
} dtype_desc;

/* Indexed by t2_dtype. */
static const dtype_desc dtypes[] = {
    [T2_DTYPE_F32] = {"F32", 4}, [T2_DTYPE_F16] = {"F16", 2}, [T2_DTYPE_BF16] = {"BF16", 2},
    [T2_DTYPE_F64] = {"F64", 8}, [T2_DTYPE_I64] = {"I64", 8}, [T2_DTYPE_I32] = {"I32", 4},
    [T2_DTYPE_U8] = {"U8", 1},
};
enum { N_DTYPES = sizeof dtypes / sizeof dtypes[0] };

const char *t2_dtype_name(t2_dtype dtype) {
    T2_ASSERT((unsigned)dtype < N_DTYPES);
    return dtypes[dtype].name;
}

size_t t2_dtype_size(t2_dtype dtype) {
    T2_ASSERT((unsigned)dtype < N_DTYPES);
    return dtypes[dtype].size;
}

int t2_dtype_from_name(const char *name, t2_dtype *out) {
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(name, dtypes[i].name) == 0) {
            *out = (t2_dtype)i;
            return 0;
        }
    return -1;
}

static uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float t2_dtype_bf16_to_f32(uint16_t h) { return t2_weight_bf16_to_f32(h); }

uint16_t t2_dtype_f32_to_bf16(float f) {
    uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u); /* quiet NaN */
    /* Adding 0x7fff plus the lowest kept bit rounds half to even; a carry into the exponent
     * is the correct rounding up (and reaches inf from the largest finite values). */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float t2_dtype_f16_to_f32(uint16_t h) { return t2_weight_f16_to_f32(h); }

uint16_t t2_dtype_f32_to_f16(float f) {
    uint32_t u = float_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t x = u & 0x7fffffffu;
    if (x > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((x >> 13) & 0x3ffu)); /* NaN */
    if (x >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to inf */
    if (x >= 0x38800000u) { /* normal half (>= 2^-14): drop 13 mantissa bits */
        uint32_t h = (x >> 13) - (112u << 10), rest = x & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t exponent = x >> 23;
    if (exponent < 102) return sign; /* below 2^-25: rounds to zero (2^-25 itself ties to 0) */
    /* Subnormal half: value = m * 2^(exponent-150); in units of 2^-24 that is m >> shift. */
    uint32_t m = (x & 0x7fffffu) | 0x800000u, shift = 126u - exponent;
    uint32_t h = m >> shift, rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (h & 1u))) h++; /* may carry into the first normal */
    return (uint16_t)(sign | h);
}
