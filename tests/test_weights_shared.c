/* Two ranks on one node share the weights' pages (issue 16): each maps the same BF16 model
 * (t2_model_dir_load), reads every byte of it, and measures the file's mapping in
 * /proc/self/smaps: its RSS must cover the file and its PSS be half the RSS (each page
 * counted once for the node, split between the two ranks), while the matrices stay BF16 views
 * of that mapping. Run under mpiexec -n 2 (tests/weights_shared.cmake). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/memory.h"
#include "check.h"
#include "dist/runtime.h"
#include "model/model_dir.h"
#include "model/safetensors.h"
#include "model_fixture.h"

static const char *const MODEL_DIR = "weights_shared.model";

/* A model of some megabytes: the fixture's llama with a wider vocabulary and hidden size. */
static int write_model(t2_error *err) {
    t2_model_config cfg;
    t2_model_fixture_config(&cfg, "llama");
    cfg.hidden_size = 256;
    cfg.intermediate_size = 768;
    cfg.head_dim = cfg.hidden_size / cfg.num_attention_heads;
    cfg.num_hidden_layers = 4;
    t2_model_weights w;
    t2_model_weights_init(&w, &cfg);
    t2_model_weights_init_random(&w, &cfg, 5, 0.02f);
    int status = t2_model_fixture_write_as(MODEL_DIR, &cfg, &w, T2_DTYPE_BF16, err);
    t2_model_weights_free(&w);
    return status;
}

int main(int argc, char **argv) {
    t2_runtime rt;
    t2_runtime_init(&rt, &argc, &argv);
    CHECK(rt.size == 2, "run with 2 ranks; got %d", rt.size);
    t2_error err = {{0}};
    int status = rt.rank == 0 ? write_model(&err) : 0;
    CHECK(t2_runtime_agree_status(&rt, status, &err) == 0, "%s", err.msg);
    t2_model_dir m;
    CHECK(t2_model_dir_load(&m, MODEL_DIR, &err) == 0, "%s", err.msg);
    CHECK(t2_model_weights_matrix_type(&m.weights, &m.cfg) == T2_WEIGHT_BF16,
          "matrices held as %d; expected BF16 views of the file",
          t2_model_weights_matrix_type(&m.weights, &m.cfg));
    /* every byte of the mapping, so that all its pages are resident in both ranks */
    const t2_safetensors *st = m.weights.files;
    CHECK(st != NULL && st->n_files == 1, "the weights keep their one file mapped");
    const volatile unsigned char *bytes = st->maps[0];
    unsigned sum = 0;
    for (size_t i = 0; i < st->map_sizes[0]; i += 64) sum += bytes[i];
    t2_runtime_agree(&rt, 1); /* both ranks have touched every page */
    char path[PATH_MAX];
    CHECK(realpath(st->paths[0], path) != NULL, "realpath %s", st->paths[0]);
    t2_memory mapped;
    CHECK(t2_memory_read_file(&mapped, path) == 0, "/proc/self/smaps unreadable");
    double size = (double)st->map_sizes[0], rss = (double)mapped.rss, pss = (double)mapped.pss;
    fprintf(stderr, "rank %d: %s mapped: %.0f bytes, RSS %.0f, PSS %.0f (PSS/RSS %.3f), shared "
            "%.0f (sum %u)\n", rt.rank, path, size, rss, pss, rss > 0 ? pss / rss : 0.0,
            (double)mapped.shared_file, sum);
    CHECK(rss >= 0.95 * size && rss <= size + 8192, "rank %d: RSS of the mapping %.0f; expected "
          "the file's %.0f bytes", rt.rank, rss, size);
    CHECK(pss >= 0.45 * rss && pss <= 0.55 * rss, "rank %d: PSS %.0f of RSS %.0f; expected "
          "about half: the pages shared by the 2 ranks", rt.rank, pss, rss);
    CHECK(mapped.shared_file >= 0.95 * rss, "rank %d: %.0f of %.0f resident bytes shared",
          rt.rank, (double)mapped.shared_file, rss);
    t2_runtime_agree(&rt, 1); /* neither rank unmaps before the other has measured */
    t2_runtime_log_memory(&rt, "with the model mapped");
    t2_model_dir_free(&m);
    int code = t2_check_exit_code();
    int all_ok = t2_runtime_agree(&rt, code == 0);
    t2_runtime_finalize(&rt);
    return all_ok ? 0 : 1;
}
