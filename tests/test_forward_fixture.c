/* Writes every test model of tests/model_fixture.h as a Hugging Face folder:
 *     test_forward_fixture DIR      ->  DIR/<variant>/{config.json, model.safetensors}
 * Run by ctest as the setup of the generate command's tests, and by
 * tests/reference/llama_reference.py to get the models its golden logits are computed from. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "model_fixture.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create directory: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (int v = 0; v < T2_MODEL_FIXTURE_VARIANTS; v++) {
        const char *name = t2_model_fixture_name(v);
        t2_model_config cfg;
        t2_model_weights w;
        t2_model_fixture_config(&cfg, name);
        t2_model_fixture_weights(&w, &cfg, name);
        size_t len = strlen(argv[1]) + strlen(name) + 2;
        char *dir = t2_alloc(len);
        snprintf(dir, len, "%s/%s", argv[1], name);
        t2_error err = {{0}};
        int rc = t2_model_fixture_write(dir, &cfg, &w, &err);
        t2_free(dir);
        t2_model_weights_free(&w);
        if (rc != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    return 0;
}
