/* Mixing SVF experts' masks and composing the mixture (see mixture.h). */
#include "rl/mixture.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

void t2_mixture_free(t2_mixture *m) {
    t2_adapter_free(&m->adapter);
    t2_free(m->masks);
    t2_free(m->mixed);
    memset(m, 0, sizeof *m);
}

/* 0 when every expert is svf over the targets of experts[0] with its renormalisation. */
static int check_experts(const t2_expert *experts, int k, t2_error *err) {
    const t2_expert *first = &experts[0];
    for (int i = 0; i < k; i++) {
        const t2_expert *e = &experts[i];
        if (e->options.method != T2_ADAPTER_SVF)
            return t2_error_set(err, "%s: a %s expert cannot be mixed; expected svf experts",
                                e->name, t2_adapter_method_name(e->options.method));
        int same = e->n == first->n && e->options.renormalize == first->options.renormalize;
        for (int t = 0; same && t < e->n; t++)
            same = strcmp(e->tensors[t], first->tensors[t]) == 0;
        if (!same)
            return t2_error_set(err, "%s: adapts other matrices (or renormalises differently) "
                                "than %s; expected experts over the same targets",
                                e->name, first->name);
    }
    return 0;
}

int t2_mixture_init(t2_mixture *m, const t2_expert *experts, int k, int per_layer,
                    const t2_model_config *cfg, const t2_decomposition_store *store,
                    t2_error *err) {
    memset(m, 0, sizeof *m);
    T2_ASSERT(k >= 1);
    if (check_experts(experts, k, err) != 0) return -1;
    const t2_expert *first = &experts[0];
    t2_adapter_options linear = first->options;
    linear.parametrization = T2_SVF_LINEAR;
    if (t2_adapter_init(&m->adapter, &linear, cfg, (const char *const *)first->tensors,
                        first->n, store, NULL, err) != 0)
        return -1;
    m->k = k;
    m->n_layers = cfg->num_hidden_layers;
    m->per_layer = per_layer;
    int64_t n = m->adapter.n_params;
    m->masks = t2_alloc_array((size_t)(k * n), sizeof *m->masks);
    m->mixed = t2_alloc_array((size_t)n, sizeof *m->mixed);
    for (int i = 0; i < k; i++) {
        /* masks depend only on the layout (shared by all experts) and the expert's own
         * options, so a view of the mixture's adapter with those options reads them without
         * loading the factors again */
        t2_adapter own = m->adapter;
        own.options = experts[i].options;
        if (t2_expert_check_adapter(&experts[i], &own, experts[i].name, err) != 0) {
            t2_mixture_free(m);
            return -1;
        }
        t2_adapter_masks(&own, experts[i].params, m->masks + i * n);
    }
    return 0;
}

int64_t t2_mixture_dim(const t2_mixture *m) {
    return m->per_layer ? m->k * m->n_layers : m->k;
}

/* m->mixed = Σ_k α m_k, α per expert or per (expert, layer). */
static void mix(t2_mixture *m, const float *alpha) {
    const t2_adapter *a = &m->adapter;
    for (int t = 0; t < a->n; t++) {
        const t2_adapter_target *target = &a->targets[t];
        float *out = m->mixed + target->offset;
        memset(out, 0, sizeof(float) * (size_t)target->n_params);
        for (int k = 0; k < m->k; k++) {
            float w = m->per_layer ? alpha[k * m->n_layers + target->layer] : alpha[k];
            const float *mk = m->masks + k * a->n_params + target->offset;
            for (int64_t i = 0; i < target->n_params; i++) out[i] += w * mk[i];
        }
    }
}

void t2_mixture_compose(t2_mixture *m, const float *alpha, t2_model_weights *out) {
    mix(m, alpha);
    t2_adapter_compose(&m->adapter, m->mixed, out);
}

void t2_mixture_to_expert(t2_mixture *m, const float *alpha, const char *name,
                          const char *task, const char *fingerprint, t2_expert *out) {
    mix(m, alpha);
    t2_expert_from_adapter(out, name, task, &m->adapter, m->mixed, fingerprint);
}
