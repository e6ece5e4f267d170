/* `t2 export --format hf` (model/hf_export.h, cmd/export_model.c), run by tests/export.cmake:
 *   test_export_hf make DIR MODEL STORE
 *     writes experts of MODEL whose parameters are far from the initial ones, so every
 *     merged matrix differs visibly from the base: DIR/svf.expert and DIR/code.expert (svf
 *     sigmoid, renormalised, every target of STORE), DIR/linear.expert (svf linear, no
 *     renormalisation) and DIR/lora.expert (rank 2 on q, k and down projections, B nonzero);
 *   test_export_hf check MODEL STORE EXPERT EXPORT F32|BF16|F16
 *     the folder EXPORT against MODEL with EXPERT applied in memory (rl/expert_apply.h; "-":
 *     no expert): every tensor has the dtype asked for and equals the in-memory weight
 *     rounded to it, bit for bit; the logits of a prefill and decode steps on three prompts
 *     agree (F32: within 1e-4; BF16 / F16: the max and mean |difference| and the greedy
 *     agreement over 32 tokens are printed, the figures of docs/export.md); greedy decoding
 *     agrees token for token in F32;
 *   test_export_hf greedy MODEL STORE EXPERT PROMPT N
 *     prints the greedy continuation of PROMPT (plain, as `t2 generate` encodes it) by MODEL
 *     with EXPERT applied in memory, for comparison with `t2 generate` on the export. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/adapter.h"
#include "model/decomposition_store.h"
#include "model/fingerprint.h"
#include "model/forward.h"
#include "model/generate.h"
#include "model/model_dir.h"
#include "model/model_tensors.h"
#include "model/prompt_encoder.h"
#include "rl/expert.h"
#include "rl/expert_apply.h"

enum { CAPACITY = 64, DECODE = 32 };

static char *join(const char *dir, const char *name) { return t2_model_dir_path(dir, name); }

/* ---- make ---------------------------------------------------------------------------- */

static void write_expert(const char *path, const char *name, const t2_adapter_options *o,
                         const char *const *targets, int n, const t2_model_dir *m,
                         const char *model_path, const t2_decomposition_store *store,
                         uint64_t seed) {
    t2_error err = {{0}};
    t2_adapter a;
    CHECK(t2_adapter_init(&a, o, &m->cfg, targets, n, o->method == T2_ADAPTER_SVF ? store : NULL,
                          o->method == T2_ADAPTER_LORA ? &m->weights : NULL, &err) == 0,
          "%s", err.msg);
    float *params = t2_alloc_array((size_t)a.n_params, sizeof *params);
    t2_adapter_init_params(&a, seed, params);
    t2_rng rng;
    t2_rng_init(&rng, seed + 1000);
    for (int t = 0; t < a.n; t++) {
        const t2_adapter_target *tg = &a.targets[t];
        float *p = params + tg->offset;
        if (o->method == T2_ADAPTER_SVF) { /* sigmoid p ~ N(0.1, 0.8²); linear z ~ N(1, 0.3²) */
            float std = o->parametrization == T2_SVF_SIGMOID ? 0.8f : 0.3f;
            for (int64_t i = 0; i < tg->n_params; i++) p[i] += std * t2_rng_normal(&rng);
        } else { /* B (rows x k, after A) ~ N(0, 0.05²) */
            float *b = p + tg->rank * tg->cols;
            for (int64_t i = 0; i < tg->rows * tg->rank; i++) b[i] = 0.05f * t2_rng_normal(&rng);
        }
    }
    char fingerprint[T2_FINGERPRINT_CHARS];
    CHECK(t2_model_fingerprint_dir(model_path, fingerprint, &err) == 0, "%s", err.msg);
    t2_expert e;
    t2_expert_from_adapter(&e, name, "math", &a, params, fingerprint);
    CHECK(t2_expert_write(&e, path, &err) == 0, "%s", err.msg);
    t2_expert_free(&e);
    t2_free(params);
    t2_adapter_free(&a);
}

static void make(const char *dir, const char *model_path, const char *store_path) {
    mkdir(dir, 0755);
    t2_error err = {{0}};
    t2_model_dir m;
    t2_decomposition_store store;
    memset(&store, 0, sizeof store);
    CHECK(t2_model_dir_load(&m, model_path, &err) == 0, "%s", err.msg);
    CHECK(t2_decomposition_store_open(&store, store_path, &err) == 0, "%s", err.msg);
    if (t2_check_exit_code() != 0) exit(1);
    const char *const *all = (const char *const *)store.names;
    t2_adapter_options svf = {.method = T2_ADAPTER_SVF, .parametrization = T2_SVF_SIGMOID,
                              .max_mult = 2.0f, .renormalize = 1};
    t2_adapter_options linear = {.method = T2_ADAPTER_SVF, .parametrization = T2_SVF_LINEAR,
                                 .max_mult = 2.0f, .renormalize = 0};
    t2_adapter_options lora = {.method = T2_ADAPTER_LORA, .lora_rank = 2, .lora_alpha = 4.0f};
    char lora_names[3 * 16][64];
    const char *lora_targets[3 * 16];
    int n_lora = 0;
    for (int64_t l = 0; l < m.cfg.num_hidden_layers && l < 16; l++) {
        static const char *const roles[3] = {"self_attn.q_proj", "self_attn.k_proj",
                                             "mlp.down_proj"};
        for (int r = 0; r < 3; r++) {
            snprintf(lora_names[n_lora], sizeof lora_names[0], "model.layers.%lld.%s.weight",
                     (long long)l, roles[r]);
            lora_targets[n_lora] = lora_names[n_lora];
            n_lora++;
        }
    }
    struct { const char *file, *name; const t2_adapter_options *o; int lora; uint64_t seed; }
    experts[] = {{"svf.expert", "math", &svf, 0, 1}, {"code.expert", "code", &svf, 0, 2},
                 {"linear.expert", "linear", &linear, 0, 3}, {"lora.expert", "lora", &lora, 1, 4}};
    for (size_t i = 0; i < sizeof experts / sizeof experts[0]; i++) {
        char *path = join(dir, experts[i].file);
        write_expert(path, experts[i].name, experts[i].o, experts[i].lora ? lora_targets : all,
                     experts[i].lora ? n_lora : store.n, &m, model_path, &store, experts[i].seed);
        t2_free(path);
    }
    t2_decomposition_store_close(&store);
    t2_model_dir_free(&m);
    printf("experts written to %s\n", dir);
}

/* ---- the reference: the base model with the expert applied in memory ------------------- */

static void load_reference(t2_model_dir *m, const char *model, const char *store,
                           const char *expert) {
    t2_error err = {{0}};
    /* without an expert, the model widened to float32: its logits are float32 arithmetic on
     * every kernel (the BF16 kernels round activations on bfloat16 weights) */
    int plain = strcmp(expert, "-") == 0;
    if ((plain ? t2_model_dir_load_writable(m, model, &err) : t2_model_dir_load(m, model, &err)) !=
        0) {
        CHECK(0, "%s", err.msg);
        exit(t2_check_exit_code());
    }
    if (plain) return;
    t2_expert e;
    CHECK(t2_expert_read(&e, expert, &err) == 0, "%s", err.msg);
    CHECK(t2_expert_apply(&e, expert, m, model, store, &err) == 0, "%s", err.msg);
    t2_expert_free(&e);
    if (t2_check_exit_code() != 0) exit(1);
}

/* ---- check --------------------------------------------------------------------------- */

static float round_to(t2_dtype dtype, float x) {
    if (dtype == T2_DTYPE_BF16) return t2_dtype_bf16_to_f32(t2_dtype_f32_to_bf16(x));
    if (dtype == T2_DTYPE_F16) return t2_dtype_f16_to_f32(t2_dtype_f32_to_f16(x));
    return x;
}

/* Every tensor of the export's files: dtype as asked, values = the reference rounded. */
static void check_tensors(const t2_model_dir *ref, const char *export_dir, t2_dtype dtype) {
    t2_safetensors st;
    t2_error err = {{0}};
    CHECK(t2_safetensors_open(&st, export_dir, &err) == 0, "%s", err.msg);
    t2_model_tensor *tensors = NULL;
    int n = t2_model_tensors_list(&ref->cfg, &ref->weights, &tensors);
    CHECK(st.n_tensors == n, "%s holds %d tensors; expected %d", export_dir, st.n_tensors, n);
    int64_t mismatched = 0, compared = 0;
    for (int i = 0; i < n; i++) {
        const t2_model_tensor *t = &tensors[i];
        const t2_tensor_info *info = t2_safetensors_find(&st, t->name);
        CHECK(info != NULL, "%s: no tensor %s", export_dir, t->name);
        if (info == NULL) continue;
        int64_t count = t->shape[0] * (t->n_dims == 2 ? t->shape[1] : 1);
        CHECK(info->dtype == dtype && info->n_dims == t->n_dims && info->shape[0] == t->shape[0] &&
              (t->n_dims == 1 || info->shape[1] == t->shape[1]),
              "%s: %s is %s of %d dims; expected %s [%lld, %lld]", export_dir, t->name,
              t2_dtype_name(info->dtype), info->n_dims, t2_dtype_name(dtype),
              (long long)t->shape[0], (long long)t->shape[1]);
        if (info->n_elements != count) continue;
        float *got = t2_alloc_array((size_t)count, sizeof *got);
        float *want = t2_alloc_array((size_t)count, sizeof *want);
        CHECK(t2_safetensors_read_f32(info, 0, count, got, &err) == 0, "%s", err.msg);
        t2_weight_widen(want, t->data, 0, count);
        for (int64_t k = 0; k < count; k++) {
            float w = round_to(dtype, want[k]);
            if (memcmp(&w, &got[k], sizeof w) != 0) {
                if (mismatched < 5)
                    CHECK(0, "%s[%lld] = %.9g; expected %.9g (the in-memory weight %.9g as %s)",
                          t->name, (long long)k, got[k], w, want[k], t2_dtype_name(dtype));
                mismatched++;
            }
        }
        compared += count;
        t2_free(want);
        t2_free(got);
    }
    printf("tensors: %d, %lld values compared bitwise, %lld differ\n", n, (long long)compared,
           (long long)mismatched);
    t2_free(tensors);
    t2_safetensors_close(&st);
}

/* A sharded export's index: total_size is the bytes of tensor data, and every tensor is
 * mapped to a shard file that holds it. */
static void check_index(const t2_model_dir *ref, const char *export_dir, t2_dtype dtype) {
    char *path = join(export_dir, "model.safetensors.index.json");
    json_t *index = json_load_file(path, 0, NULL);
    t2_free(path);
    if (index == NULL) return; /* one file */
    t2_model_tensor *tensors = NULL;
    int n = t2_model_tensors_list(&ref->cfg, &ref->weights, &tensors);
    int64_t total = 0;
    const json_t *map = json_object_get(index, "weight_map");
    CHECK(json_object_size(map) == (size_t)n, "weight_map has %zu entries; expected %d",
          json_object_size(map), n);
    for (int i = 0; i < n; i++) {
        total += t2_model_tensor_bytes(&tensors[i], (int64_t)t2_dtype_size(dtype));
        const char *file = json_string_value(json_object_get(map, tensors[i].name));
        CHECK(file != NULL, "weight_map lacks %s", tensors[i].name);
        if (file == NULL) continue;
        char *shard = join(export_dir, file);
        t2_safetensors st;
        t2_error err = {{0}};
        CHECK(t2_safetensors_open(&st, shard, &err) == 0, "%s", err.msg);
        CHECK(t2_safetensors_find(&st, tensors[i].name) != NULL, "%s does not hold %s", file,
              tensors[i].name);
        t2_safetensors_close(&st);
        t2_free(shard);
    }
    json_int_t got = json_integer_value(json_object_get(json_object_get(index, "metadata"),
                                                        "total_size"));
    CHECK(got == total, "total_size %lld; expected %lld", (long long)got, (long long)total);
    printf("index: %d tensors mapped, total_size %lld\n", n, (long long)total);
    t2_free(tensors);
    json_decref(index);
}

/* Logits of a prompt's prefill (all rows) and DECODE greedy steps, each step feeding the
 * token `feed` gives (the model's own argmax when feed is NULL); the argmaxes in *picked. */
static float *run(const t2_model_dir *m, const int32_t *prompt, int64_t n_prompt,
                  const int32_t *feed, int32_t *picked) {
    int64_t vocab = m->cfg.vocab_size, rows = n_prompt + DECODE;
    float *logits = t2_alloc_array((size_t)(rows * vocab), sizeof *logits);
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &m->cfg, &m->weights, n_prompt, CAPACITY);
    t2_kv_cache_init(&cache, &m->cfg, 1, CAPACITY);
    t2_error err = {{0}};
    t2_forward_seq seq = {0, n_prompt, prompt, 0};
    CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_ALL, logits, &err) == 0, "%s",
          err.msg);
    for (int64_t s = 0; s < DECODE; s++) {
        const float *last = logits + (n_prompt + s - 1) * vocab;
        int32_t best = 0;
        for (int64_t v = 1; v < vocab; v++)
            if (last[v] > last[best]) best = (int32_t)v;
        picked[s] = best;
        int32_t next = feed != NULL ? feed[s] : best;
        seq = (t2_forward_seq){0, 1, &next, 0};
        CHECK(t2_forward_run(&f, &cache, &seq, 1, T2_FORWARD_LOGITS_LAST,
                             logits + (n_prompt + s) * vocab, &err) == 0, "%s", err.msg);
    }
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    return logits;
}

static const char *const prompts[] = {"Q: 2+3=", "What is 7 times 8?", "The cat sat on"};

static void check_logits(const t2_model_dir *ref, const t2_model_dir *exp, t2_dtype dtype) {
    double worst = 0.0, sum = 0.0, sum_sq = 0.0;
    int64_t count = 0, agree = 0, total = 0;
    for (size_t p = 0; p < sizeof prompts / sizeof prompts[0]; p++) {
        int32_t *ids = NULL;
        int64_t n = t2_tokenizer_encode(ref->tok, prompts[p], strlen(prompts[p]), &ids);
        int32_t ref_picks[DECODE], exp_picks[DECODE];
        /* the export decodes along the reference's tokens, so the rows compare like with like */
        float *want = run(ref, ids, n, NULL, ref_picks);
        float *got = run(exp, ids, n, ref_picks, exp_picks);
        int64_t values = (n + DECODE) * ref->cfg.vocab_size;
        for (int64_t i = 0; i < values; i++) {
            double e = fabs((double)got[i] - want[i]);
            worst = e > worst ? e : worst;
            sum += e;
            sum_sq += (double)want[i] * want[i];
        }
        count += values;
        int64_t same = 0; /* greedy agreement: the first DECODE picks until they part */
        while (same < DECODE && exp_picks[same] == ref_picks[same]) same++;
        agree += same;
        total += DECODE;
        if (dtype == T2_DTYPE_F32)
            CHECK(same == DECODE, "prompt '%s': greedy tokens part at step %lld (%d against %d)",
                  prompts[p], (long long)same, exp_picks[same < DECODE ? same : 0],
                  ref_picks[same < DECODE ? same : 0]);
        t2_free(got);
        t2_free(want);
        t2_free(ids);
    }
    printf("logits (%s export against the expert applied in memory): max |diff| %.3g, mean "
           "|diff| %.3g over %lld values (rms of the logits %.3g); greedy agreement %lld/%lld "
           "tokens\n", t2_dtype_name(dtype), worst, sum / (double)count, (long long)count,
           sqrt(sum_sq / (double)count), (long long)agree, (long long)total);
    if (dtype == T2_DTYPE_F32) CHECK(worst <= 1e-4, "max |logit diff| %.3g > 1e-4", worst);
}

static int check(const char *model, const char *store, const char *expert, const char *dir,
                 const char *dtype_name) {
    t2_dtype dtype;
    CHECK(t2_dtype_from_name(dtype_name, &dtype) == 0, "bad dtype %s", dtype_name);
    t2_model_dir ref, exp;
    t2_error err = {{0}};
    load_reference(&ref, model, store, expert);
    if (t2_model_dir_load(&exp, dir, &err) != 0) {
        CHECK(0, "%s", err.msg);
        t2_model_dir_free(&exp);
        t2_model_dir_free(&ref);
        return t2_check_exit_code();
    }
    check_tensors(&ref, dir, dtype);
    check_index(&ref, dir, dtype);
    check_logits(&ref, &exp, dtype);
    t2_model_dir_free(&exp);
    t2_model_dir_free(&ref);
    return t2_check_exit_code();
}

/* ---- greedy -------------------------------------------------------------------------- */

static int greedy(const char *model, const char *store, const char *expert, const char *prompt,
                  int64_t n) {
    t2_model_dir m;
    t2_error err = {{0}};
    load_reference(&m, model, store, expert);
    t2_prompt_settings settings = {(char *)"plain", 1, NULL};
    t2_prompt_encoder enc;
    CHECK(t2_prompt_encoder_init(&enc, m.tok, &m.tok_config, &settings, &err) == 0, "%s",
          err.msg);
    int32_t *ids = NULL;
    int64_t n_ids = t2_prompt_encoder_encode(&enc, prompt, &ids);
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, &m.cfg, &m.weights, n_ids, n_ids + n);
    t2_kv_cache_init(&cache, &m.cfg, 1, n_ids + n);
    t2_generate_params params = {.max_new_tokens = n, .sampler = {0.0f, 0, 1.0f},
                                 .eos_ids = m.cfg.eos_token_ids,
                                 .n_eos_ids = m.cfg.n_eos_token_ids};
    t2_generation out;
    const int32_t *list[1] = {ids};
    CHECK(t2_generate_run(&f, &cache, m.tok, list, &n_ids, 1, &params, &out, NULL, NULL, &err) ==
              0, "%s", err.msg);
    fwrite(out.text, 1, out.text_len, stdout);
    t2_generate_free(&out, 1);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    t2_free(ids);
    t2_prompt_encoder_free(&enc);
    t2_model_dir_free(&m);
    return t2_check_exit_code() == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    t2_blis_setup(0, 1);
    if (argc == 5 && strcmp(argv[1], "make") == 0) {
        make(argv[2], argv[3], argv[4]);
        return t2_check_exit_code();
    }
    if (argc == 7 && strcmp(argv[1], "check") == 0)
        return check(argv[2], argv[3], argv[4], argv[5], argv[6]);
    if (argc == 7 && strcmp(argv[1], "greedy") == 0)
        return greedy(argv[2], argv[3], argv[4], argv[5], atoll(argv[6]));
    fprintf(stderr, "usage: test_export_hf make DIR MODEL STORE | check MODEL STORE EXPERT "
                    "EXPORT DTYPE | greedy MODEL STORE EXPERT PROMPT N\n");
    return 2;
}
