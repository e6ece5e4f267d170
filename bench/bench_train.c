/* Benchmark of the training pass (model/train.h): forward + backward tokens/s against BLIS
 * on the same GEMMs and against PyTorch on the same model and batch, in one run.
 *
 * Shapes (a Llama-style model with random weights, untied lm_head, no biases):
 *   default: d_model 256, 8 heads / 4 KV heads, 6 layers, ffn 704, vocab 259, batch 32 x 128
 *   small:   d_model 128, 4 heads / 2 KV heads, 4 layers, ffn 352, vocab 259, batch 32 x 64
 *            (the shape of the PyTorch figures in BUILD-NOTES.md)
 * or one shape from the flags. For each it measures, alternating so all see the same
 * machine, after a warm-up round, best of --repeats rounds (and best of --passes passes,
 * each measuring everything once, default 2):
 *   t2 step      t2_trainer_step with weight gradients, one process with BLIS's threads;
 *   t2 svf       the same without weight gradients, with a (no-op) linear callback;
 *   BLIS GEMMs   exactly the linear-layer GEMMs the step runs (shapes, transposes,
 *                accumulation), through t2_gemm alone;
 *   t2 2 ranks   two processes of one thread, each stepping half the batch at the same
 *                time (data-parallel pretraining without the all-reduce);
 *   PyTorch      bench/train_torch.py (float32, torch.set_num_threads(2)): with its BLAS
 *                (Debian's libblas.so.3, i.e. BLIS) as installed, once; and with the BLIS
 *                kernel set t2 runs, BLAS threads 1 and 2 — the best is the reference.
 * It prints tokens/s, model GFLOP/s (linear layers 6 T P, causal attention 12 T n/2 d_q per
 * layer), BLIS's GFLOP/s on the step's GEMMs, the share of the step those GEMMs account for,
 * and the t2 / PyTorch ratios.
 *
 *   bench_train [--d N] [--heads N] [--kv-heads N] [--layers N] [--ffn N] [--vocab N]
 *               [--seqs N] [--len N] [--repeats N] [--passes N] [--no-torch] [--steps N]
 *   --steps N: only run N t2 steps of the (first) shape, for profiling.
 * Threads: t2_blis_setup(0, 1), i.e. BLIS_NUM_THREADS or every CPU available. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/progress.h"
#include "base/rng.h"
#include "linalg/blis_setup.h"
#include "linalg/gemm.h"
#include "model/train.h"

typedef struct shape {
    int64_t d, heads, kv_heads, layers, ffn, vocab, seqs, len;
} shape;

typedef struct options {
    shape shapes[2];
    int n_shapes;
    int64_t repeats, passes, steps;
    int torch;
    int worker; /* --worker: one rank of the 2-rank measurement; prints "seconds: S" */
} options;

static const shape default_shape = {256, 8, 4, 6, 704, 259, 32, 128};
static const shape small_shape = {128, 4, 2, 4, 352, 259, 32, 64};

static int parse_options(options *o, int argc, char **argv) {
    *o = (options){{default_shape, small_shape}, 2, 3, 2, 0, 1, 0};
    shape *s = &o->shapes[0];
    const char *names[] = {"--d",    "--heads", "--kv-heads", "--layers",  "--ffn", "--vocab",
                           "--seqs", "--len",   "--repeats",  "--passes", "--steps"};
    int64_t *values[] = {&s->d,    &s->heads, &s->kv_heads, &s->layers, &s->ffn,  &s->vocab,
                         &s->seqs, &s->len,   &o->repeats,  &o->passes, &o->steps};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-torch") == 0) {
            o->torch = 0;
            continue;
        }
        if (strcmp(argv[i], "--worker") == 0) {
            o->worker = 1;
            continue;
        }
        int known = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            if (strcmp(argv[i], names[k]) != 0 || i + 1 >= argc) continue;
            *values[k] = strtoll(argv[++i], NULL, 10);
            known = *values[k] > 0;
            if (k < 8) o->n_shapes = 1; /* a shape flag: that one shape only */
        }
        if (!known) {
            fprintf(stderr, "bench_train: bad argument '%s'; see the header of "
                    "bench/bench_train.c\n", argv[i]);
            return -1;
        }
    }
    if (s->heads % s->kv_heads != 0 || s->d % s->heads != 0 || (s->d / s->heads) % 2 != 0) {
        fprintf(stderr, "bench_train: heads must divide d (into even head dims) and be a "
                "multiple of kv-heads\n");
        return -1;
    }
    return 0;
}

static t2_model_config make_config(const shape *s) {
    t2_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.model_type, sizeof cfg.model_type, "llama");
    cfg.hidden_size = s->d;
    cfg.intermediate_size = s->ffn;
    cfg.num_hidden_layers = s->layers;
    cfg.num_attention_heads = s->heads;
    cfg.num_key_value_heads = s->kv_heads;
    cfg.head_dim = s->d / s->heads;
    cfg.vocab_size = s->vocab;
    cfg.max_position_embeddings = s->len;
    cfg.rms_norm_eps = 1e-5f;
    cfg.rope_theta = 10000.0;
    cfg.bos_token_id = -1;
    return cfg;
}

/* ---- the step's linear-layer GEMMs, alone ---- */

typedef struct gemm_plan {
    const t2_model_config *cfg;
    const t2_model_weights *w;
    t2_model_weights *grads; /* NULL: no weight-gradient GEMMs (the svf step) */
    int64_t rows;
    float *a, *b, *c;        /* scratch: rows x widest */
} gemm_plan;

/* C (m x n) = op(A) op(B) + beta C, as the trainer's GEMMs; returns its FLOPs. */
static double gemm(float *c, const float *a, int trans_a, const float *b, int trans_b,
                   int64_t m, int64_t n, int64_t k, float beta) {
    t2_gemm(c, n, a, trans_a ? m : k, trans_a, b, trans_b ? k : n, trans_b, m, n, k, 1.0f, beta);
    return 2.0 * (double)m * (double)n * (double)k;
}

/* Runs every linear GEMM of one step (forward, head, per layer backward); returns FLOPs. */
static double plan_run(const gemm_plan *p) {
    const t2_model_config *cfg = p->cfg;
    int64_t d = cfg->hidden_size, ffn = cfg->intermediate_size, vocab = cfg->vocab_size;
    int64_t q = cfg->num_attention_heads * cfg->head_dim;
    int64_t qkv = q + 2 * cfg->num_key_value_heads * cfg->head_dim, t = p->rows;
    double flops = 0.0;
    for (int64_t l = 0; l < cfg->num_hidden_layers; l++) {
        const t2_layer_weights *lw = &p->w->layers[l];
        flops += gemm(p->c, p->a, 0, lw->wq.f32, 1, t, qkv, d, 0.0f);
        flops += gemm(p->c, p->a, 0, lw->wo.f32, 1, t, d, q, 1.0f);
        flops += gemm(p->c, p->a, 0, lw->w_gate.f32, 1, t, 2 * ffn, d, 0.0f);
        flops += gemm(p->c, p->a, 0, lw->w_down.f32, 1, t, d, ffn, 1.0f);
    }
    flops += gemm(p->c, p->a, 0, p->w->lm_head.f32, 1, t, vocab, d, 0.0f);
    flops += gemm(p->c, p->a, 0, p->w->lm_head.f32, 0, t, d, vocab, 0.0f);
    if (p->grads) flops += gemm(p->grads->lm_head.f32, p->a, 1, p->b, 0, vocab, d, t, 1.0f);
    for (int64_t l = cfg->num_hidden_layers - 1; l >= 0; l--) {
        const t2_layer_weights *lw = &p->w->layers[l];
        t2_layer_weights *gw = p->grads ? &p->grads->layers[l] : NULL;
        flops += gemm(p->c, p->a, 0, lw->w_down.f32, 0, t, ffn, d, 0.0f);
        if (gw) flops += gemm(gw->w_down.f32, p->a, 1, p->b, 0, d, ffn, t, 1.0f);
        flops += gemm(p->c, p->a, 0, lw->w_gate.f32, 0, t, d, 2 * ffn, 0.0f);
        if (gw) flops += gemm(gw->w_gate.f32, p->a, 1, p->b, 0, 2 * ffn, d, t, 1.0f);
        flops += gemm(p->c, p->a, 0, lw->wo.f32, 0, t, q, d, 0.0f);
        if (gw) flops += gemm(gw->wo.f32, p->a, 1, p->b, 0, d, q, t, 1.0f);
        if (gw) flops += gemm(gw->wq.f32, p->a, 1, p->b, 0, qkv, d, t, 1.0f);
        if (l > 0 || gw) flops += gemm(p->c, p->a, 0, lw->wq.f32, 0, t, d, qkv, 0.0f);
    }
    return flops;
}

/* Causal attention FLOPs of a step: QKᵀ and PV forward, twice that backward. */
static double attention_flops(const t2_model_config *cfg, const shape *s) {
    double pairs = (double)s->len * (double)(s->len + 1) / 2.0;
    double q = (double)(cfg->num_attention_heads * cfg->head_dim);
    return 12.0 * pairs * q * (double)s->seqs * (double)cfg->num_hidden_layers;
}

/* ---- one shape's measurements ---- */

typedef struct batch {
    int32_t *tokens, *targets;
    float *weights;
    t2_train_batch view;
} batch;

static batch make_batch(const shape *s, uint64_t seed) {
    int64_t rows = s->seqs * s->len;
    batch b = {t2_alloc_array((size_t)rows, sizeof(int32_t)),
               t2_alloc_array((size_t)rows, sizeof(int32_t)),
               t2_alloc_array((size_t)rows, sizeof(float)), {0}};
    t2_rng rng;
    t2_rng_init(&rng, seed);
    for (int64_t r = 0; r < rows; r++) {
        b.tokens[r] = (int32_t)(t2_rng_next(&rng) % (uint64_t)s->vocab);
        b.targets[r] = (int32_t)(t2_rng_next(&rng) % (uint64_t)s->vocab);
        b.weights[r] = 1.0f / (float)rows;
    }
    b.view = (t2_train_batch){s->seqs, s->len, b.tokens, b.targets, b.weights};
    return b;
}

static void batch_free(batch *b) {
    t2_free(b->tokens);
    t2_free(b->targets);
    t2_free(b->weights);
}

static void noop_linear(void *ctx, int64_t layer, t2_linear_kind kind, const float *x,
                        const float *delta, int64_t rows, int64_t in, int64_t out) {}

static double timed_step(t2_trainer *tr, const batch *b, const t2_train_options *opt) {
    double loss = 0.0, start = t2_time_now();
    t2_error err = {{0}};
    if (t2_trainer_step(tr, &b->view, opt, &loss, &err) != 0) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        exit(1);
    }
    return t2_time_now() - start;
}

static double min2(double a, double b) { return a < b ? a : b; }

typedef struct t2_result {
    double step, svf, gemm_step, gemm_svf; /* best seconds */
    double flops_step, flops_svf;          /* GEMM FLOPs of each */
} t2_result;

/* Steps of one process over shape s; with steps > 0 only runs that many (profiling). */
static t2_result measure_t2(const shape *s, int64_t repeats, int64_t steps) {
    t2_model_config cfg = make_config(s);
    t2_model_weights w, grads;
    t2_model_weights_init(&w, &cfg);
    t2_model_weights_init_random(&w, &cfg, 1, 0.02f);
    t2_model_weights_init(&grads, &cfg);
    batch b = make_batch(s, 2);
    t2_trainer *tr = t2_trainer_new(&cfg, &w, s->seqs, s->len);
    t2_train_options with_grads = {&grads, NULL, NULL, NULL};
    t2_train_options svf = {NULL, noop_linear, NULL, NULL};
    t2_result r = {1e30, 1e30, 1e30, 1e30, 0.0, 0.0};
    if (steps > 0) {
        for (int64_t i = 0; i < steps; i++) r.step = min2(r.step, timed_step(tr, &b, &with_grads));
    } else {
        int64_t rows = s->seqs * s->len, qkv = s->d + 2 * s->kv_heads * (s->d / s->heads);
        int64_t widest = 2 * s->ffn > s->vocab ? 2 * s->ffn : s->vocab;
        widest = widest > qkv ? widest : qkv;
        gemm_plan plan = {&cfg, &w, &grads, rows,
                          t2_alloc_array((size_t)(rows * widest), sizeof(float)),
                          t2_alloc_array((size_t)(rows * widest), sizeof(float)),
                          t2_alloc_array((size_t)(rows * widest), sizeof(float))};
        gemm_plan plan_svf = plan;
        plan_svf.grads = NULL;
        for (int64_t i = 0; i < rows * widest; i++) plan.a[i] = plan.b[i] = 0.01f;
        for (int64_t round = 0; round < repeats + 1; round++) {
            double step = timed_step(tr, &b, &with_grads);
            double svf_step = timed_step(tr, &b, &svf);
            double start = t2_time_now();
            r.flops_step = plan_run(&plan);
            double gemm_step = t2_time_now() - start;
            start = t2_time_now();
            r.flops_svf = plan_run(&plan_svf);
            double gemm_svf = t2_time_now() - start;
            if (round == 0) continue; /* warm-up */
            r.step = min2(r.step, step);
            r.svf = min2(r.svf, svf_step);
            r.gemm_step = min2(r.gemm_step, gemm_step);
            r.gemm_svf = min2(r.gemm_svf, gemm_svf);
        }
        t2_free(plan.a);
        t2_free(plan.b);
        t2_free(plan.c);
    }
    t2_trainer_free(tr);
    batch_free(&b);
    t2_model_weights_free(&grads);
    t2_model_weights_free(&w);
    return r;
}

/* ---- subprocesses: t2 ranks and PyTorch ---- */

/* Starts a shell command; its stdout is read by finish(). */
static FILE *start(const char *command) {
    fprintf(stderr, "  $ %s\n", command);
    return popen(command, "r");
}

/* The number after `key` on the last line holding it, or -1 (also on a failed command). */
static double finish(FILE *p, const char *key) {
    if (p == NULL) return -1.0;
    char line[1024];
    double value = -1.0;
    while (fgets(line, sizeof line, p) != NULL) {
        const char *at = strstr(line, key);
        if (at != NULL) value = strtod(at + strlen(key), NULL);
    }
    return pclose(p) == 0 ? value : -1.0;
}

static void shape_flags(char *out, size_t size, const shape *s, int64_t seqs) {
    snprintf(out, size, "--d %lld --heads %lld --kv-heads %lld --layers %lld --ffn %lld "
             "--vocab %lld --seqs %lld --len %lld", (long long)s->d, (long long)s->heads,
             (long long)s->kv_heads, (long long)s->layers, (long long)s->ffn,
             (long long)s->vocab, (long long)seqs, (long long)s->len);
}

/* Tokens/s of two single-threaded processes stepping half the batch each, concurrently. */
static double measure_two_ranks(const char *self, const shape *s, int64_t repeats) {
    char flags[512], command[PATH_MAX + 700];
    shape_flags(flags, sizeof flags, s, s->seqs / 2);
    snprintf(command, sizeof command, "BLIS_NUM_THREADS=1 %s --worker --repeats %lld %s", self,
             (long long)repeats, flags);
    FILE *ranks[2] = {start(command), start(command)};
    double seconds[2] = {finish(ranks[0], "seconds: "), finish(ranks[1], "seconds: ")};
    if (seconds[0] <= 0 || seconds[1] <= 0) return -1.0;
    return (double)(2 * (s->seqs / 2) * s->len) / (seconds[0] > seconds[1] ? seconds[0]
                                                                          : seconds[1]);
}

/* PyTorch's tokens/s (torch threads 2). same_kernels: BLIS (torch's BLAS through Debian's
 * libblas.so.3) with the kernel set t2 runs and 1 or 2 BLAS threads, the best; when
 * as_installed is set, also the environment left as installed (BLIS picks its own kernels:
 * its generic ones on CPUs it does not recognise) with 1 round, into *as_installed. */
static double measure_torch(const char *script, const shape *s, int64_t repeats,
                            double *as_installed) {
    char flags[512], arch_env[64] = "", command[PATH_MAX + 800];
    shape_flags(flags, sizeof flags, s, s->seqs);
    const char *arch = getenv("BLIS_ARCH_TYPE"); /* the kernel set t2 runs, set at setup */
    if (arch != NULL) snprintf(arch_env, sizeof arch_env, "BLIS_ARCH_TYPE=%s ", arch);
    if (as_installed != NULL) {
        snprintf(command, sizeof command, "env -u BLIS_ARCH_TYPE BLIS_NUM_THREADS=1 "
                 "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=2 /usr/bin/python3 %s %s --repeats 1 "
                 "--threads 2", script, flags);
        *as_installed = finish(start(command), "tokens/s: ");
        fprintf(stderr, "    -> %.0f tokens/s\n", *as_installed);
    }
    double best = -1.0;
    for (int blas_threads = 1; blas_threads <= 2; blas_threads++) {
        snprintf(command, sizeof command, "%sBLIS_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d "
                 "OMP_NUM_THREADS=2 /usr/bin/python3 %s %s --repeats %lld --threads 2",
                 arch_env, blas_threads, blas_threads, script, flags, (long long)repeats);
        double rate = finish(start(command), "tokens/s: ");
        fprintf(stderr, "    -> %.0f tokens/s\n", rate);
        best = rate > best ? rate : best;
    }
    return best;
}

static void print_row(const char *what, double tokens_per_s, double gflops, double blis_gflops,
                      double gemm_share) {
    printf("  %-34s %9.0f %11.1f", what, tokens_per_s, gflops);
    if (blis_gflops > 0) printf(" %12.1f %9.0f %%", blis_gflops, 100.0 * gemm_share);
    printf("\n");
}

static void run_shape(const options *o, const shape *s, const char *self, const char *script) {
    t2_model_config cfg = make_config(s);
    int64_t tokens = s->seqs * s->len;
    printf("\nd_model %lld, heads %lld/%lld, layers %lld, ffn %lld, vocab %lld; batch %lld x "
           "%lld; BLIS %s, %d threads\n", (long long)s->d, (long long)s->heads,
           (long long)s->kv_heads, (long long)s->layers, (long long)s->ffn, (long long)s->vocab,
           (long long)s->seqs, (long long)s->len, t2_blis_arch_name(), t2_blis_threads());
    fflush(stdout);
    /* passes alternate t2 and PyTorch, so a load on the machine that comes and goes does not
     * favour either; each figure is the best over the passes */
    t2_result r = {1e30, 1e30, 1e30, 1e30, 0.0, 0.0};
    double two_ranks = -1.0, torch = -1.0, torch_installed = -1.0;
    for (int64_t pass = 0; pass < o->passes; pass++) {
        t2_result p = measure_t2(s, o->repeats, 0);
        r.flops_step = p.flops_step;
        r.flops_svf = p.flops_svf;
        r.step = min2(r.step, p.step);
        r.svf = min2(r.svf, p.svf);
        r.gemm_step = min2(r.gemm_step, p.gemm_step);
        r.gemm_svf = min2(r.gemm_svf, p.gemm_svf);
        double ranks = measure_two_ranks(self, s, o->repeats);
        two_ranks = ranks > two_ranks ? ranks : two_ranks;
        double rate = o->torch ? measure_torch(script, s, o->repeats,
                                               pass == 0 ? &torch_installed : NULL)
                               : -1.0;
        torch = rate > torch ? rate : torch;
    }
    double attn = attention_flops(&cfg, s);
    printf("  %-34s %9s %11s %12s %11s\n", "", "tokens/s", "GFLOP/s", "BLIS GFLOP/s",
           "GEMM share");
    print_row("t2 step (weight gradients)", (double)tokens / r.step,
              (r.flops_step + attn) / r.step * 1e-9, r.flops_step / r.gemm_step * 1e-9,
              r.gemm_step / r.step);
    print_row("t2 svf step (callback only)", (double)tokens / r.svf,
              (r.flops_svf + attn) / r.svf * 1e-9, r.flops_svf / r.gemm_svf * 1e-9,
              r.gemm_svf / r.svf);
    if (two_ranks > 0)
        print_row("t2 2 ranks x 1 thread (no allreduce)", two_ranks,
                  (r.flops_step + attn) / (double)tokens * two_ranks * 1e-9, -1.0, 0.0);
    if (torch_installed > 0)
        print_row("PyTorch, BLAS as installed", torch_installed,
                  (r.flops_step + attn) / (double)tokens * torch_installed * 1e-9, -1.0, 0.0);
    if (torch > 0) {
        print_row("PyTorch, t2's BLIS kernels (best)", torch,
                  (r.flops_step + attn) / (double)tokens * torch * 1e-9, -1.0, 0.0);
        printf("  t2 / PyTorch (best): %.2fx (one process), %.2fx (2 ranks)\n",
               (double)tokens / r.step / torch, two_ranks / torch);
    } else if (o->torch) {
        printf("  PyTorch: not measured (/usr/bin/python3 with torch failed)\n");
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    options o;
    if (parse_options(&o, argc, argv) != 0) return 2;
    t2_blis_setup(0, 1);
    if (o.worker) { /* one rank of measure_two_ranks: best step seconds */
        t2_result r = measure_t2(&o.shapes[0], o.repeats, o.repeats + 1);
        printf("seconds: %.6f\n", r.step);
        return 0;
    }
    if (o.steps > 0) {
        t2_result r = measure_t2(&o.shapes[0], 0, o.steps);
        printf("best step %.3f s: %.0f tokens/s\n", r.step,
               (double)(o.shapes[0].seqs * o.shapes[0].len) / r.step);
        return 0;
    }
    char self[PATH_MAX], src[PATH_MAX], script[PATH_MAX + 32];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    T2_ASSERT(len > 0);
    self[len] = '\0';
    snprintf(src, sizeof src, "%s", __FILE__);
    snprintf(script, sizeof script, "%s/train_torch.py", dirname(src));
    printf("bench_train: forward + backward of a random Llama-style model; best of %lld "
           "rounds after a warm-up, best of %lld passes\n  GFLOP/s: model FLOPs / step time; "
           "BLIS GFLOP/s: the step's linear GEMMs alone; GEMM share: their time alone / step "
           "time\n", (long long)o.repeats, (long long)o.passes);
    for (int i = 0; i < o.n_shapes; i++) run_shape(&o, &o.shapes[i], self, script);
    return 0;
}
