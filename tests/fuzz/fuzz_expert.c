/* Fuzz target: expert files (rl/expert.c t2_expert_unpack: the checksum seal, the ExpertSet
 * message, and every field's validation). Every input is tried as it is and resealed
 * (t2_fuzz_try_resealed), so mutations reach the checks behind the checksum. An accepted expert
 * is packed again and must unpack to the same expert (t2 bundle and dist/ send experts as
 * these bytes).
 * Seeds: tests/fuzz/corpus/expert/ (tests/fuzz/make_seeds.c: SVF and LoRA experts). */
#include <string.h>

#include "base/alloc.h"
#include "harness.h"
#include "rl/expert.h"

static int same_expert(const t2_expert *a, const t2_expert *b) {
    if (strcmp(a->name, b->name) != 0 || strcmp(a->task, b->task) != 0 ||
        strcmp(a->config, b->config) != 0 ||
        strcmp(a->model_fingerprint, b->model_fingerprint) != 0 || a->n != b->n ||
        a->n_params != b->n_params || a->options.method != b->options.method)
        return 0;
    /* compared as numbers: protobuf writes no zero, so -0.0 comes back as 0.0 */
    const t2_expert_summary *x = &a->summary, *y = &b->summary;
    if (x->steps != y->steps || x->best_step != y->best_step ||
        x->best_val_accuracy != y->best_val_accuracy || x->val_samples != y->val_samples ||
        x->wall_seconds != y->wall_seconds || x->tokens != y->tokens || x->ranks != y->ranks)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->tensors[i], b->tensors[i]) != 0 || a->rows[i] != b->rows[i] ||
            a->cols[i] != b->cols[i] || a->offsets[i] != b->offsets[i] ||
            a->lengths[i] != b->lengths[i])
            return 0;
    return memcmp(a->params, b->params, (size_t)a->n_params * sizeof *a->params) == 0;
}

static void try_bytes(const unsigned char *bytes, size_t len) {
    t2_error err = {{0}};
    t2_expert e, back;
    if (t2_expert_unpack(&e, bytes, len, "fuzz.expert", &err) == 0) {
        char options[256];
        t2_expert_options_string(&e.options, options, sizeof options);
        t2_expert_check_model(&e, "0123456789abcdef", "model", "fuzz.expert", &err);
        unsigned char *packed;
        size_t packed_len;
        t2_expert_pack(&e, &packed, &packed_len);
        t2_fuzz_require(t2_expert_unpack(&back, packed, packed_len, "packed", &err) == 0,
                        err.msg);
        t2_fuzz_require(same_expert(&e, &back), "expert packed and unpacked differs");
        t2_expert_free(&back);
        t2_free(packed);
    }
    t2_expert_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    try_bytes(data, size);
    t2_fuzz_try_resealed(data, size, try_bytes);
    return 0;
}
