/* safetensors writer -> reader round trips (F32 exact; F16 and BF16 against hand-computed
 * bit patterns, including ties to even, subnormals, overflow, inf and NaN), the header
 * layout on disk, element-range reads, metadata, and writer errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"
#include "check.h"
#include "model/safetensors.h"

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

typedef struct narrow_case {
    uint32_t f32;   /* input bits */
    uint16_t want;  /* expected 16-bit pattern */
    const char *why;
} narrow_case;

static void test_bf16(void) {
    static const narrow_case cases[] = {
        {0x3f800000u, 0x3f80, "1.0"},
        {0xc0000000u, 0xc000, "-2.0"},
        {0x3f808000u, 0x3f80, "tie rounds to even (down)"},
        {0x3f818000u, 0x3f82, "tie rounds to even (up)"},
        {0x3f808001u, 0x3f81, "above half rounds up"},
        {0x3f807fffu, 0x3f80, "below half rounds down"},
        {0x3dcccccdu, 0x3dcd, "0.1"},
        {0x7f7fffffu, 0x7f80, "FLT_MAX overflows to inf"},
        {0x7f7f7fffu, 0x7f7f, "largest value that stays finite"},
        {0x7f800000u, 0x7f80, "inf"},
        {0xff800000u, 0xff80, "-inf"},
        {0x7fc00000u, 0x7fc0, "quiet NaN"},
        {0x7f800001u, 0x7fc0, "signalling NaN becomes quiet, never inf"},
        {0x00000001u, 0x0000, "smallest float subnormal rounds to zero"},
        {0x00018000u, 0x0002, "subnormal tie to even"},
        {0x80000000u, 0x8000, "-0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = t2_dtype_f32_to_bf16(from_bits(cases[i].f32));
        CHECK(got == cases[i].want, "bf16(0x%08x) = 0x%04x, want 0x%04x (%s)", cases[i].f32, got,
              cases[i].want, cases[i].why);
    }
    CHECK(t2_dtype_bf16_to_f32(0x3f80) == 1.0f, "bf16 1.0");
    CHECK(to_bits(t2_dtype_bf16_to_f32(0x0001)) == 0x00010000u, "bf16 subnormal widens exactly");
    for (uint32_t h = 0; h < 65536; h++) { /* widening then narrowing is the identity */
        float f = t2_dtype_bf16_to_f32((uint16_t)h);
        uint16_t back = t2_dtype_f32_to_bf16(f);
        if (isnan(f)) {
            CHECK(isnan(t2_dtype_bf16_to_f32(back)), "bf16 NaN 0x%04x lost", h);
        } else {
            CHECK(back == h, "bf16 0x%04x -> %g -> 0x%04x", h, f, back);
        }
    }
}

static void test_f16(void) {
    static const narrow_case cases[] = {
        {0x3f800000u, 0x3c00, "1.0"},
        {0x3dcccccdu, 0x2e66, "0.1"},
        {0x477fe000u, 0x7bff, "65504, the largest half"},
        {0x477fefffu, 0x7bff, "just below 65520 stays finite"},
        {0x477ff000u, 0x7c00, "65520 ties to even: inf"},
        {0x47c35000u, 0x7c00, "1e5 overflows to inf"},
        {0xc7c35000u, 0xfc00, "-1e5 overflows to -inf"},
        {0x3f801000u, 0x3c00, "1 + 2^-11: tie rounds to even (down)"},
        {0x3f803000u, 0x3c02, "1 + 3*2^-11: tie rounds to even (up)"},
        {0x3f801001u, 0x3c01, "above half rounds up"},
        {0x38800000u, 0x0400, "2^-14, the smallest normal"},
        {0x387fc000u, 0x03ff, "1023 * 2^-24, the largest subnormal"},
        {0x387fe000u, 0x0400, "1023.5 * 2^-24 ties to even: smallest normal"},
        {0x33800000u, 0x0001, "2^-24, the smallest subnormal"},
        {0x33000000u, 0x0000, "2^-25 ties to even: zero"},
        {0x33000001u, 0x0001, "just above 2^-25 rounds up"},
        {0x33c00000u, 0x0002, "1.5 * 2^-24 ties to even: 2 * 2^-24"},
        {0x34200000u, 0x0002, "2.5 * 2^-24 ties to even: 2 * 2^-24"},
        {0x00000001u, 0x0000, "float subnormal rounds to zero"},
        {0x80000000u, 0x8000, "-0"},
        {0x7f800000u, 0x7c00, "inf"},
        {0xff800000u, 0xfc00, "-inf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = t2_dtype_f32_to_f16(from_bits(cases[i].f32));
        CHECK(got == cases[i].want, "f16(0x%08x) = 0x%04x, want 0x%04x (%s)", cases[i].f32, got,
              cases[i].want, cases[i].why);
    }
    uint16_t nan = t2_dtype_f32_to_f16(from_bits(0x7f800001u));
    CHECK((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0, "f16 of a NaN is 0x%04x", nan);
    CHECK(t2_dtype_f16_to_f32(0x0001) == ldexpf(1.0f, -24), "f16 smallest subnormal");
    CHECK(t2_dtype_f16_to_f32(0x03ff) == 1023.0f * ldexpf(1.0f, -24), "f16 largest subnormal");
    CHECK(t2_dtype_f16_to_f32(0x7bff) == 65504.0f, "f16 max");
    CHECK(t2_dtype_f16_to_f32(0x3555) == 0.333251953125f, "f16 1/3");
    CHECK(isinf(t2_dtype_f16_to_f32(0xfc00)) && t2_dtype_f16_to_f32(0xfc00) < 0, "f16 -inf");
    CHECK(isnan(t2_dtype_f16_to_f32(0x7e00)), "f16 NaN");
    CHECK(signbit(t2_dtype_f16_to_f32(0x8000)) && t2_dtype_f16_to_f32(0x8000) == 0.0f, "f16 -0");
    for (uint32_t h = 0; h < 65536; h++) {
        float f = t2_dtype_f16_to_f32((uint16_t)h);
        uint16_t back = t2_dtype_f32_to_f16(f);
        if (isnan(f)) {
            CHECK(isnan(t2_dtype_f16_to_f32(back)), "f16 NaN 0x%04x lost", h);
        } else {
            CHECK(back == h, "f16 0x%04x -> %g -> 0x%04x", h, f, back);
        }
    }
}

static void test_dtype_names(void) {
    static const char *names[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "U8"};
    static const size_t sizes[] = {4, 2, 2, 8, 8, 4, 1};
    for (int i = 0; i < 7; i++) {
        t2_dtype d;
        CHECK(t2_dtype_from_name(names[i], &d) == 0 && d == (t2_dtype)i, "dtype %s", names[i]);
        CHECK(strcmp(t2_dtype_name((t2_dtype)i), names[i]) == 0, "name of %d", i);
        CHECK(t2_dtype_size((t2_dtype)i) == sizes[i], "size of %s", names[i]);
    }
    t2_dtype d;
    CHECK(t2_dtype_from_name("f32", &d) == -1 && t2_dtype_from_name("Q4_0", &d) == -1,
          "unknown dtype names are rejected");
}

/* Values that exercise rounding, subnormals and the specials in every dtype. */
static const float special[] = {1.0f, -2.5f, 0.1f, 1e-8f, 65520.0f, 3.0e38f, 0.0f, -0.0f,
                                1.00048828125f, 6.0e-8f};
enum { N_SPECIAL = sizeof special / sizeof special[0] };

static void test_round_trip(void) {
    char *dir = t2_check_temp_dir("safetensors");
    size_t n = strlen(dir) + 32;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/t.safetensors", dir);
    float matrix[6 * 7], extra[N_SPECIAL + 2];
    for (int i = 0; i < 42; i++) matrix[i] = (float)i * 0.37f - 5.0f;
    memcpy(extra, special, sizeof special);
    extra[N_SPECIAL] = INFINITY;
    extra[N_SPECIAL + 1] = NAN;
    float scalar = 42.5f;
    static const t2_dtype dtypes[] = {T2_DTYPE_F32, T2_DTYPE_F16, T2_DTYPE_BF16};
    int64_t shape_m[2] = {6, 7}, shape_e[1] = {N_SPECIAL + 2}, shape_empty[2] = {0, 3};
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "z.matrix.%s", t2_dtype_name(dtypes[k]));
        t2_safetensors_writer_add(&w, name, dtypes[k], 2, shape_m, matrix);
        snprintf(name, sizeof name, "a.special.%s", t2_dtype_name(dtypes[k]));
        t2_safetensors_writer_add(&w, name, dtypes[k], 1, shape_e, extra);
    }
    t2_safetensors_writer_add(&w, "m.scalar", T2_DTYPE_F32, 0, NULL, &scalar);
    t2_safetensors_writer_add(&w, "m.empty", T2_DTYPE_BF16, 2, shape_empty, NULL);
    t2_safetensors_writer_add_metadata(&w, "format", "np");
    t2_safetensors_writer_add_metadata(&w, "format", "pt"); /* replaces */
    t2_safetensors_writer_add_metadata(&w, "origin", "test");
    t2_error err = {{0}};
    CHECK(t2_safetensors_writer_write(&w, path, &err) == 0, "%s", err.msg);
    t2_safetensors_writer_free(&w);
    t2_safetensors_writer_free(&w); /* may run twice */

    /* The raw layout: header length a multiple of 8, padded with spaces, little-endian. */
    char *raw = NULL;
    size_t raw_len = 0;
    CHECK(t2_file_read(path, &raw, &raw_len, &err) == 0, "%s", err.msg);
    uint64_t header_len;
    memcpy(&header_len, raw, 8);
    CHECK(header_len % 8 == 0 && header_len + 8 <= raw_len, "header length %llu",
          (unsigned long long)header_len);
    CHECK(raw[8] == '{' && (raw[8 + header_len - 1] == ' ' || raw[8 + header_len - 1] == '}'),
          "header is a JSON object padded with spaces");
    size_t data_bytes = 4 + 42 * 4 + 2 * 42 * 2 + (N_SPECIAL + 2) * 4 + 2 * (N_SPECIAL + 2) * 2;
    CHECK(raw_len == 8 + header_len + data_bytes, "file is %zu bytes, want %zu", raw_len,
          (size_t)(8 + header_len + data_bytes));
    t2_free(raw);

    t2_safetensors st;
    CHECK(t2_safetensors_open(&st, path, &err) == 0, "%s", err.msg);
    CHECK(st.n_tensors == 8 && st.n_files == 1 && st.index_path == NULL, "%d tensors",
          st.n_tensors);
    for (int i = 1; i < st.n_tensors; i++) {
        CHECK(strcmp(st.tensors[i - 1].name, st.tensors[i].name) < 0, "sorted by name");
        CHECK(st.tensors[i - 1].data <= st.tensors[i].data, "data in name order");
    }
    CHECK(strcmp(t2_safetensors_metadata(&st, "format"), "pt") == 0, "metadata format");
    CHECK(strcmp(t2_safetensors_metadata(&st, "origin"), "test") == 0, "metadata origin");
    CHECK(t2_safetensors_metadata(&st, "absent") == NULL, "absent metadata");
    CHECK(t2_safetensors_find(&st, "absent") == NULL, "absent tensor");
    float got[64];
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "z.matrix.%s", t2_dtype_name(dtypes[k]));
        const t2_tensor_info *t = t2_safetensors_find(&st, name);
        CHECK(t != NULL && t->dtype == dtypes[k] && t->n_dims == 2 && t->shape[0] == 6 &&
              t->shape[1] == 7 && t->n_elements == 42, "%s header", name);
        if (t == NULL) continue;
        float want[42];
        for (int i = 0; i < 42; i++)
            want[i] = k == 0   ? matrix[i]
                      : k == 1 ? t2_dtype_f16_to_f32(t2_dtype_f32_to_f16(matrix[i]))
                               : t2_dtype_bf16_to_f32(t2_dtype_f32_to_bf16(matrix[i]));
        CHECK(t2_safetensors_read_f32(t, 0, 42, got, &err) == 0, "%s", err.msg);
        t2_check_close(name, got, want, 42, 0.0, 0.0);
        CHECK(t2_safetensors_read_f32(t, 14, 7, got, &err) == 0, "%s", err.msg); /* row 2 */
        t2_check_close("row slice", got, want + 14, 7, 0.0, 0.0);
        CHECK(t2_safetensors_read_f32(t, 40, 3, got, &err) == -1 &&
              strstr(err.msg, "outside its 42 elements") != NULL, "range past the end: '%s'",
              err.msg);
    }
    /* The specials in each dtype (worked out by hand; cross-checked once with torch). */
    static const float want_f16[N_SPECIAL] = {1.0f, -2.5f, 0.0999755859375f, 0.0f, INFINITY,
                                              INFINITY, 0.0f, -0.0f, 1.0f, 5.9604644775390625e-8f};
    static const float want_bf16[N_SPECIAL] = {1.0f, -2.5f, 0.10009765625f,
                                               1.0011717677116394e-08f, 65536.0f,
                                               3.00405527047391e+38f, 0.0f, -0.0f, 1.0f,
                                               6.007030606269836e-08f};
    const char *special_names[] = {"a.special.F32", "a.special.F16", "a.special.BF16"};
    const float *special_want[] = {special, want_f16, want_bf16};
    for (int k = 0; k < 3; k++) {
        const t2_tensor_info *t = t2_safetensors_find(&st, special_names[k]);
        CHECK(t != NULL, "%s present", special_names[k]);
        if (t == NULL) continue;
        CHECK(t2_safetensors_read_f32(t, 0, N_SPECIAL + 2, got, &err) == 0, "%s", err.msg);
        for (int i = 0; i < N_SPECIAL; i++) /* bitwise: inf == inf, -0 != 0 */
            CHECK(to_bits(got[i]) == to_bits(special_want[k][i]), "%s[%d] = %.9g, want %.9g",
                  special_names[k], i, got[i], special_want[k][i]);
        CHECK(isinf(got[N_SPECIAL]) && got[N_SPECIAL] > 0, "%s inf", special_names[k]);
        CHECK(isnan(got[N_SPECIAL + 1]), "%s NaN", special_names[k]);
    }
    const t2_tensor_info *s = t2_safetensors_find(&st, "m.scalar");
    CHECK(s != NULL && s->n_dims == 0 && s->n_elements == 1 &&
              t2_safetensors_read_f32(s, 0, 1, got, &err) == 0 && got[0] == 42.5f,
          "scalar");
    const t2_tensor_info *e = t2_safetensors_find(&st, "m.empty");
    CHECK(e != NULL && e->n_elements == 0 && e->n_bytes == 0, "empty tensor");
    t2_safetensors_close(&st);
    t2_safetensors_close(&st); /* may run twice */
    remove(path);

    /* Writer errors leave nothing behind. */
    t2_safetensors_writer_init(&w);
    t2_safetensors_writer_add(&w, "x", T2_DTYPE_F32, 2, shape_m, matrix);
    t2_safetensors_writer_add(&w, "x", T2_DTYPE_F16, 2, shape_m, matrix);
    CHECK(t2_safetensors_writer_write(&w, path, &err) == -1 &&
          strstr(err.msg, "tensor 'x' added twice") != NULL, "duplicate: '%s'", err.msg);
    CHECK(fopen(path, "rb") == NULL, "no file after a failed write");
    t2_safetensors_writer_free(&w);
    t2_safetensors_writer_init(&w);
    t2_safetensors_writer_add(&w, "x", T2_DTYPE_F32, 2, shape_m, matrix);
    CHECK(t2_safetensors_writer_write(&w, "/nonexistent-dir/t.safetensors", &err) == -1 &&
          strstr(err.msg, "/nonexistent-dir/t.safetensors: cannot write") != NULL,
          "unwritable path: '%s'", err.msg);
    t2_safetensors_writer_free(&w);
    remove(dir);
    t2_free(path);
    t2_free(dir);
}

int main(void) {
    test_dtype_names();
    test_bf16();
    test_f16();
    test_round_trip();
    return t2_check_exit_code();
}
