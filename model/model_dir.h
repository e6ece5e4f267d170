/* A Hugging Face model folder in memory: config.json (+ generation_config.json), the weights
 * (model.safetensors or a sharded index, converted to float32) and tokenizer.json. The one
 * loader every command that runs a whole model uses. */
#ifndef T2_MODEL_MODEL_DIR_H
#define T2_MODEL_MODEL_DIR_H

#include "base/error.h"
#include "model/config.h"
#include "model/tokenizer.h"
#include "model/weights.h"

typedef struct t2_model_dir {
    t2_model_config cfg;
    t2_model_weights weights;
    t2_tokenizer *tok;
} t2_model_dir;

/* Loads the folder. 0, or -1 with err naming the file and problem; m is then safe to free. */
int t2_model_dir_load(t2_model_dir *m, const char *dir, t2_error *err);
void t2_model_dir_free(t2_model_dir *m); /* accepts a zeroed or half-loaded object; may run twice */

/* "<dir>/<name>" as a heap string (t2_free). */
char *t2_model_dir_path(const char *dir, const char *name);

#endif
