/* Adapters (model/adapter.h): building one over named targets, its parameter layout and
 * initial values, the method and parametrization names, and the dispatch of compose,
 * accumulate and gradient to the method files (adapter_svf.c, adapter_lora.c).
 * Does not: the maths of either method (those files), any I/O beyond reading factors from
 * an open decomposition store. Reference: DESIGN.md "The method, precisely"; LoRA as in
 * PEFT (Hu et al. 2021). */
#include "model/adapter.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/rng.h"
#include "model/adapter_impl.h"

static const char *const method_names[] = {"svf", "lora"};
static const char *const parametrization_names[] = {"sigmoid", "linear"};

/* The Hugging Face name of each t2_linear_kind after "model.layers.<L>.". */
static const char *const kind_suffixes[T2_LINEAR_COUNT] = {
    "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
    "self_attn.o_proj.weight", "mlp.gate_proj.weight",    "mlp.up_proj.weight",
    "mlp.down_proj.weight"};

t2_weight t2_adapter_weight(const t2_model_weights *w, int64_t layer, t2_linear_kind kind) {
    const t2_layer_weights *lw = &w->layers[layer];
    const t2_weight by_kind[T2_LINEAR_COUNT] = {lw->wq,     lw->wk,   lw->wv,    lw->wo,
                                                lw->w_gate, lw->w_up, lw->w_down};
    T2_ASSERT(kind >= 0 && kind < T2_LINEAR_COUNT);
    return by_kind[kind];
}

/* out x in of (kind) for cfg (model/weights.h). */
static void kind_shape(const t2_model_config *cfg, t2_linear_kind kind, int64_t *rows,
                       int64_t *cols) {
    int64_t d = cfg->hidden_size, ffn = cfg->intermediate_size;
    int64_t q_dim = cfg->num_attention_heads * cfg->head_dim;
    int64_t kv_dim = cfg->num_key_value_heads * cfg->head_dim;
    const int64_t outs[T2_LINEAR_COUNT] = {q_dim, kv_dim, kv_dim, d, ffn, ffn, d};
    const int64_t ins[T2_LINEAR_COUNT] = {d, d, d, q_dim, d, d, ffn};
    *rows = outs[kind];
    *cols = ins[kind];
}

/* "model.layers.<L>.<suffix>" -> layer and kind: 0, or -1 for any other name. */
static int parse_name(const char *name, int64_t *layer, t2_linear_kind *kind) {
    static const char prefix[] = "model.layers.";
    if (strncmp(name, prefix, sizeof prefix - 1) != 0) return -1;
    const char *p = name + sizeof prefix - 1;
    int64_t l = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 9) return -1; /* no model has a billion layers */
        l = l * 10 + (*p - '0');
    }
    if (digits == 0 || (digits > 1 && p[-digits] == '0') || *p != '.') return -1;
    for (int k = 0; k < T2_LINEAR_COUNT; k++) {
        if (strcmp(p + 1, kind_suffixes[k]) == 0) {
            *layer = l;
            *kind = (t2_linear_kind)k;
            return 0;
        }
    }
    return -1;
}

static int check_options(const t2_adapter_options *o, t2_error *err) {
    T2_ASSERT(o->method == T2_ADAPTER_SVF || o->method == T2_ADAPTER_LORA);
    if (o->method == T2_ADAPTER_SVF) {
        T2_ASSERT(o->parametrization == T2_SVF_SIGMOID || o->parametrization == T2_SVF_LINEAR);
        if (o->parametrization == T2_SVF_SIGMOID && !(o->max_mult > 0.0f && isfinite(o->max_mult)))
            return t2_error_set(err, "max_mult: %g; expected a finite number > 0",
                                (double)o->max_mult);
        return 0;
    }
    if (o->lora_rank < 1)
        return t2_error_set(err, "lora_rank: %lld; expected >= 1", (long long)o->lora_rank);
    if (!isfinite(o->lora_alpha))
        return t2_error_set(err, "lora_alpha: %g; expected a finite number", (double)o->lora_alpha);
    return 0;
}

/* Fills target t (name, layer, kind and shape already set) with its method's data. */
static int init_target(t2_adapter *a, t2_adapter_target *t, const t2_decomposition_store *store,
                       const t2_model_weights *base, t2_error *err) {
    if (a->options.method == T2_ADAPTER_LORA) {
        t->rank = a->options.lora_rank;
        t->n_params = t->rank * (t->rows + t->cols);
        t->accum_size = t->n_params;
        t->base = t2_adapter_weight(base, t->layer, t->kind);
        return 0;
    }
    int i = t2_decomposition_store_find(store, t->name);
    if (i < 0)
        return t2_error_set(err, "%s: no decomposition of %s; expected one made with targets "
                            "covering it", store->path, t->name);
    if (store->rows[i] != t->rows || store->cols[i] != t->cols)
        return t2_error_set(err, "%s: %s is %lldx%lld; expected %lldx%lld (the model's shape)",
                            store->path, t->name, (long long)store->rows[i],
                            (long long)store->cols[i], (long long)t->rows, (long long)t->cols);
    t->rank = store->ranks[i];
    T2_ASSERT(t->rank == (t->rows < t->cols ? t->rows : t->cols));
    t->n_params = t->rank;
    t->accum_size = t->rank;
    t2_decomposition_store_view(store, i, &t->u, &t->s, &t->v);
    return 0;
}

int t2_adapter_init(t2_adapter *a, const t2_adapter_options *options,
                    const t2_model_config *cfg, const char *const *names, int n_names,
                    const t2_decomposition_store *store, const t2_model_weights *base,
                    t2_error *err) {
    memset(a, 0, sizeof *a);
    T2_ASSERT(n_names >= 0 && (n_names == 0 || names != NULL));
    T2_ASSERT(options->method != T2_ADAPTER_SVF || store != NULL);
    T2_ASSERT(options->method != T2_ADAPTER_LORA || base != NULL);
    a->options = *options;
    if (check_options(options, err) != 0) goto fail;
    if (n_names == 0) {
        t2_error_set(err, "targets: none; expected at least one matrix");
        goto fail;
    }
    a->targets = t2_alloc_array((size_t)n_names, sizeof *a->targets);
    a->n = n_names;
    int64_t max_rank = 0;
    for (int i = 0; i < n_names; i++) {
        t2_adapter_target *t = &a->targets[i];
        t->name = t2_strdup(names[i]);
        if (parse_name(t->name, &t->layer, &t->kind) != 0) {
            t2_error_set(err, "%s: not a linear weight of a transformer block; expected "
                         "model.layers.<L>.(self_attn|mlp).<x>_proj.weight", t->name);
            goto fail;
        }
        if (t->layer >= cfg->num_hidden_layers) {
            t2_error_set(err, "%s: layer %lld does not exist; expected a layer below %lld "
                         "(num_hidden_layers)", t->name, (long long)t->layer,
                         (long long)cfg->num_hidden_layers);
            goto fail;
        }
        for (int j = 0; j < i; j++) {
            if (a->targets[j].layer == t->layer && a->targets[j].kind == t->kind) {
                t2_error_set(err, "%s: listed twice; expected each target once", t->name);
                goto fail;
            }
        }
        kind_shape(cfg, t->kind, &t->rows, &t->cols);
        if (init_target(a, t, store, base, err) != 0) goto fail;
        t->offset = a->n_params;
        t->accum_offset = a->accum_size;
        a->n_params += t->n_params;
        a->accum_size += t->accum_size;
        max_rank = t->rank > max_rank ? t->rank : max_rank;
    }
    t2_adapter_work *work = t2_alloc_zero(sizeof *work);
    work->panel_a = t2_alloc((size_t)(T2_ADAPTER_BLOCK * max_rank) * sizeof(float));
    work->panel_b = t2_alloc((size_t)(T2_ADAPTER_BLOCK * max_rank) * sizeof(float));
    work->sums = t2_alloc((size_t)max_rank * sizeof(double));
    a->work = work;
    return 0;
fail:
    t2_adapter_free(a);
    return -1;
}

void t2_adapter_free(t2_adapter *a) {
    for (int i = 0; a->targets != NULL && i < a->n; i++) {
        t2_free(a->targets[i].name);
    }
    t2_free(a->targets);
    if (a->work != NULL) {
        t2_free(a->work->panel_a);
        t2_free(a->work->panel_b);
        t2_free(a->work->sums);
        t2_free(a->work);
    }
    memset(a, 0, sizeof *a);
}

const char **t2_adapter_target_names(const t2_adapter *a) {
    const char **names = t2_alloc_array(a->n > 0 ? (size_t)a->n : 1, sizeof *names);
    for (int i = 0; i < a->n; i++) names[i] = a->targets[i].name;
    return names;
}

int t2_adapter_find(const t2_adapter *a, int64_t layer, t2_linear_kind kind) {
    for (int i = 0; i < a->n; i++)
        if (a->targets[i].layer == layer && a->targets[i].kind == kind) return i;
    return -1;
}

void t2_adapter_init_params(const t2_adapter *a, uint64_t seed, float *params) {
    t2_rng rng;
    t2_rng_init(&rng, seed);
    for (int i = 0; i < a->n; i++) {
        const t2_adapter_target *t = &a->targets[i];
        float *p = params + t->offset;
        if (a->options.method == T2_ADAPTER_LORA) {
            float std = 1.0f / sqrtf((float)t->cols);
            int64_t n_a = t->rank * t->cols;
            for (int64_t j = 0; j < n_a; j++) p[j] = std * t2_rng_normal(&rng);
            memset(p + n_a, 0, (size_t)(t->rank * t->rows) * sizeof(float));
        } else if (a->options.parametrization == T2_SVF_SIGMOID) {
            for (int64_t j = 0; j < t->rank; j++) p[j] = 0.1f + 0.01f * t2_rng_normal(&rng);
        } else {
            for (int64_t j = 0; j < t->rank; j++) p[j] = 1.0f;
        }
    }
}

void t2_adapter_compose(const t2_adapter *a, const float *params, t2_model_weights *out) {
    t2_adapter_compose_part(a, params, out, 0, 1);
}

void t2_adapter_compose_part(const t2_adapter *a, const float *params, t2_model_weights *out,
                             int part, int parts) {
    T2_ASSERT(parts >= 1 && part >= 0 && part < parts);
    for (int i = part; i < a->n; i += parts) {
        const t2_adapter_target *t = &a->targets[i];
        t2_weight view = t2_adapter_weight(out, t->layer, t->kind);
        T2_ASSERT(view.type == T2_WEIGHT_F32); /* out owns its targets (t2_model_weights_share) */
        float *w = view.f32;
        if (a->options.method == T2_ADAPTER_SVF)
            t2_adapter_svf_compose(a, t, params + t->offset, w);
        else
            t2_adapter_lora_compose(a, t, params + t->offset, w);
    }
}

void t2_adapter_accumulate(const t2_adapter *a, int target, const float *params,
                           const float *x, const float *delta, int64_t rows, float *accum) {
    T2_ASSERT(target >= 0 && target < a->n && rows >= 0);
    const t2_adapter_target *t = &a->targets[target];
    if (a->options.method == T2_ADAPTER_SVF)
        t2_adapter_svf_accumulate(a, t, x, delta, rows, accum + t->accum_offset);
    else
        t2_adapter_lora_accumulate(a, t, params + t->offset, x, delta, rows,
                                   accum + t->accum_offset);
}

void t2_adapter_linear_fn(void *ctx, int64_t layer, t2_linear_kind kind, const float *x,
                          const float *delta, int64_t rows, int64_t in, int64_t out) {
    const t2_adapter_grad_ctx *g = ctx;
    int target = t2_adapter_find(g->adapter, layer, kind);
    if (target < 0) return;
    T2_ASSERT(g->adapter->targets[target].rows == out && g->adapter->targets[target].cols == in);
    t2_adapter_accumulate(g->adapter, target, g->params, x, delta, rows, g->accum);
}

void t2_adapter_gradient(const t2_adapter *a, const float *params, const float *accum,
                         float *grad) {
    if (a->options.method == T2_ADAPTER_LORA) {
        /* the accumulator is already ∂L/∂(A, B), in the parameters' layout */
        memcpy(grad, accum, (size_t)a->n_params * sizeof(float));
        return;
    }
    for (int i = 0; i < a->n; i++) {
        const t2_adapter_target *t = &a->targets[i];
        t2_adapter_svf_gradient(a, t, params + t->offset, accum + t->accum_offset,
                                grad + t->offset);
    }
}

void t2_adapter_masks(const t2_adapter *a, const float *params, float *masks) {
    T2_ASSERT(a->options.method == T2_ADAPTER_SVF);
    for (int i = 0; i < a->n; i++) {
        const t2_adapter_target *t = &a->targets[i];
        t2_adapter_svf_masks(a, t, params + t->offset, masks + t->offset);
    }
}

const char *t2_adapter_method_name(t2_adapter_method m) {
    T2_ASSERT(m == T2_ADAPTER_SVF || m == T2_ADAPTER_LORA);
    return method_names[m];
}

int t2_adapter_method_from_name(const char *name, t2_adapter_method *out) {
    for (int m = 0; m < 2; m++) {
        if (strcmp(name, method_names[m]) == 0) {
            *out = (t2_adapter_method)m;
            return 0;
        }
    }
    return -1;
}

const char *t2_svf_parametrization_name(t2_svf_parametrization p) {
    T2_ASSERT(p == T2_SVF_SIGMOID || p == T2_SVF_LINEAR);
    return parametrization_names[p];
}

int t2_svf_parametrization_from_name(const char *name, t2_svf_parametrization *out) {
    for (int p = 0; p < 2; p++) {
        if (strcmp(name, parametrization_names[p]) == 0) {
            *out = (t2_svf_parametrization)p;
            return 0;
        }
    }
    return -1;
}
