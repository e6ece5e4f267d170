/* Whole-model gradient check of the training pass (model/train.h) on every small variant of
 * test_train_reference.h (grouped-query and multi-query attention, q/k/v and o_proj biases,
 * tied embeddings, llama3 RoPE scaling): the weight gradients t2_trainer_step adds are
 * compared, for every tensor of the model, with central finite differences of the
 * double-precision reference loss:
 *   - along a random direction v over the whole tensor: g . v against (L(w + hv) - L(w - hv)) / 2h,
 *     relative to max(|FD|, |g|_2);
 *   - at the tensor's largest gradient entry and at 3 random entries, relative to
 *     max(|FD|, 1 % of the tensor's largest gradient).
 * Every relative error must be <= 1e-3. Also: the training forward's loss equals the reference
 * loss; gradients are added (a second step doubles them); a tensor's gradient is never all
 * zero. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/rng.h"
#include "check.h"
#include "linalg/blis_setup.h"
#include "model/train.h"
#include "test_train_reference.h"

enum { N_SEQS = 2, SEQ_LEN = 6, MAX_TENSORS = 64, N_ENTRIES = 4 };

/* The tensors of a weights struct, in the fixed visiting order. */
typedef struct tensor_list {
    int n;
    char names[MAX_TENSORS][96];
    int64_t sizes[MAX_TENSORS];
    float *data[MAX_TENSORS];
} tensor_list;

static void list_tensor(void *ctx, const char *name, int n_dims, const int64_t *shape,
                        float *data) {
    tensor_list *list = ctx;
    if (list->n == MAX_TENSORS) return;
    snprintf(list->names[list->n], sizeof list->names[0], "%s", name);
    list->sizes[list->n] = n_dims == 2 ? shape[0] * shape[1] : shape[0];
    list->data[list->n++] = data;
}

static double worst_error = 0.0;

static void report(const char *variant, const char *tensor, const char *what, double got,
                   double want, double scale) {
    double err = fabs(got - want) / scale;
    worst_error = err > worst_error ? err : worst_error;
    CHECK(err <= 1e-3, "%s %s %s: backward %.9g, finite difference %.9g, relative error %.3g",
          variant, tensor, what, got, want, err);
}

/* Central difference of the reference loss along direction dir over the n doubles at p. */
static double fd_along(const t2_train_ref *ref, const t2_train_batch *b, double *p,
                       const double *dir, int64_t n, double h) {
    double *keep = t2_alloc_array((size_t)n, sizeof(double));
    memcpy(keep, p, (size_t)n * sizeof(double));
    for (int64_t i = 0; i < n; i++) p[i] = keep[i] + h * dir[i];
    double up = t2_train_ref_loss(ref, b, NULL);
    for (int64_t i = 0; i < n; i++) p[i] = keep[i] - h * dir[i];
    double down = t2_train_ref_loss(ref, b, NULL);
    memcpy(p, keep, (size_t)n * sizeof(double));
    t2_free(keep);
    return (up - down) / (2.0 * h);
}

static void check_tensor(const char *variant, const char *name, const t2_train_ref *ref,
                         const t2_train_batch *b, double *p, const float *g, int64_t n,
                         t2_rng *rng) {
    const double h = 1e-4;
    double norm = 0.0, largest = 0.0;
    int64_t arg_largest = 0;
    for (int64_t i = 0; i < n; i++) {
        norm += (double)g[i] * g[i];
        if (fabs(g[i]) > largest) {
            largest = fabs(g[i]);
            arg_largest = i;
        }
    }
    norm = sqrt(norm);
    CHECK(norm > 0.0, "%s %s: the gradient is all zero", variant, name);
    if (norm == 0.0) return;
    double *dir = t2_alloc_array((size_t)n, sizeof(double));
    double predicted = 0.0;
    for (int64_t i = 0; i < n; i++) {
        dir[i] = t2_rng_normal(rng);
        predicted += g[i] * dir[i];
    }
    double fd = fd_along(ref, b, p, dir, n, h);
    report(variant, name, "random direction", predicted, fd, fmax(fabs(fd), norm));
    for (int e = 0; e < N_ENTRIES; e++) {
        int64_t i = e == 0 ? arg_largest : (int64_t)(t2_rng_next(rng) % (uint64_t)n);
        double one = 1.0;
        double fd_i = fd_along(ref, b, p + i, &one, 1, h);
        char what[48];
        snprintf(what, sizeof what, "entry %lld", (long long)i);
        report(variant, name, what, g[i], fd_i, fmax(fabs(fd_i), 0.01 * largest));
    }
    t2_free(dir);
}

static void check_variant(int v) {
    const char *variant = t2_train_ref_variant(v);
    t2_model_config cfg;
    t2_model_weights w, grads;
    t2_train_ref_model(&cfg, &w, v);
    t2_model_weights_init(&grads, &cfg);
    t2_train_ref_batch rb;
    t2_train_ref_batch_init(&rb, N_SEQS, SEQ_LEN, cfg.vocab_size, 300 + (uint64_t)v);
    t2_train_ref ref;
    t2_train_ref_init(&ref, &cfg, &w);

    t2_trainer *tr = t2_trainer_new(&cfg, &w, N_SEQS + 1, SEQ_LEN + 2);
    t2_train_options opt = {&grads, NULL, NULL, NULL};
    double loss = 0.0;
    t2_error err = {{0}};
    CHECK(t2_trainer_step(tr, &rb.batch, &opt, &loss, &err) == 0, "%s: %s", variant, err.msg);
    double ref_loss = t2_train_ref_loss(&ref, &rb.batch, NULL);
    CHECK(fabs(loss - ref_loss) <= 1e-5 * fabs(ref_loss) + 1e-6,
          "%s: training loss %.9g; reference %.9g", variant, loss, ref_loss);

    tensor_list wl = {0}, gl = {0};
    t2_model_weights_visit(&w, &cfg, list_tensor, &wl);
    t2_model_weights_visit(&grads, &cfg, list_tensor, &gl);
    CHECK(wl.n == gl.n && wl.n < MAX_TENSORS, "%s: %d tensors, %d gradients", variant, wl.n,
          gl.n);
    t2_rng rng;
    t2_rng_init(&rng, 400 + (uint64_t)v);
    double worst_before = worst_error;
    worst_error = 0.0;
    for (int i = 0; i < wl.n; i++)
        check_tensor(variant, wl.names[i], &ref, &rb.batch, t2_train_ref_param(&ref, wl.data[i]),
                     gl.data[i], wl.sizes[i], &rng);
    fprintf(stderr, "%-12s %d tensors, %d finite differences each: worst relative error %.3g\n",
            variant, wl.n, 1 + N_ENTRIES, worst_error);
    worst_error = fmax(worst_error, worst_before);

    /* gradients are added: a second step doubles them */
    float *first = t2_alloc_array((size_t)grads.slab_floats, sizeof(float));
    memcpy(first, grads.slab, (size_t)grads.slab_floats * sizeof(float));
    CHECK(t2_trainer_step(tr, &rb.batch, &opt, &loss, &err) == 0, "%s: %s", variant, err.msg);
    for (int64_t i = 0; i < grads.slab_floats; i++) first[i] *= 2.0f;
    char what[96];
    snprintf(what, sizeof what, "%s: gradients after two steps vs twice one step", variant);
    t2_check_close(what, grads.slab, first, grads.slab_floats, 1e-6, 1e-5);

    t2_free(first);
    t2_trainer_free(tr);
    t2_train_ref_free(&ref);
    t2_train_ref_batch_free(&rb);
    t2_model_weights_free(&grads);
    t2_model_weights_free(&w);
}

int main(void) {
    t2_blis_setup(1, 1);
    for (int v = 0; v < T2_TRAIN_REF_VARIANTS; v++) check_variant(v);
    fprintf(stderr, "worst relative error over all gradient checks: %.3g\n", worst_error);
    return t2_check_exit_code();
}
