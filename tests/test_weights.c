/* Model weights: slab layout and views, reproducible random initialisation, save -> load
 * round trips (F32 exact, BF16 rounded), tied embeddings (an lm_head in the file is ignored),
 * qwen2 and llama biases, and the errors of t2_model_weights_check. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "model/weights.h"

static t2_model_config small_config(const char *model_type, int tie, int bias) {
    t2_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.model_type, sizeof cfg.model_type, "%s", model_type);
    cfg.hidden_size = 32;
    cfg.intermediate_size = 48;
    cfg.num_hidden_layers = 3;
    cfg.num_attention_heads = 4;
    cfg.num_key_value_heads = 2;
    cfg.head_dim = 8;
    cfg.vocab_size = 50;
    cfg.max_position_embeddings = 64;
    cfg.rms_norm_eps = 1e-5f;
    cfg.rope_theta = 10000.0;
    cfg.tie_word_embeddings = tie;
    cfg.attention_bias = bias;
    cfg.bos_token_id = -1;
    return cfg;
}

typedef struct visit_log {
    int n;
    int64_t elements;
    char first[96], last[96];
} visit_log;

static void log_tensor(void *ctx, const char *name, int n_dims, const int64_t *shape,
                       float *data) {
    visit_log *log = ctx;
    int64_t n = 1;
    for (int d = 0; d < n_dims; d++) n *= shape[d];
    log->elements += n;
    if (log->n++ == 0) snprintf(log->first, sizeof log->first, "%s", name);
    snprintf(log->last, sizeof log->last, "%s", name);
    CHECK(data != NULL, "%s has no data", name);
}

static void test_layout(void) {
    t2_model_config configs[3] = {small_config("llama", 0, 0), small_config("qwen2", 1, 1),
                                  small_config("llama", 0, 1)};
    for (int c = 0; c < 3; c++) {
        const t2_model_config *cfg = &configs[c];
        t2_model_weights w;
        t2_model_weights_init(&w, cfg);
        visit_log log = {0};
        t2_model_weights_visit(&w, cfg, log_tensor, &log);
        CHECK(log.elements == t2_model_config_param_count(cfg), "config %d: %lld visited, %lld "
              "implied", c, (long long)log.elements, (long long)t2_model_config_param_count(cfg));
        CHECK(strcmp(log.first, "model.embed_tokens.weight") == 0, "first tensor %s", log.first);
        CHECK(strcmp(log.last, cfg->tie_word_embeddings ? "model.norm.weight" : "lm_head.weight")
                  == 0, "last tensor %s", log.last);
        CHECK((w.lm_head.f32 == w.embed.f32) == (cfg->tie_word_embeddings != 0), "tied lm_head view");
        for (int64_t l = 0; l < cfg->num_hidden_layers; l++) {
            const t2_layer_weights *lw = &w.layers[l];
            CHECK((lw->bq != NULL) == (cfg->attention_bias != 0) &&
                  (lw->bk != NULL) == (cfg->attention_bias != 0) &&
                  (lw->bv != NULL) == (cfg->attention_bias != 0), "config %d: q/k/v biases", c);
            CHECK((lw->bo != NULL) == (c == 2), "config %d: o_proj bias only for llama", c);
            CHECK(((uintptr_t)lw->wq.f32 % 64) == 0 && ((uintptr_t)lw->w_down.f32 % 64) == 0,
                  "views are 64-byte aligned");
        }
        CHECK(w.slab_floats >= log.elements, "slab holds every tensor");
        t2_model_weights_free(&w);
        t2_model_weights_free(&w); /* may run twice */
    }
}

static void test_init_random(void) {
    t2_model_config cfg = small_config("qwen2", 0, 1);
    t2_model_weights a, b, c;
    t2_model_weights_init(&a, &cfg);
    t2_model_weights_init(&b, &cfg);
    t2_model_weights_init(&c, &cfg);
    t2_model_weights_init_random(&a, &cfg, 7, 0.02f);
    t2_model_weights_init_random(&b, &cfg, 7, 0.02f);
    t2_model_weights_init_random(&c, &cfg, 8, 0.02f);
    size_t bytes = (size_t)a.slab_floats * sizeof(float);
    CHECK(memcmp(a.slab, b.slab, bytes) == 0, "the same seed gives the same weights");
    CHECK(memcmp(a.slab, c.slab, bytes) != 0, "another seed gives other weights");
    /* The fixed order starts with the embeddings: their first value is the stream's first. */
    t2_rng rng;
    t2_rng_init(&rng, 7);
    float first = 0.02f * t2_rng_normal(&rng);
    CHECK(a.embed.f32[0] == first, "embed[0] = %g, want the first draw %g", a.embed.f32[0], first);
    for (int64_t i = 0; i < cfg.hidden_size; i++)
        CHECK(a.layers[1].input_norm[i] == 1.0f && a.final_norm[i] == 1.0f, "norms are 1");
    double sum = 0.0, sum2 = 0.0;
    int64_t n = cfg.vocab_size * cfg.hidden_size;
    for (int64_t i = 0; i < n; i++) {
        sum += a.embed.f32[i];
        sum2 += (double)a.embed.f32[i] * a.embed.f32[i];
    }
    double mean = sum / (double)n, sd = sqrt(sum2 / (double)n - mean * mean);
    CHECK(fabs(mean) < 0.002 && fabs(sd - 0.02) < 0.002, "embed mean %g sd %g, want 0 and 0.02",
          mean, sd);
    CHECK(a.layers[2].bv[0] != 0.0f, "biases are drawn");
    t2_model_weights_free(&a);
    t2_model_weights_free(&b);
    t2_model_weights_free(&c);
}

/* How save() alters the model on its way to disk. */
typedef struct save_plan {
    t2_safetensors_writer *writer;
    t2_dtype dtype;
    const char *skip;    /* leave this tensor out, or NULL */
    const char *shrink;  /* write this tensor one row short, or NULL */
} save_plan;

static void add_planned(void *ctx, const char *name, int n_dims, const int64_t *shape,
                        float *data) {
    const save_plan *plan = ctx;
    if (plan->skip != NULL && strcmp(name, plan->skip) == 0) return;
    int64_t written[2] = {shape[0], n_dims > 1 ? shape[1] : 0};
    if (plan->shrink != NULL && strcmp(name, plan->shrink) == 0) written[0]--;
    t2_safetensors_writer_add(plan->writer, name, plan->dtype, n_dims, written, data);
}

/* Writes w to dir/model.safetensors as the plan says; returns the path (t2_free). When
 * extra_lm_head is set, an lm_head.weight of nines is added too. */
static char *save(const t2_model_weights *w, const t2_model_config *cfg, const char *dir,
                  save_plan plan, const float *extra_lm_head) {
    size_t n = strlen(dir) + 32;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/model.safetensors", dir);
    t2_safetensors_writer writer;
    t2_safetensors_writer_init(&writer);
    plan.writer = &writer;
    t2_model_weights_visit(w, cfg, add_planned, &plan);
    int64_t shape[2] = {cfg->vocab_size, cfg->hidden_size};
    if (extra_lm_head != NULL)
        t2_safetensors_writer_add(&writer, "lm_head.weight", T2_DTYPE_F32, 2, shape,
                                  extra_lm_head);
    t2_error err = {{0}};
    CHECK(t2_safetensors_writer_write(&writer, path, &err) == 0, "%s", err.msg);
    t2_safetensors_writer_free(&writer);
    return path;
}

/* Saves, reopens and loads; returns 0 and fills `back` (initialised) on success. */
static int reload(const char *path, const t2_model_config *cfg, t2_model_weights *back,
                  t2_error *err) {
    t2_safetensors st;
    t2_model_weights_init(back, cfg);
    if (t2_safetensors_open(&st, path, err) != 0) return -1;
    int status = t2_model_weights_load(back, cfg, &st, err);
    t2_safetensors_close(&st);
    return status;
}

static void test_save_load(void) {
    char *dir = t2_check_temp_dir("weights");
    t2_error err = {{0}};
    t2_model_config configs[3] = {small_config("llama", 0, 0), small_config("qwen2", 1, 1),
                                  small_config("llama", 0, 1)};
    for (int c = 0; c < 3; c++) {
        const t2_model_config *cfg = &configs[c];
        t2_model_weights w, back;
        t2_model_weights_init(&w, cfg);
        t2_model_weights_init_random(&w, cfg, 100 + (uint64_t)c, 0.5f);
        char *path = save(&w, cfg, dir, (save_plan){.dtype = T2_DTYPE_F32}, NULL);
        CHECK(reload(path, cfg, &back, &err) == 0, "%s", err.msg);
        CHECK(back.slab_floats == w.slab_floats &&
              memcmp(back.slab, w.slab, (size_t)w.slab_floats * sizeof(float)) == 0,
              "config %d: F32 save -> load is exact", c);
        t2_model_weights_free(&back);

        t2_free(path);
        path = save(&w, cfg, dir, (save_plan){.dtype = T2_DTYPE_BF16}, NULL);
        CHECK(reload(path, cfg, &back, &err) == 0, "%s", err.msg);
        int64_t bad = 0;
        for (int64_t i = 0; i < w.slab_floats; i++)
            bad += back.slab[i] != t2_dtype_bf16_to_f32(t2_dtype_f32_to_bf16(w.slab[i]));
        CHECK(bad == 0, "config %d: %lld values differ from their bf16 rounding", c,
              (long long)bad);
        t2_model_weights_free(&back);
        t2_free(path);
        t2_model_weights_free(&w);
    }
    CHECK(t2_check_remove_tree(dir) == 0, "cannot remove %s", dir);
    t2_free(dir);
}

static void test_tied_ignores_lm_head(void) {
    char *dir = t2_check_temp_dir("weights-tied");
    t2_model_config cfg = small_config("qwen2", 1, 1);
    t2_model_weights w, back;
    t2_model_weights_init(&w, &cfg);
    t2_model_weights_init_random(&w, &cfg, 3, 0.1f);
    float *nines = t2_alloc_array((size_t)(cfg.vocab_size * cfg.hidden_size), sizeof *nines);
    for (int64_t i = 0; i < cfg.vocab_size * cfg.hidden_size; i++) nines[i] = 9.0f;
    char *path = save(&w, &cfg, dir, (save_plan){.dtype = T2_DTYPE_F32}, nines);
    t2_error err = {{0}};
    CHECK(reload(path, &cfg, &back, &err) == 0, "%s", err.msg);
    CHECK(back.lm_head.f32 == back.embed.f32 && back.embed.f32[0] == w.embed.f32[0] && back.embed.f32[0] != 9.0f,
          "a tied model takes lm_head from the embeddings, not the file's lm_head.weight");
    t2_model_weights_free(&back);
    remove(path);
    remove(dir);
    t2_free(path);
    t2_free(dir);
    t2_free(nines);
    t2_model_weights_free(&w);
}

/* check() and load() on a file the plan damaged must both fail with want in the message. */
static void expect_check_error(save_plan plan, const char *want_tail) {
    char *dir = t2_check_temp_dir("weights-bad");
    t2_model_config cfg = small_config("llama", 0, 0);
    t2_model_weights w, back;
    t2_model_weights_init(&w, &cfg);
    char *path = save(&w, &cfg, dir, plan, NULL);
    t2_safetensors st;
    t2_error err = {{0}};
    CHECK(t2_safetensors_open(&st, path, &err) == 0, "%s", err.msg);
    char want[512];
    snprintf(want, sizeof want, "%s: %s", path, want_tail);
    CHECK(t2_model_weights_check(&cfg, &st, &err) == -1 && strcmp(err.msg, want) == 0,
          "check said '%s'; want '%s'", err.msg, want);
    t2_safetensors_close(&st);
    memset(&err, 0, sizeof err);
    CHECK(reload(path, &cfg, &back, &err) == -1 && strcmp(err.msg, want) == 0,
          "load said '%s'; want '%s'", err.msg, want);
    t2_model_weights_free(&back);
    t2_model_weights_free(&w);
    remove(path);
    remove(dir);
    t2_free(path);
    t2_free(dir);
}

static void test_check_errors(void) {
    const char *up = "model.layers.2.mlp.up_proj.weight";
    const char *k = "model.layers.1.self_attn.k_proj.weight";
    expect_check_error((save_plan){.dtype = T2_DTYPE_F32, .skip = up},
                       "missing tensor 'model.layers.2.mlp.up_proj.weight'; expected by "
                       "config.json (num_hidden_layers = 3)");
    expect_check_error((save_plan){.dtype = T2_DTYPE_F32, .skip = "lm_head.weight"},
                       "missing tensor 'lm_head.weight'; expected by config.json "
                       "(tie_word_embeddings = false)");
    expect_check_error((save_plan){.dtype = T2_DTYPE_F16, .shrink = k},
                       "tensor 'model.layers.1.self_attn.k_proj.weight' has shape [15, 32]; "
                       "expected [16, 32] from config.json");
    expect_check_error((save_plan){.dtype = T2_DTYPE_F32, .shrink = "model.norm.weight"},
                       "tensor 'model.norm.weight' has shape [31]; expected [32] from "
                       "config.json");
}

int main(void) {
    test_layout();
    test_init_random();
    test_save_load();
    test_tied_ignores_lm_head();
    test_check_errors();
    return t2_check_exit_code();
}
