/* What every rank of an adapting command (t2 eval, t2 adapt) holds, opened and checked the
 * same way on every rank (collective over MPI_COMM_WORLD):
 *   1. t2_adapt_session_read_bundle: rank 0 reads the bundle file, every rank parses the bytes;
 *   2. (the caller parses its strategies against the bundle, so a bad strategy is refused
 *      before any weight is loaded);
 *   3. t2_adapt_session_open: the bundle made for this model (rank 0 fingerprints the model
 *      folder, every rank checks), the model loaded, and when experts are used the store
 *      (made from this model's weights, checked on rank 0) and the adapter (rl/adapt.h).
 * Each step ends in an agreement (t2_runtime_agree_status): 0 on every rank, or -1 on every
 * rank with the same one-line err. */
#ifndef T2_DIST_ADAPT_SESSION_H
#define T2_DIST_ADAPT_SESSION_H

#include "base/error.h"
#include "dist/runtime.h"
#include "model/decomposition_store.h"
#include "model/fingerprint.h"
#include "model/model_dir.h"
#include "rl/adapt.h"
#include "rl/bundle.h"

typedef struct t2_adapt_session {
    int has_bundle;
    t2_bundle bundle;                       /* when has_bundle */
    char fingerprint[T2_FINGERPRINT_CHARS]; /* the model's; "" until checked with a bundle */
    t2_model_dir model;
    t2_decomposition_store store;           /* opened when experts are used */
    t2_adapt adapt;                         /* with the bundle when experts are used */
} t2_adapt_session;

/* Collective. Zeroes s, then reads the bundle at path (NULL: none). */
int t2_adapt_session_read_bundle(const t2_runtime *rt, t2_adapt_session *s, const char *path,
                                 t2_error *err);

/* Collective. model and store are paths (store may be NULL when no experts are used); bundle
 * names the bundle in errors. needs_experts: some strategy composes the bundle's experts;
 * per_layer: mixture weights per (expert, layer); prompt: how the run's prompts become ids
 * (a chat format the model's tokenizer_config.json does not allow fails here). */
int t2_adapt_session_open(const t2_runtime *rt, t2_adapt_session *s, const char *model,
                          const char *store, const char *bundle, int needs_experts,
                          int per_layer, const t2_prompt_settings *prompt, t2_error *err);

/* Local. Requires a bundle of svf experts (strategies other than base mix masks): 0, or -1
 * with err "<bundle>: holds lora experts; expected svf experts (...)". */
int t2_adapt_session_check_svf(const t2_adapt_session *s, const char *bundle, t2_error *err);

void t2_adapt_session_free(t2_adapt_session *s); /* zeroed ok; twice ok */

#endif
