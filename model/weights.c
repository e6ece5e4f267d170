/* The transformer's float32 weights: one slab with a named view per tensor, filled from a
 * t2_safetensors by Hugging Face names (converting F16/BF16/F64), checked against the config
 * without reading data, randomly initialised, or handed to a safetensors writer.
 * Every operation walks one list of the tensors a config implies, always in the same order
 * (embeddings, then per layer in HF module order, final norm, lm_head), so random
 * initialisation is reproducible and checks and loads agree on names and shapes.
 * Does not run the model (forward code) or parse files (config.c, safetensors.c).
 * Reference: transformers' LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM state
 * dict names. */
#include "model/weights.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/rng.h"

enum { ALIGN_FLOATS = 16 }; /* each tensor starts on a 64-byte boundary of the slab */

typedef enum tensor_kind { KIND_MATRIX, KIND_NORM, KIND_BIAS } tensor_kind;

typedef struct tensor_spec {
    char name[96];        /* HF name */
    int n_dims;           /* 1 or 2 */
    int64_t shape[2];
    int64_t n_elements;
    tensor_kind kind;     /* how init_random fills it */
    float **vector;       /* KIND_NORM, KIND_BIAS: the view in w it fills, or NULL */
    t2_weight *matrix;    /* KIND_MATRIX: the view in w it fills, or NULL */
    char reason[64];      /* the config value that calls for it, for messages */
} tensor_spec;

typedef struct spec_list {
    tensor_spec *items;
    int n, cap;
} spec_list;

/* slot: a t2_weight * for KIND_MATRIX, else a float **; NULL when listing without w. */
static tensor_spec *push(spec_list *list, tensor_kind kind, void *slot, int64_t rows,
                         int64_t cols) {
    if (list->n == list->cap) {
        list->cap = list->cap ? 2 * list->cap : 64;
        list->items = t2_realloc(list->items, (size_t)list->cap * sizeof *list->items);
    }
    tensor_spec *s = &list->items[list->n++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    if (kind == KIND_MATRIX)
        s->matrix = slot;
    else
        s->vector = slot;
    s->n_dims = cols > 0 ? 2 : 1;
    s->shape[0] = rows;
    s->shape[1] = cols;
    s->n_elements = cols > 0 ? rows * cols : rows;
    return s;
}

static void add_global(spec_list *list, const char *name, tensor_kind kind, void *slot,
                       int64_t rows, int64_t cols, const char *reason) {
    tensor_spec *s = push(list, kind, slot, rows, cols);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->reason, sizeof s->reason, "%s", reason);
}

/* One layer's tensor "model.layers.<l>.<suffix>"; cols 0 means a vector. */
static void add_layer(spec_list *list, const t2_model_config *cfg, int64_t l, const char *suffix,
                      tensor_kind kind, void *slot, int64_t rows, int64_t cols,
                      const char *why_bias) {
    tensor_spec *s = push(list, kind, slot, rows, cols);
    snprintf(s->name, sizeof s->name, "model.layers.%lld.%s", (long long)l, suffix);
    if (why_bias != NULL)
        snprintf(s->reason, sizeof s->reason, "%s", why_bias);
    else
        snprintf(s->reason, sizeof s->reason, "num_hidden_layers = %lld",
                 (long long)cfg->num_hidden_layers);
}

/* Every tensor cfg implies, in the fixed order. With w, each slot points at its view. */
static spec_list list_tensors(const t2_model_config *cfg, t2_model_weights *w) {
    spec_list list = {0};
    int64_t d = cfg->hidden_size, ffn = cfg->intermediate_size;
    int64_t q_width = cfg->num_attention_heads * cfg->head_dim;
    int64_t kv_width = cfg->num_key_value_heads * cfg->head_dim;
    int o_bias = t2_model_config_o_proj_bias(cfg);
    const char *why_bias = strcmp(cfg->model_type, "qwen2") == 0 ? "model_type = qwen2"
                                                                   : "attention_bias = true";
    add_global(&list, "model.embed_tokens.weight", KIND_MATRIX, w ? &w->embed : NULL,
               cfg->vocab_size, d, "vocab_size, hidden_size");
    for (int64_t l = 0; l < cfg->num_hidden_layers; l++) {
        t2_layer_weights *lw = w ? &w->layers[l] : NULL;
        add_layer(&list, cfg, l, "input_layernorm.weight", KIND_NORM, lw ? &lw->input_norm : NULL,
                  d, 0, NULL);
        add_layer(&list, cfg, l, "self_attn.q_proj.weight", KIND_MATRIX, lw ? &lw->wq : NULL,
                  q_width, d, NULL);
        if (cfg->attention_bias)
            add_layer(&list, cfg, l, "self_attn.q_proj.bias", KIND_BIAS, lw ? &lw->bq : NULL,
                      q_width, 0, why_bias);
        add_layer(&list, cfg, l, "self_attn.k_proj.weight", KIND_MATRIX, lw ? &lw->wk : NULL,
                  kv_width, d, NULL);
        if (cfg->attention_bias)
            add_layer(&list, cfg, l, "self_attn.k_proj.bias", KIND_BIAS, lw ? &lw->bk : NULL,
                      kv_width, 0, why_bias);
        add_layer(&list, cfg, l, "self_attn.v_proj.weight", KIND_MATRIX, lw ? &lw->wv : NULL,
                  kv_width, d, NULL);
        if (cfg->attention_bias)
            add_layer(&list, cfg, l, "self_attn.v_proj.bias", KIND_BIAS, lw ? &lw->bv : NULL,
                      kv_width, 0, why_bias);
        add_layer(&list, cfg, l, "self_attn.o_proj.weight", KIND_MATRIX, lw ? &lw->wo : NULL, d,
                  q_width, NULL);
        if (o_bias)
            add_layer(&list, cfg, l, "self_attn.o_proj.bias", KIND_BIAS, lw ? &lw->bo : NULL, d,
                      0, why_bias);
        add_layer(&list, cfg, l, "post_attention_layernorm.weight", KIND_NORM,
                  lw ? &lw->post_norm : NULL, d, 0, NULL);
        add_layer(&list, cfg, l, "mlp.gate_proj.weight", KIND_MATRIX, lw ? &lw->w_gate : NULL,
                  ffn, d, NULL);
        add_layer(&list, cfg, l, "mlp.up_proj.weight", KIND_MATRIX, lw ? &lw->w_up : NULL, ffn,
                  d, NULL);
        add_layer(&list, cfg, l, "mlp.down_proj.weight", KIND_MATRIX, lw ? &lw->w_down : NULL, d,
                  ffn, NULL);
    }
    add_global(&list, "model.norm.weight", KIND_NORM, w ? &w->final_norm : NULL, d, 0,
               "hidden_size");
    if (!cfg->tie_word_embeddings)
        add_global(&list, "lm_head.weight", KIND_MATRIX, w ? &w->lm_head : NULL,
                   cfg->vocab_size, d, "tie_word_embeddings = false");
    return list;
}

/* Floats a tensor of n elements takes in a slab: each starts on a 64-byte boundary. */
static int64_t slab_extent(int64_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

/* The float32 storage of a listed tensor (its view must be float32). */
static float *spec_f32(const tensor_spec *s) {
    if (s->kind != KIND_MATRIX) return *s->vector;
    T2_ASSERT(s->matrix->type == T2_WEIGHT_F32);
    return s->matrix->f32;
}

/* Points the view of s at `data` (float32). */
static void spec_point(const tensor_spec *s, float *data) {
    if (s->kind == KIND_MATRIX)
        *s->matrix = t2_weight_of_f32(data);
    else
        *s->vector = data;
}

void t2_model_weights_init(t2_model_weights *w, const t2_model_config *cfg) {
    memset(w, 0, sizeof *w);
    w->layers = t2_alloc_array((size_t)cfg->num_hidden_layers, sizeof *w->layers);
    spec_list list = list_tensors(cfg, w);
    int64_t total = 0;
    for (int i = 0; i < list.n; i++) total += slab_extent(list.items[i].n_elements);
    w->slab_floats = total;
    w->slab = t2_alloc_array_huge(total ? (size_t)total : 1, sizeof *w->slab);
    int64_t offset = 0;
    for (int i = 0; i < list.n; i++) {
        spec_point(&list.items[i], w->slab + offset);
        offset += slab_extent(list.items[i].n_elements);
    }
    if (cfg->tie_word_embeddings) w->lm_head = w->embed;
    t2_free(list.items);
}

/* The file to name when a tensor is missing from st as a whole. */
static const char *source_name(const t2_safetensors *st) {
    if (st->index_path != NULL) return st->index_path;
    return st->n_files > 0 ? st->paths[0] : "safetensors";
}

static int check_tensor(const tensor_spec *s, const t2_safetensors *st, t2_error *err) {
    const t2_tensor_info *t = t2_safetensors_find(st, s->name);
    if (t == NULL)
        return t2_error_set(err, "%s: missing tensor '%s'; expected by config.json (%s)",
                            source_name(st), s->name, s->reason);
    const char *file = st->paths[t->file_index];
    if (t->dtype != T2_DTYPE_F32 && t->dtype != T2_DTYPE_F16 && t->dtype != T2_DTYPE_BF16 &&
        t->dtype != T2_DTYPE_F64)
        return t2_error_set(err, "%s: tensor '%s' has dtype %s; expected F32, F16, BF16 or F64",
                            file, s->name, t2_dtype_name(t->dtype));
    int same = t->n_dims == s->n_dims;
    for (int k = 0; same && k < s->n_dims; k++) same = t->shape[k] == s->shape[k];
    if (!same) {
        char got[256], want[64];
        t2_safetensors_shape_string(got, sizeof got, t->n_dims, t->shape);
        t2_safetensors_shape_string(want, sizeof want, s->n_dims, s->shape);
        return t2_error_set(err, "%s: tensor '%s' has shape %s; expected %s from config.json",
                            file, s->name, got, want);
    }
    return 0;
}

int t2_model_weights_check(const t2_model_config *cfg, const t2_safetensors *st,
                           t2_error *err) {
    spec_list list = list_tensors(cfg, NULL);
    int status = 0;
    for (int i = 0; i < list.n && status == 0; i++) status = check_tensor(&list.items[i], st, err);
    t2_free(list.items);
    return status;
}

/* Widens tensor s of st into `out` (float32). */
static int read_widened(const tensor_spec *s, const t2_safetensors *st, float *out,
                        t2_error *err) {
    const t2_tensor_info *t = t2_safetensors_find(st, s->name);
    int status = t2_safetensors_read_f32(t, 0, s->n_elements, out, err);
    if (status != 0) t2_error_prefix(err, st->paths[t->file_index]);
    return status;
}

int t2_model_weights_load(t2_model_weights *w, const t2_model_config *cfg,
                          const t2_safetensors *st, t2_error *err) {
    T2_ASSERT(w->slab != NULL && w->files == NULL);
    if (t2_model_weights_check(cfg, st, err) != 0) return -1;
    spec_list list = list_tensors(cfg, w);
    int status = 0;
    for (int i = 0; i < list.n && status == 0; i++)
        status = read_widened(&list.items[i], st, spec_f32(&list.items[i]), err);
    t2_free(list.items);
    return status;
}

/* The storage type a matrix of this file dtype keeps when mapped, or -1: copy it into the
 * slab as float32. F32 matrices are copied too: in the slab, laid out as _init lays them,
 * q, k, v and gate, up lie back to back, so the forward and the training pass run them as
 * one product each, and results stay bit for bit those of a model built in memory (the
 * backward's input gradient through [Wq Wk Wv] is one sum, not three). */
static int mapped_type(t2_dtype dtype) {
    switch (dtype) {
    case T2_DTYPE_BF16: return T2_WEIGHT_BF16;
    case T2_DTYPE_F16: return T2_WEIGHT_F16;
    default: return -1;
    }
}

int t2_model_weights_map(t2_model_weights *w, const t2_model_config *cfg, t2_safetensors *st,
                         t2_error *err) {
    memset(w, 0, sizeof *w);
    w->files = t2_alloc(sizeof *w->files);
    *w->files = *st;
    memset(st, 0, sizeof *st);
    w->layers = t2_alloc_array((size_t)cfg->num_hidden_layers, sizeof *w->layers);
    if (t2_model_weights_check(cfg, w->files, err) != 0) return -1;
    spec_list list = list_tensors(cfg, w);
    int64_t total = 0; /* the slab holds what is not viewed in place */
    for (int i = 0; i < list.n; i++) {
        const tensor_spec *s = &list.items[i];
        const t2_tensor_info *t = t2_safetensors_find(w->files, s->name);
        if (s->kind != KIND_MATRIX || mapped_type(t->dtype) < 0) total += slab_extent(s->n_elements);
    }
    w->slab_floats = total;
    w->slab = t2_alloc_array_huge(total ? (size_t)total : 1, sizeof *w->slab);
    int64_t offset = 0;
    int status = 0;
    for (int i = 0; i < list.n && status == 0; i++) {
        const tensor_spec *s = &list.items[i];
        const t2_tensor_info *t = t2_safetensors_find(w->files, s->name);
        int type = mapped_type(t->dtype);
        if (s->kind == KIND_MATRIX && type >= 0) {
            *s->matrix = (t2_weight){{.data = (void *)t->data}, (t2_weight_type)type};
            continue;
        }
        spec_point(s, w->slab + offset);
        offset += slab_extent(s->n_elements);
        status = read_widened(s, w->files, spec_f32(s), err);
    }
    if (cfg->tie_word_embeddings) w->lm_head = w->embed;
    t2_free(list.items);
    return status;
}

t2_weight *t2_model_weights_matrix(t2_model_weights *w, const t2_model_config *cfg,
                                   const char *name) {
    spec_list list = list_tensors(cfg, w);
    t2_weight *found = NULL;
    for (int i = 0; i < list.n && found == NULL; i++)
        if (list.items[i].kind == KIND_MATRIX && strcmp(list.items[i].name, name) == 0)
            found = list.items[i].matrix;
    t2_free(list.items);
    return found;
}

/* The size of each named matrix of cfg (asserting each is one) into sizes[n]; returns the
 * floats they take laid out one after another in a slab. */
static int64_t private_sizes(const t2_model_config *cfg, const char *const *names, int n,
                             int64_t *sizes) {
    spec_list list = list_tensors(cfg, NULL);
    int64_t total = 0;
    for (int k = 0; k < n; k++) {
        sizes[k] = -1;
        for (int i = 0; i < list.n; i++)
            if (list.items[i].kind == KIND_MATRIX && strcmp(list.items[i].name, names[k]) == 0)
                sizes[k] = list.items[i].n_elements;
        T2_ASSERT(sizes[k] >= 0); /* a matrix of cfg */
        total += slab_extent(sizes[k]);
    }
    t2_free(list.items);
    return total;
}

int64_t t2_model_weights_private_floats(const t2_model_config *cfg,
                                        const char *const *private_names, int n) {
    int64_t *sizes = t2_alloc_array(n > 0 ? (size_t)n : 1, sizeof *sizes);
    int64_t total = private_sizes(cfg, private_names, n, sizes);
    t2_free(sizes);
    return total;
}

void t2_model_weights_share_into(t2_model_weights *dst, const t2_model_weights *src,
                                 const t2_model_config *cfg, const char *const *private_names,
                                 int n, float *storage) {
    memset(dst, 0, sizeof *dst);
    dst->layers = t2_alloc_array((size_t)cfg->num_hidden_layers, sizeof *dst->layers);
    memcpy(dst->layers, src->layers, (size_t)cfg->num_hidden_layers * sizeof *dst->layers);
    dst->embed = src->embed;
    dst->final_norm = src->final_norm;
    dst->lm_head = src->lm_head;
    dst->slab = t2_alloc_array(1, sizeof *dst->slab); /* owns nothing else */
    int64_t *sizes = t2_alloc_array(n > 0 ? (size_t)n : 1, sizeof *sizes);
    private_sizes(cfg, private_names, n, sizes);
    int64_t offset = 0;
    for (int k = 0; k < n; k++) {
        t2_weight *view = t2_model_weights_matrix(dst, cfg, private_names[k]);
        T2_ASSERT(view->type != T2_WEIGHT_F32 || view->f32 < storage ||
                  view->f32 >= storage + offset); /* each name once */
        *view = t2_weight_of_f32(storage + offset);
        offset += slab_extent(sizes[k]);
    }
    t2_free(sizes);
}

void t2_model_weights_share_absent(t2_model_weights *dst, const t2_model_weights *src,
                                   const t2_model_config *cfg, const char *const *absent_names,
                                   int n) {
    t2_model_weights_share_into(dst, src, cfg, absent_names, 0, NULL);
    for (int k = 0; k < n; k++) {
        t2_weight *view = t2_model_weights_matrix(dst, cfg, absent_names[k]);
        T2_ASSERT(view != NULL);
        *view = t2_weight_of_f32(NULL);
    }
}

void t2_model_weights_share(t2_model_weights *dst, const t2_model_weights *src,
                            const t2_model_config *cfg, const char *const *private_names,
                            int n) {
    int64_t *sizes = t2_alloc_array(n > 0 ? (size_t)n : 1, sizeof *sizes);
    int64_t total = private_sizes(cfg, private_names, n, sizes);
    float *storage = t2_alloc_array_huge(total ? (size_t)total : 1, sizeof *storage);
    t2_model_weights_share_into(dst, src, cfg, private_names, n, storage);
    t2_free(dst->slab);
    dst->slab = storage;
    dst->slab_floats = total;
    for (int k = 0; k < n; k++) /* src's values, widened */
        t2_weight_widen(t2_model_weights_matrix(dst, cfg, private_names[k])->f32,
                        *t2_model_weights_matrix((t2_model_weights *)src, cfg, private_names[k]),
                        0, sizes[k]);
    t2_free(sizes);
}

void t2_model_weights_narrow(t2_model_weights *dst, const t2_model_weights *src,
                             const t2_model_config *cfg, t2_weight_type type) {
    T2_ASSERT(type == T2_WEIGHT_BF16 || type == T2_WEIGHT_F16);
    memset(dst, 0, sizeof *dst);
    dst->layers = t2_alloc_array((size_t)cfg->num_hidden_layers, sizeof *dst->layers);
    memcpy(dst->layers, src->layers, (size_t)cfg->num_hidden_layers * sizeof *dst->layers);
    dst->final_norm = src->final_norm;
    spec_list mine = list_tensors(cfg, dst), theirs = list_tensors(cfg, (t2_model_weights *)src);
    int64_t total = 0;
    for (int i = 0; i < mine.n; i++)
        if (mine.items[i].kind == KIND_MATRIX) total += slab_extent(mine.items[i].n_elements);
    /* the slab holds 16-bit elements here: total of them take total / 2 floats */
    dst->slab_floats = total / 2 + 1;
    dst->slab = t2_alloc_array_huge((size_t)dst->slab_floats, sizeof *dst->slab);
    uint16_t *next = (uint16_t *)(void *)dst->slab;
    for (int i = 0; i < mine.n; i++) {
        if (mine.items[i].kind != KIND_MATRIX) continue;
        const float *from = spec_f32(&theirs.items[i]);
        for (int64_t k = 0; k < mine.items[i].n_elements; k++)
            next[k] = type == T2_WEIGHT_BF16 ? t2_dtype_f32_to_bf16(from[k])
                                             : t2_dtype_f32_to_f16(from[k]);
        *mine.items[i].matrix = (t2_weight){{.half = next}, type};
        next += slab_extent(mine.items[i].n_elements);
    }
    if (cfg->tie_word_embeddings) dst->lm_head = dst->embed;
    t2_free(mine.items);
    t2_free(theirs.items);
}

void t2_model_weights_own(t2_model_weights *w, const t2_model_config *cfg,
                          const char *const *private_names, int n) {
    t2_model_weights *base = t2_alloc(sizeof *base);
    *base = *w;
    t2_model_weights_share(w, base, cfg, private_names, n);
    w->base = base;
}

int t2_model_weights_matrix_type(const t2_model_weights *w, const t2_model_config *cfg) {
    spec_list list = list_tensors(cfg, (t2_model_weights *)w);
    int type = -2;
    for (int i = 0; i < list.n; i++) {
        if (list.items[i].kind != KIND_MATRIX) continue;
        int this_type = (int)list.items[i].matrix->type;
        type = type == -2 || type == this_type ? this_type : -1;
    }
    t2_free(list.items);
    return type < 0 ? -1 : type;
}

void t2_model_weights_init_random(t2_model_weights *w, const t2_model_config *cfg,
                                  uint64_t seed, float std) {
    T2_ASSERT(w->slab != NULL);
    t2_rng rng;
    t2_rng_init(&rng, seed);
    spec_list list = list_tensors(cfg, w);
    for (int i = 0; i < list.n; i++) {
        const tensor_spec *s = &list.items[i];
        float *data = spec_f32(s);
        if (s->kind == KIND_NORM)
            for (int64_t k = 0; k < s->n_elements; k++) data[k] = 1.0f;
        else
            for (int64_t k = 0; k < s->n_elements; k++) data[k] = std * t2_rng_normal(&rng);
    }
    t2_free(list.items);
}

/* The views of a const w: list_tensors only takes the slots' addresses, and these callers
 * only read through them. */
static spec_list list_views(const t2_model_weights *w, const t2_model_config *cfg) {
    T2_ASSERT(w->slab != NULL);
    return list_tensors(cfg, (t2_model_weights *)w);
}

void t2_model_weights_add_to_writer(const t2_model_weights *w, const t2_model_config *cfg,
                                    t2_safetensors_writer *writer, t2_dtype dtype) {
    spec_list list = list_views(w, cfg);
    for (int i = 0; i < list.n; i++) {
        const tensor_spec *s = &list.items[i];
        t2_safetensors_writer_add(writer, s->name, dtype, s->n_dims, s->shape, spec_f32(s));
    }
    t2_free(list.items);
}

void t2_model_weights_visit(const t2_model_weights *w, const t2_model_config *cfg,
                            t2_weights_visit_fn fn, void *ctx) {
    spec_list list = list_views(w, cfg);
    for (int i = 0; i < list.n; i++) {
        const tensor_spec *s = &list.items[i];
        fn(ctx, s->name, s->n_dims, s->shape, spec_f32(s));
    }
    t2_free(list.items);
}

void t2_model_weights_free(t2_model_weights *w) {
    t2_free(w->slab);
    t2_free(w->layers);
    if (w->files != NULL) t2_safetensors_close(w->files);
    t2_free(w->files);
    if (w->base != NULL) t2_model_weights_free(w->base);
    t2_free(w->base);
    memset(w, 0, sizeof *w);
}
