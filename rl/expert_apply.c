/* Fingerprint check, adapter rebuild and composition of an expert into a model (see
 * expert_apply.h). */
#include "rl/expert_apply.h"

#include <string.h>

#include "base/alloc.h"
#include "model/adapter.h"
#include "model/decomposition_store.h"
#include "model/fingerprint.h"
#include "model/safetensors.h"

int t2_expert_apply(const t2_expert *e, const char *expert_path, t2_model_dir *model,
                    const char *model_path, const char *store_path, t2_error *err) {
    char fingerprint[T2_FINGERPRINT_CHARS];
    if (t2_model_fingerprint_dir(model_path, fingerprint, err) != 0 ||
        t2_expert_check_model(e, fingerprint, model_path, expert_path, err) != 0)
        return -1;
    int is_svf = e->options.method == T2_ADAPTER_SVF;
    if (is_svf && store_path == NULL)
        return t2_error_set(err, "%s: an SVF expert needs the model's decomposition store; "
                            "expected --store (made by t2 decompose)", expert_path);
    t2_decomposition_store store;
    memset(&store, 0, sizeof store);
    t2_adapter adapter;
    memset(&adapter, 0, sizeof adapter);
    int status = is_svf ? t2_decomposition_store_open(&store, store_path, err) : 0;
    if (status == 0 && is_svf) { /* the factors must come from this model's weights */
        t2_safetensors st;
        status = t2_safetensors_open(&st, model_path, err);
        if (status == 0)
            status = t2_decomposition_store_check_model(&store, &st, model_path, err);
        t2_safetensors_close(&st);
    }
    /* LoRA reads the base matrices, which the weights keep as their base below */
    if (status == 0)
        status = t2_adapter_init(&adapter, &e->options, &model->cfg,
                                 (const char *const *)e->tensors, e->n, is_svf ? &store : NULL,
                                 is_svf ? NULL : &model->weights, err);
    if (status == 0) status = t2_expert_check_adapter(e, &adapter, expert_path, err);
    if (status == 0) {
        const char **names = t2_adapter_target_names(&adapter);
        t2_model_weights_own(&model->weights, &model->cfg, names, adapter.n);
        t2_free(names);
        t2_adapter_compose(&adapter, e->params, &model->weights);
    }
    t2_adapter_free(&adapter);
    t2_decomposition_store_close(&store);
    return status;
}
