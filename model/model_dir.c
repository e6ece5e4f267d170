/* Loading a model folder (see model_dir.h). */
#include "model/model_dir.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "model/safetensors.h"

char *t2_model_dir_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    return path;
}

/* Loads the folder; writable: the weights as an owned float32 slab, else mapped. */
static int load(t2_model_dir *m, const char *dir, int writable, t2_error *err) {
    memset(m, 0, sizeof *m);
    if (t2_model_config_load(&m->cfg, dir, err) != 0) return -1;
    t2_safetensors st;
    if (t2_safetensors_open(&st, dir, err) != 0) {
        t2_safetensors_close(&st);
        return -1;
    }
    int status;
    if (writable) {
        t2_model_weights_init(&m->weights, &m->cfg);
        status = t2_model_weights_load(&m->weights, &m->cfg, &st, err);
        t2_safetensors_close(&st);
    } else {
        status = t2_model_weights_map(&m->weights, &m->cfg, &st, err);
    }
    if (status != 0) return -1;
    char *path = t2_model_dir_path(dir, "tokenizer.json");
    m->tok = t2_tokenizer_load(path, err);
    t2_free(path);
    if (m->tok == NULL) return -1;
    path = t2_model_dir_path(dir, "tokenizer_config.json");
    status = t2_tokenizer_config_load(&m->tok_config, path, err);
    t2_free(path);
    if (status != 0) return -1;
    t2_prompt_settings plain = t2_prompt_settings_default();
    plain.format = "plain";
    return t2_prompt_encoder_init(&m->prompt, m->tok, &m->tok_config, &plain, err);
}

int t2_model_dir_load(t2_model_dir *m, const char *dir, t2_error *err) {
    return load(m, dir, 0, err);
}

int t2_model_dir_load_writable(t2_model_dir *m, const char *dir, t2_error *err) {
    return load(m, dir, 1, err);
}

int t2_model_dir_set_prompt(t2_model_dir *m, const t2_prompt_settings *settings, t2_error *err) {
    t2_prompt_encoder next;
    if (t2_prompt_encoder_init(&next, m->tok, &m->tok_config, settings, err) != 0) {
        t2_prompt_encoder_free(&next);
        return -1;
    }
    t2_prompt_encoder_free(&m->prompt);
    m->prompt = next;
    return 0;
}

void t2_model_dir_free(t2_model_dir *m) {
    t2_prompt_encoder_free(&m->prompt);
    t2_tokenizer_config_free(&m->tok_config);
    t2_tokenizer_free(m->tok);
    t2_model_weights_free(&m->weights);
    memset(m, 0, sizeof *m);
}
