/* A Hugging Face model folder in memory: config.json (+ generation_config.json), the weights
 * (model.safetensors or a sharded index: BF16 / F16 memory-mapped, F32 copied), tokenizer.json and
 * tokenizer_config.json (optional). The one loader every command that runs a whole model
 * uses. */
#ifndef T2_MODEL_MODEL_DIR_H
#define T2_MODEL_MODEL_DIR_H

#include "base/error.h"
#include "model/config.h"
#include "model/prompt_encoder.h"
#include "model/tokenizer.h"
#include "model/tokenizer_config.h"
#include "model/weights.h"

typedef struct t2_model_dir {
    t2_model_config cfg;
    t2_model_weights weights;
    t2_tokenizer *tok;
    t2_tokenizer_config tok_config; /* zeroed (add_* = -1) when the folder has no file */
    t2_prompt_encoder prompt;       /* how this run's prompts become ids: after loading the
                                       plain format with the BOS/EOS the files ask for; another
                                       format after t2_model_dir_set_prompt */
} t2_model_dir;

/* Loads the folder, BF16 / F16 weights mapped read-only in their file dtype
 * (t2_model_weights_map: shared with every process mapping the same files). 0, or -1 with err naming the file and problem (also tokenizer_config.json
 * asking for a BOS / EOS the tokenizer lacks); m is then safe to free. */
int t2_model_dir_load(t2_model_dir *m, const char *dir, t2_error *err);
/* The same with the weights widened into an owned, changeable float32 slab (pretraining). */
int t2_model_dir_load_writable(t2_model_dir *m, const char *dir, t2_error *err);
/* Sets how prompts become ids (model/prompt_encoder.h) for this run. 0, or -1 with err (an
 * unknown format, a chat template t2 does not recognise under "auto", a format whose special
 * tokens the tokenizer lacks); the previous encoder is kept on failure. */
int t2_model_dir_set_prompt(t2_model_dir *m, const t2_prompt_settings *settings, t2_error *err);

void t2_model_dir_free(t2_model_dir *m); /* accepts a zeroed or half-loaded object; may run twice */

/* "<dir>/<name>" as a heap string (t2_free). */
char *t2_model_dir_path(const char *dir, const char *name);

#endif
