/* Small random test models (see model_fixture.h). */
#include "model_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "model/safetensors.h"
#include "model/tokenizer_write.h"

/* Special tokens (ids 256, 257, ...): BOS, EOS, then the markers of the chat formats. */
static const char *const specials[] = {
    "<|bos|>",     "<|eos|>",    "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
    "<|eot_id|>",  "<|im_start|>", "<|im_end|>",      "[INST]",              "[/INST]",
};

static const char *const names[T2_MODEL_FIXTURE_VARIANTS] = {
    "llama", "llama_bias", "qwen2", "mistral_tied", "llama3_rope", "head_dim",
};

const char *t2_model_fixture_name(int i) {
    return i >= 0 && i < T2_MODEL_FIXTURE_VARIANTS ? names[i] : NULL;
}

static int variant_index(const char *variant) {
    for (int i = 0; i < T2_MODEL_FIXTURE_VARIANTS; i++)
        if (strcmp(names[i], variant) == 0) return i;
    return -1;
}

int t2_model_fixture_config(t2_model_config *cfg, const char *variant) {
    int index = variant_index(variant);
    if (index < 0) return -1;
    *cfg = t2_model_config_llama(64, 160, 2, 4, 2, 300, 256);
    cfg->bos_token_id = T2_MODEL_FIXTURE_BOS;
    cfg->eos_token_ids[0] = T2_MODEL_FIXTURE_EOS;
    cfg->n_eos_token_ids = 1;
    if (strcmp(variant, "llama_bias") == 0) {
        cfg->attention_bias = 1;
    } else if (strcmp(variant, "qwen2") == 0) {
        snprintf(cfg->model_type, sizeof cfg->model_type, "qwen2");
        cfg->attention_bias = 1;
        cfg->rms_norm_eps = 1e-6f;
    } else if (strcmp(variant, "mistral_tied") == 0) {
        snprintf(cfg->model_type, sizeof cfg->model_type, "mistral");
        cfg->tie_word_embeddings = 1;
    } else if (strcmp(variant, "llama3_rope") == 0) {
        cfg->rope_theta = 100.0;
        cfg->rope_scaling_llama3 = 1;
        cfg->rope_factor = 8.0;
        cfg->rope_low_freq_factor = 1.0;
        cfg->rope_high_freq_factor = 4.0;
        cfg->rope_original_max_position_embeddings = 64;
    } else if (strcmp(variant, "head_dim") == 0) {
        cfg->head_dim = 32;
    }
    return 0;
}

typedef struct norm_ctx {
    t2_rng rng;
} norm_ctx;

/* Norm weights 1 + N(0, 0.1^2): visited by name, since init_random sets them to 1. */
static void perturb_norm(void *ctx, const char *name, int n_dims, const int64_t *shape,
                         float *data) {
    norm_ctx *c = ctx;
    size_t len = strlen(name), suffix = strlen("norm.weight");
    if (n_dims != 1 || len < suffix || strcmp(name + len - suffix, "norm.weight") != 0) return;
    for (int64_t i = 0; i < shape[0]; i++) data[i] = 1.0f + 0.1f * t2_rng_normal(&c->rng);
}

void t2_model_fixture_weights(t2_model_weights *w, const t2_model_config *cfg,
                              const char *variant) {
    uint64_t seed = 20240 + (uint64_t)variant_index(variant);
    t2_model_weights_init(w, cfg);
    t2_model_weights_init_random(w, cfg, seed, 0.2f);
    norm_ctx ctx;
    t2_rng_init(&ctx.rng, seed + 1000);
    t2_model_weights_visit(w, cfg, perturb_norm, &ctx);
}

void t2_model_fixture_successor(t2_model_config *cfg, t2_model_weights *w) {
    t2_model_fixture_config(cfg, "llama");
    t2_model_weights_init(w, cfg); /* zeroed */
    int64_t d = cfg->hidden_size;
    t2_rng rng;
    t2_rng_init(&rng, 4242);
    for (int64_t i = 0; i < cfg->vocab_size * d; i++) w->embed.f32[i] = t2_rng_normal(&rng);
    for (int64_t v = 1; v < cfg->vocab_size; v++)
        memcpy(w->lm_head.f32 + v * d, w->embed.f32 + (v - 1) * d, (size_t)d * sizeof(float));
    for (int64_t i = 0; i < d; i++) w->final_norm[i] = 1.0f;
    for (int64_t l = 0; l < cfg->num_hidden_layers; l++)
        for (int64_t i = 0; i < d; i++)
            w->layers[l].input_norm[i] = w->layers[l].post_norm[i] = 1.0f;
}

int t2_model_fixture_write(const char *dir, const t2_model_config *cfg,
                           const t2_model_weights *w, t2_error *err) {
    return t2_model_fixture_write_as(dir, cfg, w, T2_DTYPE_F32, err);
}

int t2_model_fixture_write_as(const char *dir, const t2_model_config *cfg,
                              const t2_model_weights *w, t2_dtype dtype, t2_error *err) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return t2_error_set(err, "%s: cannot create directory: %s", dir, strerror(errno));
    size_t len = strlen(dir) + 32;
    char *path = t2_alloc(len);
    snprintf(path, len, "%s/config.json", dir);
    int rc = t2_model_config_write(cfg, path, err);
    if (rc == 0) {
        snprintf(path, len, "%s/tokenizer.json", dir);
        rc = t2_tokenizer_write_byte_level(path, specials, sizeof specials / sizeof specials[0],
                                           err);
    }
    if (rc == 0) {
        t2_safetensors_writer writer;
        t2_safetensors_writer_init(&writer);
        t2_model_weights_add_to_writer(w, cfg, &writer, dtype);
        snprintf(path, len, "%s/model.safetensors", dir);
        rc = t2_safetensors_writer_write(&writer, path, err);
        t2_safetensors_writer_free(&writer);
    }
    t2_free(path);
    return rc;
}

typedef struct sum_ctx {
    double sum, sum_sq;
} sum_ctx;

static void add_sums(void *ctx, const char *name, int n_dims, const int64_t *shape, float *data) {
    sum_ctx *c = ctx;
    int64_t n = 1;
    for (int d = 0; d < n_dims; d++) n *= shape[d];
    for (int64_t i = 0; i < n; i++) {
        c->sum += data[i];
        c->sum_sq += (double)data[i] * data[i];
    }
    (void)name;
}

void t2_model_fixture_fingerprint(const t2_model_weights *w, const t2_model_config *cfg,
                                  double *sum, double *sum_sq) {
    sum_ctx ctx = {0.0, 0.0};
    t2_model_weights_visit(w, cfg, add_sums, &ctx);
    *sum = ctx.sum;
    *sum_sq = ctx.sum_sq;
}
