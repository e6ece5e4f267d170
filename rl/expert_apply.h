/* Using an expert on a model: checks that the expert was made for this base model (its
 * fingerprint), rebuilds its adapter (SVF factors from the decomposition store, LoRA over the
 * base weights) and composes its W' into the model's weights in place. The model stays the
 * base model everywhere else. Single-process; no MPI. */
#ifndef T2_RL_EXPERT_APPLY_H
#define T2_RL_EXPERT_APPLY_H

#include "base/error.h"
#include "model/model_dir.h"
#include "rl/expert.h"

/* model was loaded from model_path; expert_path names the expert in errors; store_path is
 * the decomposition store (required for svf experts, ignored for lora). 0, or -1 with err
 * ("<expert>: expert made for another base model ...", a store made from other weights,
 * "<store>: no decomposition of ...",
 * "--store: not set; expected ...") and the model's weights unchanged. */
int t2_expert_apply(const t2_expert *e, const char *expert_path, t2_model_dir *model,
                    const char *model_path, const char *store_path, t2_error *err);

#endif
