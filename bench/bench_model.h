/* The random Llama-family shapes the benchmarks build in memory: one config maker for
 * bench_forward and bench_attention. Header-only. */
#ifndef T2_BENCH_MODEL_H
#define T2_BENCH_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linalg/weight.h"
#include "model/config.h"

/* t2_model_config_llama's config, with tied embeddings when tied. */
static inline t2_model_config bench_model_config(int64_t d, int64_t ffn, int64_t layers,
                                                 int64_t heads, int64_t kv_heads,
                                                 int64_t vocab, int64_t max_positions,
                                                 int tied) {
    t2_model_config cfg =
        t2_model_config_llama(d, ffn, layers, heads, kv_heads, vocab, max_positions);
    cfg.tie_word_embeddings = tied;
    return cfg;
}

/* "F32" / "F16" (a --kv value) into *type: 1, or 0 for another name. */
static inline int bench_kv_type(const char *name, t2_weight_type *type) {
    if (strcmp(name, "F32") != 0 && strcmp(name, "F16") != 0) return 0;
    *type = name[1] == '3' ? T2_WEIGHT_F32 : T2_WEIGHT_F16;
    return 1;
}

/* When argv[*i] is one of the n flags `names` and a value follows: stores it in the flag's
 * *values[k], moves *i onto it and returns 1 if it is > 0. Else 0 (an unknown argument). */
static inline int bench_int_flag(int argc, char **argv, int *i, const char *const *names,
                                 int64_t *const *values, size_t n) {
    for (size_t k = 0; k < n; k++) {
        if (strcmp(argv[*i], names[k]) != 0 || *i + 1 >= argc) continue;
        *values[k] = strtoll(argv[++*i], NULL, 10);
        return *values[k] > 0;
    }
    return 0;
}

/* 0, or -1 with a message from `program` when heads does not divide d or is not a multiple
 * of kv_heads. */
static inline int bench_check_heads(const char *program, int64_t d, int64_t heads,
                                    int64_t kv_heads) {
    if (heads % kv_heads == 0 && d % heads == 0) return 0;
    fprintf(stderr, "%s: heads must divide d and be a multiple of kv-heads\n", program);
    return -1;
}

#endif
