/* Cross-model transfer of expert bundles (rl/transfer.h): the source's grid of targets
 * (layer x <rest>), the target model's matrices, and each member's masks mapped by relative
 * depth and relative rank into a new bundle with a transfer record.
 * Does not: read or write files, load either model's weights or factors (masks need neither),
 * or print. Reference: DESIGN.md "Experts transfer between models". */
#include "rl/transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

static const char layer_prefix[] = "model.layers.";

/* "model.layers.<l>.<rest>" -> l and rest (a pointer into name): 0, or -1 for another name
 * (no digits, a leading zero, more than 9 digits, or an empty rest). */
static int parse_target(const char *name, int64_t *layer, const char **rest) {
    if (strncmp(name, layer_prefix, sizeof layer_prefix - 1) != 0) return -1;
    const char *p = name + sizeof layer_prefix - 1;
    int64_t l = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 9) return -1; /* no model has a billion layers */
        l = l * 10 + (*p - '0');
    }
    if (digits == 0 || (digits > 1 && p[-digits] == '0') || p[0] != '.' || p[1] == '\0')
        return -1;
    *layer = l;
    *rest = p + 1;
    return 0;
}

/* How the source's targets map to the target model's, shared by every member. */
typedef struct transfer_plan {
    int64_t src_layers, dst_layers; /* L, L' */
    int n_rest;
    const char **rests;   /* [n_rest] the <rest> names, borrowed from the first expert */
    int *src_target;      /* [L x n_rest] the source target adapting (layer, rest) */
    int n;                /* L' x n_rest new targets, in name order */
    char **names;         /* [n] model.layers.<l'>.<rest> (owned) */
    int64_t *rows, *cols; /* [n] their shapes in the target model */
    int64_t *layer;       /* [n] l' */
    int *rest;            /* [n] index into rests */
    int64_t max_rank;     /* largest r' */
    int same_shapes;      /* L == L' and every r' equals its source ranks: masks copied */
} transfer_plan;

static void plan_free(transfer_plan *p) {
    for (int i = 0; i < p->n && p->names != NULL; i++) t2_free(p->names[i]);
    t2_free(p->names);
    t2_free(p->rows);
    t2_free(p->cols);
    t2_free(p->layer);
    t2_free(p->rest);
    t2_free(p->rests);
    t2_free(p->src_target);
    memset(p, 0, sizeof *p);
}

/* The target of e adapting (layer, rest), or -1. */
static int find_target(const t2_expert *e, int64_t layer, const char *rest) {
    for (int i = 0; i < e->n; i++) {
        int64_t l;
        const char *r;
        if (parse_target(e->tensors[i], &l, &r) == 0 && l == layer && strcmp(r, rest) == 0)
            return i;
    }
    return -1;
}

/* The source grid of e: every target on a block, each <rest> on every layer 0 .. L-1 once.
 * O(n²) name comparisons, whatever the layer numbers say (a missing layer is found within
 * n + 1 tries). */
static int plan_source(transfer_plan *p, const t2_expert *e, const char *src_path,
                       t2_error *err) {
    p->rests = t2_alloc_array((size_t)e->n, sizeof *p->rests);
    int64_t max_layer = 0;
    for (int i = 0; i < e->n; i++) {
        int64_t l;
        const char *rest;
        if (parse_target(e->tensors[i], &l, &rest) != 0)
            return t2_error_set(err, "%s: expert '%s' adapts %s, which is not on a transformer "
                                "block; expected model.layers.<L>.<name> targets (a transfer "
                                "maps whole layers)", src_path, e->name, e->tensors[i]);
        if (find_target(e, l, rest) != i)
            return t2_error_set(err, "%s: expert '%s' adapts %s twice; expected each target "
                                "once", src_path, e->name, e->tensors[i]);
        int k = 0;
        while (k < p->n_rest && strcmp(p->rests[k], rest) != 0) k++;
        if (k == p->n_rest) p->rests[p->n_rest++] = rest;
        if (l > max_layer) max_layer = l;
    }
    p->src_layers = max_layer + 1;
    for (int k = 0; k < p->n_rest; k++)
        for (int64_t l = 0; l < p->src_layers; l++)
            if (find_target(e, l, p->rests[k]) < 0)
                return t2_error_set(err, "%s: expert '%s' adapts %s on some layers but not on "
                                    "layer %lld; expected every adapted matrix on every layer 0 "
                                    "to %lld (a transfer maps whole layers)", src_path, e->name,
                                    p->rests[k], (long long)l, (long long)max_layer);
    /* Every (layer, rest) once: n = L x n_rest. */
    T2_ASSERT(p->src_layers * p->n_rest == e->n);
    p->src_target = t2_alloc_array((size_t)e->n, sizeof *p->src_target);
    for (int64_t l = 0; l < p->src_layers; l++)
        for (int k = 0; k < p->n_rest; k++)
            p->src_target[l * p->n_rest + k] = find_target(e, l, p->rests[k]);
    return 0;
}

/* A new target's name and its index in layer-major order, sorted by name. */
typedef struct named_index {
    const char *name;
    int index;
} named_index;

static int compare_named(const void *a, const void *b) {
    return strcmp(((const named_index *)a)->name, ((const named_index *)b)->name);
}

/* The target model's matrices: every <rest> on every layer l' < L', with st's shapes, in name
 * order. */
static int plan_target(transfer_plan *p, const t2_expert *e, const t2_transfer_target *target,
                       t2_error *err) {
    p->dst_layers = target->cfg->num_hidden_layers;
    T2_ASSERT(p->dst_layers >= 1);
    int64_t n = p->dst_layers * p->n_rest;
    T2_ASSERT(n <= 1 << 30);
    p->n = (int)n;
    p->names = t2_alloc_array((size_t)n, sizeof *p->names);
    p->rows = t2_alloc_array((size_t)n, sizeof *p->rows);
    p->cols = t2_alloc_array((size_t)n, sizeof *p->cols);
    p->layer = t2_alloc_array((size_t)n, sizeof *p->layer);
    p->rest = t2_alloc_array((size_t)n, sizeof *p->rest);
    named_index *order = t2_alloc_array((size_t)n, sizeof *order);
    char **names = t2_alloc_array((size_t)n, sizeof *names);
    int status = 0;
    for (int64_t l = 0; l < p->dst_layers && status == 0; l++) {
        for (int k = 0; k < p->n_rest && status == 0; k++) {
            int i = (int)(l * p->n_rest + k);
            names[i] = t2_strdup_printf("%s%lld.%s", layer_prefix, (long long)l, p->rests[k]);
            order[i] = (named_index){names[i], i};
            const t2_tensor_info *t = t2_safetensors_find(target->st, names[i]);
            char shape[96];
            if (t == NULL)
                status = t2_error_set(err, "%s: no tensor %s; expected every matrix the bundle "
                                      "adapts (%s) on every layer", target->path, names[i],
                                      p->rests[k]);
            else if (t->n_dims != 2 || t->shape[0] < 1 || t->shape[1] < 1)
                status = t2_error_set(err, "%s: %s has shape %s; expected a non-empty matrix "
                                      "(the bundle adapts %s)", target->path, names[i],
                                      t2_safetensors_shape_string(shape, sizeof shape, t->n_dims,
                                                                  t->shape),
                                      p->rests[k]);
        }
    }
    if (status == 0) {
        qsort(order, (size_t)n, sizeof *order, compare_named);
        p->same_shapes = p->src_layers == p->dst_layers;
        for (int i = 0; i < p->n; i++) {
            int from = order[i].index;
            const t2_tensor_info *t = t2_safetensors_find(target->st, names[from]);
            p->names[i] = names[from];
            names[from] = NULL;
            p->rows[i] = t->shape[0];
            p->cols[i] = t->shape[1];
            p->layer[i] = from / p->n_rest;
            p->rest[i] = from % p->n_rest;
            int64_t r = p->rows[i] < p->cols[i] ? p->rows[i] : p->cols[i];
            if (r > p->max_rank) p->max_rank = r;
            if (p->same_shapes) {
                int src = p->src_target[p->layer[i] * p->n_rest + p->rest[i]];
                p->same_shapes = e->lengths[src] == r;
            }
        }
    }
    for (int64_t i = 0; i < n; i++) t2_free(names[i]);
    t2_free(names);
    t2_free(order);
    return status;
}

void t2_transfer_resample(double *out, int64_t n_out, const float *in, int64_t n_in) {
    T2_ASSERT(n_out >= 1 && n_in >= 1);
    int64_t den = n_out - 1;
    for (int64_t j = 0; j < n_out; j++) {
        if (den == 0) {
            out[j] = in[0];
            continue;
        }
        int64_t num = j * (n_in - 1);
        int64_t lo = num / den, rem = num % den;
        if (rem == 0) {
            out[j] = in[lo];
            continue;
        }
        double u = (double)rem / (double)den;
        out[j] = (1.0 - u) * in[lo] + u * in[lo + 1];
    }
}

/* The masks of e (n_params floats): t2_adapter_masks on a view of e's layout. Masks need only
 * the options and each target's rank and offset, not the factors, which belong to the source
 * model and are not at hand. */
static void expert_masks(const t2_expert *e, float *masks) {
    t2_adapter view = {.options = e->options, .n = e->n};
    view.targets = t2_alloc_array((size_t)e->n, sizeof *view.targets);
    for (int i = 0; i < e->n; i++) {
        view.targets[i].rank = e->lengths[i];
        view.targets[i].offset = e->offsets[i];
        view.targets[i].n_params = e->lengths[i];
    }
    view.n_params = e->n_params;
    t2_adapter_masks(&view, e->params, masks);
    t2_free(view.targets);
}

static char *dup_text(const char *s) {
    return t2_strdup(s != NULL ? s : "");
}

/* out = e mapped by plan p onto the target model: linear z, e's names and texts. Scratch:
 * masks (e->n_params), v_a and v_b (max_rank each). */
static void map_expert(t2_expert *out, const t2_expert *e, const transfer_plan *p,
                       const char *fingerprint, float *masks, double *v_a, double *v_b) {
    memset(out, 0, sizeof *out);
    out->name = dup_text(e->name);
    out->task = dup_text(e->task);
    out->options = e->options;
    out->options.parametrization = T2_SVF_LINEAR;
    snprintf(out->model_fingerprint, sizeof out->model_fingerprint, "%s", fingerprint);
    out->n = p->n;
    out->tensors = t2_alloc_array((size_t)p->n, sizeof *out->tensors);
    out->rows = t2_alloc_array((size_t)p->n, sizeof *out->rows);
    out->cols = t2_alloc_array((size_t)p->n, sizeof *out->cols);
    out->offsets = t2_alloc_array((size_t)p->n, sizeof *out->offsets);
    out->lengths = t2_alloc_array((size_t)p->n, sizeof *out->lengths);
    for (int i = 0; i < p->n; i++) {
        out->tensors[i] = t2_strdup(p->names[i]);
        out->rows[i] = p->rows[i];
        out->cols[i] = p->cols[i];
        out->offsets[i] = out->n_params;
        out->lengths[i] = p->rows[i] < p->cols[i] ? p->rows[i] : p->cols[i];
        out->n_params += out->lengths[i];
    }
    out->params = t2_alloc_array((size_t)out->n_params, sizeof *out->params);
    out->config = dup_text(e->config);
    out->summary = e->summary;

    expert_masks(e, masks);
    int64_t den = p->dst_layers - 1;
    for (int i = 0; i < p->n; i++) {
        int64_t num = p->layer[i] * (p->src_layers - 1);
        int64_t a = den == 0 ? 0 : num / den, rem = den == 0 ? 0 : num % den;
        double t = (double)rem / (double)(den == 0 ? 1 : den);
        int64_t r = out->lengths[i];
        int src_a = p->src_target[a * p->n_rest + p->rest[i]];
        t2_transfer_resample(v_a, r, masks + e->offsets[src_a], e->lengths[src_a]);
        float *z = out->params + out->offsets[i];
        if (rem == 0) {
            for (int64_t j = 0; j < r; j++) z[j] = (float)v_a[j];
            continue;
        }
        int src_b = p->src_target[(a + 1) * p->n_rest + p->rest[i]];
        t2_transfer_resample(v_b, r, masks + e->offsets[src_b], e->lengths[src_b]);
        for (int64_t j = 0; j < r; j++) z[j] = (float)((1.0 - t) * v_a[j] + t * v_b[j]);
    }
}

/* 0 when src may be transferred to target at all. */
static int check_source(const t2_bundle *src, const char *src_path,
                        const t2_transfer_target *target, t2_error *err) {
    const t2_expert *first = &src->experts[0];
    if (first->options.method != T2_ADAPTER_SVF) {
        char options[128];
        return t2_error_set(err, "%s: the bundle's experts are %s (%s) and cannot be "
                            "transferred; expected svf experts", src_path,
                            t2_adapter_method_name(first->options.method),
                            t2_expert_options_string(&first->options, options, sizeof options));
    }
    if (src->has_transfer)
        return t2_error_set(err, "%s: already transferred (from model %s, %lld layers, to %s, "
                            "%lld layers); expected a bundle trained on its model (transfer the "
                            "original bundle instead)", src_path, src->source_fingerprint,
                            (long long)src->source_layers, src->model_fingerprint,
                            (long long)src->target_layers);
    if (strcmp(src->model_fingerprint, target->fingerprint) == 0)
        return t2_error_set(err, "%s: already made for %s (fingerprint %s); expected another "
                            "base model", src_path, target->path, target->fingerprint);
    return 0;
}

int t2_transfer_bundle(t2_bundle *out, const t2_bundle *src, const char *src_path,
                       const t2_transfer_target *target, t2_error *err) {
    memset(out, 0, sizeof *out);
    T2_ASSERT(src->n >= 1);
    if (check_source(src, src_path, target, err) != 0) return -1;
    transfer_plan plan = {0};
    if (plan_source(&plan, &src->experts[0], src_path, err) != 0 ||
        plan_target(&plan, &src->experts[0], target, err) != 0) {
        plan_free(&plan);
        return -1;
    }
    /* Members share targets and options (rl/bundle.h), so one plan and scratch serve all. */
    int members = src->n + src->has_classifier;
    t2_expert *mapped = t2_alloc_array((size_t)members, sizeof *mapped);
    const char **paths = t2_alloc_array((size_t)members, sizeof *paths);
    float *masks = t2_alloc_array((size_t)src->experts[0].n_params, sizeof *masks);
    double *v_a = t2_alloc_array((size_t)plan.max_rank, sizeof *v_a);
    double *v_b = t2_alloc_array((size_t)plan.max_rank, sizeof *v_b);
    for (int i = 0; i < members; i++) {
        const t2_expert *e = i < src->n ? &src->experts[i] : &src->classifier;
        T2_ASSERT(e->n == src->experts[0].n && e->n_params == src->experts[0].n_params);
        map_expert(&mapped[i], e, &plan, target->fingerprint, masks, v_a, v_b);
        paths[i] = src_path;
    }
    int status = t2_bundle_create(out, mapped, src->n, src->has_classifier ? &mapped[src->n]
                                                                           : NULL,
                                  paths, err);
    if (status == 0) {
        out->has_transfer = 1;
        snprintf(out->source_fingerprint, sizeof out->source_fingerprint, "%s",
                 src->model_fingerprint);
        out->source_layers = plan.src_layers;
        out->target_layers = plan.dst_layers;
        out->note = plan.same_shapes
            ? t2_strdup_printf("t2 transfer: same layer count (%lld) and ranks, masks copied "
                               "exactly; stored as linear vectors z = m",
                               (long long)plan.src_layers)
            : t2_strdup_printf("t2 transfer: layers by relative depth (%lld to %lld), singular "
                               "values by relative rank, masks interpolated linearly; stored as "
                               "linear vectors z = m",
                               (long long)plan.src_layers, (long long)plan.dst_layers);
    }
    for (int i = 0; i < members; i++) t2_expert_free(&mapped[i]);
    t2_free(mapped);
    t2_free(paths);
    t2_free(masks);
    t2_free(v_a);
    t2_free(v_b);
    plan_free(&plan);
    return status;
}
