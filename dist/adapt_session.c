/* Opening and checking an adapting command's model, bundle, store and adapter on every rank
 * (see adapt_session.h). */
#include "dist/adapt_session.h"

#include <mpi.h>
#include <string.h>

#include "base/alloc.h"
#include "model/safetensors.h"

int t2_adapt_session_read_bundle(const t2_runtime *rt, t2_adapt_session *s, const char *path,
                                 t2_error *err) {
    memset(s, 0, sizeof *s);
    if (path == NULL) return 0;
    char *bytes = NULL;
    size_t len = 0;
    if (t2_runtime_broadcast_file(rt, path, &bytes, &len, err) != 0) return -1;
    int status = t2_bundle_unpack(&s->bundle, (const unsigned char *)bytes, len, path, err);
    t2_free(bytes);
    s->has_bundle = status == 0;
    return t2_runtime_agree_status(rt, status, err);
}

/* Collective: rank 0 fingerprints the model; every rank checks the bundle against it. */
static int check_bundle_model(const t2_runtime *rt, t2_adapt_session *s, const char *model,
                              const char *bundle, t2_error *err) {
    int status = rt->rank == 0 ? t2_model_fingerprint_dir(model, s->fingerprint, err) : 0;
    if (t2_runtime_agree_status(rt, status, err) != 0) return -1;
    MPI_Bcast(s->fingerprint, sizeof s->fingerprint, MPI_CHAR, 0, MPI_COMM_WORLD);
    status = t2_bundle_check_model(&s->bundle, s->fingerprint, model, bundle, err);
    return t2_runtime_agree_status(rt, status, err);
}

/* Local: opens the store on every rank; rank 0 checks it was made from this model. */
static int open_store(const t2_runtime *rt, t2_adapt_session *s, const char *model,
                      const char *store, t2_error *err) {
    if (store == NULL)
        return t2_error_set(err, "store: not set; expected the model's decomposition store "
                            "(t2 decompose), which strategies using experts need");
    if (t2_decomposition_store_open(&s->store, store, err) != 0) return -1;
    if (rt->rank != 0) return 0;
    t2_safetensors st;
    if (t2_safetensors_open(&st, model, err) != 0) return -1;
    int status = t2_decomposition_store_check_model(&s->store, &st, model, err);
    t2_safetensors_close(&st);
    return status;
}

int t2_adapt_session_open(const t2_runtime *rt, t2_adapt_session *s, const char *model,
                          const char *store, const char *bundle, int needs_experts,
                          int per_layer, const t2_prompt_settings *prompt, t2_error *err) {
    if (s->has_bundle && check_bundle_model(rt, s, model, bundle, err) != 0) return -1;
    int status = t2_model_dir_load(&s->model, model, err);
    if (status == 0) status = t2_model_dir_set_prompt(&s->model, prompt, err);
    if (status == 0 && needs_experts) status = open_store(rt, s, model, store, err);
    if (status == 0)
        status = t2_adapt_init(&s->adapt, &s->model, needs_experts ? &s->bundle : NULL,
                               needs_experts ? &s->store : NULL, needs_experts && per_layer,
                               err);
    return t2_runtime_agree_status(rt, status, err);
}

int t2_adapt_session_check_svf(const t2_adapt_session *s, const char *bundle, t2_error *err) {
    t2_adapter_method method = s->bundle.experts[0].options.method;
    if (method == T2_ADAPTER_SVF) return 0;
    return t2_error_set(err, "%s: holds %s experts; expected svf experts (strategies mix "
                        "singular-value masks)", bundle, t2_adapter_method_name(method));
}

void t2_adapt_session_free(t2_adapt_session *s) {
    t2_adapt_free(&s->adapt);
    t2_decomposition_store_close(&s->store);
    t2_model_dir_free(&s->model);
    t2_bundle_free(&s->bundle);
    memset(s, 0, sizeof *s);
}
