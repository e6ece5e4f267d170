/* Writes every test model of tests/model_fixture.h as a Hugging Face folder:
 *     test_forward_fixture DIR  ->  DIR/<variant>/{config.json, model.safetensors,
 *                                   tokenizer.json} for each variant, DIR/successor (the
 *                                   model that continues "a" with "bcd..."), and
 *                                   DIR/no_weights (config.json alone: a broken folder)
 * Run by ctest as the setup of the generate command's tests, and by
 * tests/reference/llama_reference.py to get the models its golden logits are computed from. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "model_fixture.h"

static char *join(const char *dir, const char *name) {
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = t2_alloc(len);
    snprintf(path, len, "%s/%s", dir, name);
    return path;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create directory: %s\n", argv[1], strerror(errno));
        return 1;
    }
    t2_error err = {{0}};
    for (int v = 0; v <= T2_MODEL_FIXTURE_VARIANTS; v++) {
        const char *name = v < T2_MODEL_FIXTURE_VARIANTS ? t2_model_fixture_name(v) : "successor";
        t2_model_config cfg;
        t2_model_weights w;
        if (v < T2_MODEL_FIXTURE_VARIANTS) {
            t2_model_fixture_config(&cfg, name);
            t2_model_fixture_weights(&w, &cfg, name);
        } else {
            t2_model_fixture_successor(&cfg, &w);
        }
        char *dir = join(argv[1], name);
        int rc = t2_model_fixture_write(dir, &cfg, &w, &err);
        t2_free(dir);
        t2_model_weights_free(&w);
        if (rc != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    t2_model_config cfg;
    t2_model_fixture_config(&cfg, "llama");
    char *dir = join(argv[1], "no_weights");
    char *config = join(dir, "config.json");
    int rc = mkdir(dir, 0755) != 0 && errno != EEXIST
                 ? t2_error_set(&err, "%s: cannot create directory: %s", dir, strerror(errno))
                 : t2_model_config_write(&cfg, config, &err);
    t2_free(config);
    t2_free(dir);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return 0;
}
