/* rl/expert.h: expert files and training checkpoints.
 *   - svf (sigmoid and linear) and lora experts survive pack/unpack and write/read with every
 *     field equal, packing is deterministic, and the sealed bytes are plain protobuf (the
 *     checksum parses as field 1000 and repacking gives the same bytes);
 *   - every truncation and every single flipped byte of a packed expert is refused with the
 *     one-line "not a t2 expert file" message, also when read from a file;
 *   - messages that parse and carry a valid checksum but break a rule (format_version,
 *     method, parametrization, fingerprint, lengths, duplicate tensors, shapes, no vectors,
 *     no summary) are refused, each with its reason;
 *   - t2_expert_check_model and t2_expert_check_adapter accept the right model and adapter
 *     and name the difference otherwise;
 *   - train states round-trip, and another run, another size or a truncated file is refused;
 *   - a failed write (the path is a folder, or its folder is missing) leaves nothing behind.
 * The adapters are built by hand: only their layout matters here. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "base/rng.h"
#include "check.h"
#include "proto/t2.pb-c.h"
#include "rl/expert.h"
#include "rl/expert_impl.h"
#include "model/model_dir.h"

static const char *const fingerprint = "0123456789abcdef";

/* A hand-built adapter layout: n targets of the given shapes, parameters in order. */
static void make_adapter(t2_adapter *a, const t2_adapter_options *o, int n,
                         const char *const *names, const int64_t *rows, const int64_t *cols) {
    memset(a, 0, sizeof *a);
    a->options = *o;
    a->n = n;
    a->targets = t2_alloc_array((size_t)n, sizeof *a->targets);
    int64_t offset = 0;
    for (int i = 0; i < n; i++) {
        t2_adapter_target *t = &a->targets[i];
        t->name = t2_strdup(names[i]);
        t->layer = i;
        t->kind = T2_LINEAR_UP;
        t->rows = rows[i];
        t->cols = cols[i];
        int64_t r = rows[i] < cols[i] ? rows[i] : cols[i];
        t->rank = o->method == T2_ADAPTER_LORA ? o->lora_rank : r;
        t->n_params = o->method == T2_ADAPTER_LORA ? o->lora_rank * (rows[i] + cols[i]) : r;
        t->offset = offset;
        offset += t->n_params;
    }
    a->n_params = offset;
}

static void free_adapter(t2_adapter *a) {
    for (int i = 0; i < a->n; i++) t2_free(a->targets[i].name);
    t2_free(a->targets);
    memset(a, 0, sizeof *a);
}

static const char *const names[3] = {"model.layers.0.mlp.up_proj.weight",
                                     "model.layers.0.mlp.down_proj.weight",
                                     "model.layers.1.self_attn.q_proj.weight"};
static const int64_t rows[3] = {4, 6, 5}, cols[3] = {6, 4, 5};

/* An expert of options o over the three targets above, random parameters from seed, and a
 * config and summary with every field set. */
static void make_expert(t2_expert *e, t2_adapter *a, const t2_adapter_options *o,
                        uint64_t seed) {
    make_adapter(a, o, 3, names, rows, cols);
    float *params = t2_alloc_array((size_t)a->n_params, sizeof *params);
    t2_rng rng;
    t2_rng_init(&rng, seed);
    for (int64_t i = 0; i < a->n_params; i++) params[i] = t2_rng_normal(&rng);
    t2_expert_from_adapter(e, "math", "math", a, params, fingerprint);
    t2_free(params);
    t2_free(e->config);
    e->config = t2_strdup("lr = 0.002;\nsteps = 40;\n");
    e->summary = (t2_expert_summary){.steps = 40, .best_step = 30, .best_val_accuracy = 0.625,
                                     .val_samples = 200, .wall_seconds = 12.5,
                                     .tokens = 123456, .ranks = 3};
}

/* Every field of two experts equal (params bitwise). */
static void check_same(const t2_expert *got, const t2_expert *want, const char *what) {
    CHECK(strcmp(got->name, want->name) == 0, "%s: name '%s'", what, got->name);
    CHECK(strcmp(got->task, want->task) == 0, "%s: task '%s'", what, got->task);
    CHECK(strcmp(got->config, want->config) == 0, "%s: config '%s'", what, got->config);
    CHECK(strcmp(got->model_fingerprint, want->model_fingerprint) == 0, "%s: fingerprint %s",
          what, got->model_fingerprint);
    const t2_adapter_options *g = &got->options, *w = &want->options;
    CHECK(g->method == w->method && g->parametrization == w->parametrization &&
              g->max_mult == w->max_mult && g->renormalize == w->renormalize &&
              g->lora_rank == w->lora_rank && g->lora_alpha == w->lora_alpha,
          "%s: options differ (method %d/%d parametrization %d/%d max_mult %g/%g renormalize "
          "%d/%d rank %lld/%lld alpha %g/%g)", what, g->method, w->method, g->parametrization,
          w->parametrization, (double)g->max_mult, (double)w->max_mult, g->renormalize,
          w->renormalize, (long long)g->lora_rank, (long long)w->lora_rank,
          (double)g->lora_alpha, (double)w->lora_alpha);
    CHECK(got->n == want->n, "%s: %d targets; expected %d", what, got->n, want->n);
    for (int i = 0; i < got->n && i < want->n; i++)
        CHECK(strcmp(got->tensors[i], want->tensors[i]) == 0 && got->rows[i] == want->rows[i] &&
                  got->cols[i] == want->cols[i] && got->offsets[i] == want->offsets[i] &&
                  got->lengths[i] == want->lengths[i],
              "%s: target %d is %s [%lld, %lld] at %lld + %lld", what, i, got->tensors[i],
              (long long)got->rows[i], (long long)got->cols[i], (long long)got->offsets[i],
              (long long)got->lengths[i]);
    CHECK(got->n_params == want->n_params, "%s: %lld params; expected %lld", what,
          (long long)got->n_params, (long long)want->n_params);
    if (got->n_params == want->n_params)
        t2_check_close(what, got->params, want->params, got->n_params, 0, 0);
    const t2_expert_summary *gs = &got->summary, *ws = &want->summary;
    CHECK(gs->steps == ws->steps && gs->best_step == ws->best_step &&
              gs->best_val_accuracy == ws->best_val_accuracy &&
              gs->val_samples == ws->val_samples && gs->wall_seconds == ws->wall_seconds &&
              gs->tokens == ws->tokens && gs->ranks == ws->ranks,
          "%s: summary differs", what);
}

static void check_message(const t2_error *err, const char *want, const char *what) {
    CHECK(strstr(err->msg, want) != NULL, "%s: error '%s' lacks '%s'", what, err->msg, want);
    CHECK(strchr(err->msg, '\n') == NULL, "%s: error '%s' is not one line", what, err->msg);
}

static void test_round_trip(const t2_adapter_options *o, const char *dir, const char *what) {
    t2_expert e, back;
    t2_adapter a;
    t2_error err = {{0}};
    make_expert(&e, &a, o, 7);
    unsigned char *bytes, *again;
    size_t len, len2;
    t2_expert_pack(&e, &bytes, &len);
    t2_expert_pack(&e, &again, &len2);
    CHECK(len == len2 && memcmp(bytes, again, len) == 0, "%s: packing is not deterministic",
          what);
    CHECK(t2_expert_unpack(&back, bytes, len, "bytes", &err) == 0, "%s: %s", what, err.msg);
    check_same(&back, &e, what);
    /* The seal is what protobuf writes for the checksum field: a plain parse sees it, and
     * packing the parsed message gives the same bytes. */
    T2__ExpertSet *m = t2__expert_set__unpack(NULL, len, bytes);
    CHECK(m != NULL && m->checksum == t2_decomposition_xxh64(bytes, len - 10, 0),
          "%s: the checksum field does not parse", what);
    if (m != NULL) {
        CHECK(t2__expert_set__get_packed_size(m) == len, "%s: repacked size differs", what);
        unsigned char *repacked = t2_alloc(len);
        t2__expert_set__pack(m, repacked);
        CHECK(memcmp(repacked, bytes, len) == 0, "%s: repacked bytes differ", what);
        t2_free(repacked);
        t2__expert_set__free_unpacked(m, NULL);
    }
    CHECK(t2_expert_check_adapter(&back, &a, "bytes", &err) == 0, "%s: %s", what, err.msg);
    t2_expert_free(&back);

    char *path = t2_model_dir_path(dir, "round.expert");
    CHECK(t2_expert_write(&e, path, &err) == 0, "%s: %s", what, err.msg);
    CHECK(t2_expert_read(&back, path, &err) == 0, "%s: %s", what, err.msg);
    check_same(&back, &e, what);
    t2_expert_free(&back);
    t2_expert_free(&back); /* twice is fine */
    unlink(path);
    t2_free(path);
    t2_free(bytes);
    t2_free(again);
    t2_expert_free(&e);
    free_adapter(&a);
}

/* Every prefix and every single-byte change of a packed expert is refused; the expert is
 * left zeroed. Then the same through a file, whose path the message names. */
static void test_truncated_and_corrupt(const char *dir) {
    t2_adapter_options o = {.method = T2_ADAPTER_SVF, .max_mult = 2, .renormalize = 1};
    t2_expert e, back;
    t2_adapter a;
    t2_error err = {{0}};
    make_expert(&e, &a, &o, 3);
    unsigned char *bytes;
    size_t len;
    t2_expert_pack(&e, &bytes, &len);
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++) {
        err.msg[0] = '\0';
        if (t2_expert_unpack(&back, bytes, cut, "cut", &err) == 0) accepted++;
        CHECK(back.params == NULL && back.n == 0, "cut %zu: expert not zeroed", cut);
        if (cut == len / 2) check_message(&err, "cut: not a t2 expert file (", "truncated");
        t2_expert_free(&back);
    }
    CHECK(accepted == 0, "%d of %zu truncations accepted", accepted, len);
    accepted = 0;
    for (size_t at = 0; at < len; at++) {
        bytes[at] ^= 0x10;
        if (t2_expert_unpack(&back, bytes, len, "flip", &err) == 0) accepted++;
        t2_expert_free(&back);
        bytes[at] ^= 0x10;
    }
    CHECK(accepted == 0, "%d of %zu corrupted bytes accepted", accepted, len);
    check_message(&err, "flip: not a t2 expert file (checksum ", "corrupt");

    char *path = t2_model_dir_path(dir, "truncated.expert");
    CHECK(t2_file_write_atomic(path, bytes, len - 3, &err) == 0, "%s", err.msg);
    CHECK(t2_expert_read(&back, path, &err) != 0, "truncated file accepted");
    check_message(&err, "truncated.expert: not a t2 expert file (", "truncated file");
    check_message(&err, "; expected ", "truncated file");
    bytes[len / 3] ^= 0xff;
    CHECK(t2_file_write_atomic(path, bytes, len, &err) == 0, "%s", err.msg);
    CHECK(t2_expert_read(&back, path, &err) != 0, "corrupt file accepted");
    check_message(&err, "truncated.expert: not a t2 expert file (checksum ", "corrupt file");
    unlink(path);
    CHECK(t2_expert_read(&back, path, &err) != 0, "missing file accepted");
    check_message(&err, "truncated.expert: cannot open", "missing file");
    t2_free(path);
    t2_free(bytes);
    t2_expert_free(&e);
    free_adapter(&a);
}

/* A rule-breaking message: the packed expert, parsed, changed by `edit`, sealed again. */
typedef void (*edit_fn)(T2__ExpertSet *m);
static void edit_version(T2__ExpertSet *m) { m->format_version = 2; }
static void edit_method(T2__ExpertSet *m) { m->method = "dora"; }
static void edit_parametrization(T2__ExpertSet *m) { m->parametrization = "tanh"; }
static void edit_fingerprint(T2__ExpertSet *m) { m->model_fingerprint = "0123456789ABCDEF"; }
static void edit_short(T2__ExpertSet *m) { m->vectors[1]->n_values--; }
static void edit_duplicate(T2__ExpertSet *m) { m->vectors[2]->tensor = m->vectors[0]->tensor; }
static void edit_shape(T2__ExpertSet *m) { m->vectors[0]->rows = 0; }
static void edit_no_vectors(T2__ExpertSet *m) { m->n_vectors = 0; }
static void edit_no_summary(T2__ExpertSet *m) { m->summary = NULL; }
static void edit_max_mult(T2__ExpertSet *m) { m->max_mult = -1; }
static void edit_best_step(T2__ExpertSet *m) { m->summary->best_step = 41; }

static void test_rules(void) {
    static const struct {
        edit_fn edit;
        const char *message;
    } cases[] = {
        {edit_version, "(format_version 2); expected 1"},
        {edit_method, "(method 'dora'); expected svf or lora"},
        {edit_parametrization, "(parametrization 'tanh'); expected sigmoid or linear"},
        {edit_fingerprint, "(model_fingerprint '0123456789ABCDEF'); expected 16 lower-case hex"},
        {edit_short, "(tensor 'model.layers.0.mlp.down_proj.weight' of shape [6, 4] has 3 "
                     "values); expected 4 (svf: min(rows, cols))"},
        {edit_duplicate, "(tensor 'model.layers.0.mlp.up_proj.weight' appears twice, vectors 0 "
                         "and 2); expected each target once"},
        {edit_shape, "has shape [0, 6]); expected rows and cols from 1"},
        {edit_no_vectors, "(0 vectors); expected 1 to"},
        {edit_no_summary, "(no training summary); expected one"},
        {edit_max_mult, "(max_mult -1); expected a positive number"},
        {edit_best_step, "best step 41"},
    };
    t2_adapter_options o = {.method = T2_ADAPTER_SVF, .max_mult = 2, .renormalize = 1};
    t2_expert e, back;
    t2_adapter a;
    make_expert(&e, &a, &o, 5);
    unsigned char *bytes;
    size_t len;
    t2_expert_pack(&e, &bytes, &len);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        T2__ExpertSet *m = t2__expert_set__unpack(NULL, len, bytes);
        CHECK(m != NULL, "the packed expert does not parse");
        if (m == NULL) break;
        /* Keep what free_unpacked frees: the edits replace pointers and counts. */
        size_t n_vectors = m->n_vectors;
        T2__TrainingSummary *summary = m->summary;
        char *method = m->method, *parametrization = m->parametrization,
             *fp = m->model_fingerprint, *tensor2 = m->vectors[2]->tensor;
        size_t n_values1 = m->vectors[1]->n_values;
        m->checksum = 0;
        cases[c].edit(m);
        unsigned char *sealed;
        size_t sealed_len;
        t2_expert_seal(&m->base, &sealed, &sealed_len);
        t2_error err = {{0}};
        CHECK(t2_expert_unpack(&back, sealed, sealed_len, "edited", &err) != 0,
              "case %zu (%s) accepted", c, cases[c].message);
        check_message(&err, "edited: not a t2 expert file (", cases[c].message);
        check_message(&err, cases[c].message, cases[c].message);
        t2_expert_free(&back);
        t2_free(sealed);
        m->n_vectors = n_vectors;
        m->summary = summary;
        m->method = method;
        m->parametrization = parametrization;
        m->model_fingerprint = fp;
        m->vectors[2]->tensor = tensor2;
        m->vectors[1]->n_values = n_values1;
        t2__expert_set__free_unpacked(m, NULL);
    }
    t2_free(bytes);
    t2_expert_free(&e);
    free_adapter(&a);
}

static void test_checks(void) {
    t2_adapter_options o = {.method = T2_ADAPTER_SVF, .max_mult = 2, .renormalize = 1};
    t2_expert e;
    t2_adapter a, other;
    t2_error err = {{0}};
    make_expert(&e, &a, &o, 9);

    CHECK(t2_expert_check_model(&e, fingerprint, "m", "x.expert", &err) == 0, "%s", err.msg);
    CHECK(t2_expert_check_model(&e, "fedcba9876543210", "models/small", "x.expert", &err) != 0,
          "another model's fingerprint accepted");
    check_message(&err, "x.expert: expert made for another base model (fingerprint "
                  "0123456789abcdef); expected fedcba9876543210 (models/small)", "model");

    CHECK(t2_expert_check_adapter(&e, &a, "x.expert", &err) == 0, "%s", err.msg);
    t2_adapter_options o2 = o;
    o2.max_mult = 3;
    make_adapter(&other, &o2, 3, names, rows, cols);
    CHECK(t2_expert_check_adapter(&e, &other, "x.expert", &err) != 0, "other max_mult accepted");
    check_message(&err, "x.expert: expert is svf (parametrization=sigmoid max_mult=2 "
                  "renormalize=true); expected svf (parametrization=sigmoid max_mult=3 "
                  "renormalize=true) as the adapter", "options");
    free_adapter(&other);

    make_adapter(&other, &o, 2, names, rows, cols);
    CHECK(t2_expert_check_adapter(&e, &other, "x.expert", &err) != 0, "fewer targets accepted");
    check_message(&err, "x.expert: expert has 3 targets; expected 2", "targets");
    free_adapter(&other);

    const char *const swapped[3] = {names[1], names[0], names[2]};
    make_adapter(&other, &o, 3, swapped, rows, cols);
    CHECK(t2_expert_check_adapter(&e, &other, "x.expert", &err) != 0, "other names accepted");
    check_message(&err, "x.expert: target 0 is 'model.layers.0.mlp.up_proj.weight'; expected "
                  "'model.layers.0.mlp.down_proj.weight'", "names");
    free_adapter(&other);

    const int64_t wide[3] = {6, 7, 5};
    make_adapter(&other, &o, 3, names, rows, wide);
    CHECK(t2_expert_check_adapter(&e, &other, "x.expert", &err) != 0, "other shape accepted");
    check_message(&err, "target 'model.layers.0.mlp.down_proj.weight' has shape [6, 4]; "
                  "expected [6, 7]", "shape");
    free_adapter(&other);

    t2_adapter_options lora = {.method = T2_ADAPTER_LORA, .lora_rank = 2, .lora_alpha = 4};
    make_adapter(&other, &lora, 3, names, rows, cols);
    CHECK(t2_expert_check_adapter(&e, &other, "x.expert", &err) != 0, "lora accepted");
    check_message(&err, "expected lora (rank=2 alpha=4)", "method");
    free_adapter(&other);
    t2_expert_free(&e);
    free_adapter(&a);
}

static void fill(float *x, int64_t n, float base) {
    for (int64_t i = 0; i < n; i++) x[i] = base + 0.25f * (float)i;
}

static void test_train_state(const char *dir) {
    char *path = t2_model_dir_path(dir, "run.ckpt");
    t2_error err = {{0}};
    t2_train_state s, back;
    t2_train_state_init(&s, "run-a", 37);
    CHECK(s.best_val_accuracy == -1 && s.step == 0, "init: best %g step %lld",
          s.best_val_accuracy, (long long)s.step);
    fill(s.params, 37, 1);
    fill(s.adam_m, 37, -2);
    fill(s.adam_v, 37, 3e-6f);
    fill(s.best_params, 37, 0.5f);
    s.step = 12;
    s.best_step = 10;
    s.best_val_accuracy = 0.375;
    s.elapsed_seconds = 81.25;
    s.tokens = 98765;
    CHECK(t2_train_state_write(&s, path, &err) == 0, "%s", err.msg);
    CHECK(t2_train_state_read(&back, path, "run-a", 37, &err) == 0, "%s", err.msg);
    CHECK(strcmp(back.run, "run-a") == 0 && back.n_params == 37 && back.step == 12 &&
              back.best_step == 10 && back.best_val_accuracy == 0.375 &&
              back.elapsed_seconds == 81.25 && back.tokens == 98765,
          "train state scalars differ (run %s, n %lld, step %lld)", back.run,
          (long long)back.n_params, (long long)back.step);
    t2_check_close("params", back.params, s.params, 37, 0, 0);
    t2_check_close("adam_m", back.adam_m, s.adam_m, 37, 0, 0);
    t2_check_close("adam_v", back.adam_v, s.adam_v, 37, 0, 0);
    t2_check_close("best_params", back.best_params, s.best_params, 37, 0, 0);
    t2_train_state_free(&back);

    CHECK(t2_train_state_read(&back, path, "run-b", 37, &err) != 0, "other run accepted");
    check_message(&err, "run.ckpt: checkpoint belongs to another run (run-a); expected run-b",
                  "run");
    CHECK(back.params == NULL && back.run == NULL, "failed read left memory");
    CHECK(t2_train_state_read(&back, path, "run-a", 36, &err) != 0, "other size accepted");
    check_message(&err, "run.ckpt: checkpoint holds 37 parameters; expected 36", "size");

    unsigned char *bytes;
    size_t len;
    CHECK(t2_file_read(path, (char **)&bytes, &len, &err) == 0, "%s", err.msg);
    CHECK(t2_file_write_atomic(path, bytes, len - 20, &err) == 0, "%s", err.msg);
    CHECK(t2_train_state_read(&back, path, "run-a", 37, &err) != 0, "truncated accepted");
    check_message(&err, "run.ckpt: not a t2 training checkpoint (", "truncated");
    t2_free(bytes);

    /* An expert file is not a checkpoint (and the reverse). */
    t2_adapter_options o = {.method = T2_ADAPTER_SVF, .max_mult = 2};
    t2_expert e;
    t2_adapter a;
    make_expert(&e, &a, &o, 1);
    CHECK(t2_expert_write(&e, path, &err) == 0, "%s", err.msg);
    CHECK(t2_train_state_read(&back, path, "run-a", 37, &err) != 0, "expert read as state");
    check_message(&err, "run.ckpt: ", "expert as state");
    CHECK(t2_train_state_write(&s, path, &err) == 0, "%s", err.msg);
    t2_expert other;
    CHECK(t2_expert_read(&other, path, &err) != 0, "state read as expert");
    check_message(&err, "run.ckpt: not a t2 expert file (", "state as expert");
    t2_expert_free(&other);
    t2_expert_free(&e);
    free_adapter(&a);

    unlink(path);
    t2_free(path);
    t2_train_state_free(&s);
    t2_train_state_free(&s);
}

static void test_failed_writes(const char *dir) {
    t2_adapter_options o = {.method = T2_ADAPTER_LORA, .lora_rank = 2, .lora_alpha = 8};
    t2_expert e;
    t2_adapter a;
    t2_error err = {{0}};
    make_expert(&e, &a, &o, 2);
    /* The path is a folder: the temporary file is written, the rename fails, and the
     * temporary file must be gone. */
    char *folder = t2_model_dir_path(dir, "taken");
    CHECK(mkdir(folder, 0755) == 0, "mkdir %s", folder);
    CHECK(t2_expert_write(&e, folder, &err) != 0, "writing over a folder succeeded");
    check_message(&err, "taken: write failed", "folder");
    t2_train_state s;
    t2_train_state_init(&s, "r", 5);
    CHECK(t2_train_state_write(&s, folder, &err) != 0, "writing over a folder succeeded");
    CHECK(t2_check_count_entries(dir) == 1, "%d entries left in %s; expected only the folder",
          t2_check_count_entries(dir), dir);
    rmdir(folder);
    t2_free(folder);

    char *missing = t2_model_dir_path(dir, "no-such-folder/x.expert");
    CHECK(t2_expert_write(&e, missing, &err) != 0, "writing into a missing folder succeeded");
    check_message(&err, "no-such-folder/x.expert: cannot write: No such file", "missing");
    CHECK(t2_check_count_entries(dir) == 0, "%d entries left in %s", t2_check_count_entries(dir), dir);
    t2_free(missing);
    t2_train_state_free(&s);
    t2_expert_free(&e);
    free_adapter(&a);
}

int main(void) {
    char *dir = t2_check_temp_dir("expert");
    const t2_adapter_options options[] = {
        {.method = T2_ADAPTER_SVF, .parametrization = T2_SVF_SIGMOID, .max_mult = 2.5f,
         .renormalize = 1},
        {.method = T2_ADAPTER_SVF, .parametrization = T2_SVF_LINEAR, .max_mult = 1,
         .renormalize = 0, .lora_rank = 4},
        {.method = T2_ADAPTER_LORA, .parametrization = T2_SVF_SIGMOID, .lora_rank = 2,
         .lora_alpha = 16},
    };
    const char *what[] = {"svf sigmoid", "svf linear", "lora"};
    for (int i = 0; i < 3; i++) test_round_trip(&options[i], dir, what[i]);
    test_truncated_and_corrupt(dir);
    test_rules();
    test_checks();
    test_train_state(dir);
    test_failed_writes(dir);
    rmdir(dir);
    t2_free(dir);
    return t2_check_exit_code();
}
