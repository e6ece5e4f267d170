/* Benchmark of the batched forward (model/forward.h) against physical references.
 *
 * Builds a random Llama-style model in memory, F32 or (--dtype) BF16 / F16 — default the d1024 model of issue 15
 * (d_model 1024, 8 heads / 4 KV heads, 4 layers, ffn 2816, vocab 512); --llama-1b the
 * Llama-3.2-1B shape (d 2048, 16 layers, 32 / 8 heads, ffn 8192, vocab 128256, tied
 * embeddings; ~5 GB); flags change every size — and measures, in one run:
 *   prefill: P prompts of L tokens in one forward call (last logits only, as generation does);
 *   decode:  batches of 1, 32 and 128 sequences (each holding a C-token context) stepping one
 *            token at a time: every round of --steps steps starts again from the C-token
 *            context, so the steps see contexts C .. C + steps - 1, as llama-batched-bench's
 *            -npp C -ntg steps does;
 * and for each phase times the very GEMM shapes that phase runs (every projection, the MLP
 * and lm_head, with the same row counts) through t2_gemm alone (so through the skinny
 * kernels where t2_gemm sends them). It prints tokens/s, the forward's FLOP/s (projections,
 * lm_head and causal attention), t2_gemm's FLOP/s on those GEMMs, and the ratio of the
 * forward to a physical reference measured in the same run:
 *   decode batch 1: the weights' bytes read per token x tokens/s, against a STREAM-like read
 *                   of the weights (bench/stream_read.h) — the bandwidth bound;
 *   the rest:       the forward's FLOP/s against BLIS's sgemm on a large product (4096 x 4096
 *                   x 1024, B transposed as t2's weights) — the compute bound.
 * Forward and GEMM timings alternate (per call for prefill, per step for decode) after one
 * warm-up round; prefill figures are the best of --repeats rounds, decode figures the median
 * step of --repeats x --steps steps; the references are the best of their rounds.
 *
 *   bench_forward [--llama-1b] [--d N] [--heads N] [--kv-heads N] [--layers N] [--ffn N]
 *                 [--vocab N] [--prompts N] [--prompt-len N] [--context N] [--steps N]
 *                 [--repeats N] [--only-batch N]  (only the decode phase of batch N: profiling)
 *                 [--only-prefill]                (only the prefill phase)
 *                 [--kv F32|F16]  (the KV cache's type; llama.cpp's default is F16)
 *                 [--dtype F32|BF16|F16]  (the matrices' type; BF16/F16 also run batch-1 decode
 *                 with every step followed by the float32 twin's, and print the ratio)
 * Threads: t2_blis_setup(0, 1), i.e. BLIS_NUM_THREADS or every CPU available. T2_KERNEL=blis
 * runs every GEMM through BLIS (the forward as it was before the skinny kernels). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "bench_model.h"
#include "base/assert.h"
#include "base/progress.h"
#include "base/rng.h"
#include "linalg/blis_setup.h"
#include "linalg/gemm.h"
#include "linalg/skinny.h"
#include "model/forward.h"
#include "stream_read.h"

typedef struct options {
    int64_t d, heads, kv_heads, layers, ffn, vocab;
    int64_t prompts, prompt_len, context, steps, repeats;
    int tied; /* lm_head = embed_tokens */
    t2_weight_type dtype; /* of the matrices */
    t2_weight_type kv;    /* of the KV cache: F32 or F16 */
    int64_t only_batch; /* > 0: run only the decode phase of that batch size (for profiling) */
    int only_prefill;   /* 1: run only the prefill phase */
} options;

typedef struct phase_result {
    double tokens_per_s;
    double forward_gflops; /* all matmul FLOPs / forward time */
    double gemm_gflops;    /* GEMM FLOPs / time of the GEMMs alone (t2_gemm) */
    double read_gbs;       /* decode of one sequence: the STREAM-like read of the weight slab,
                            * timed after every step (median), else 0 */
} phase_result;

static int parse_options(options *o, int argc, char **argv) {
    *o = (options){1024, 8, 4, 4, 2816, 512, 4, 256, 128, 16, 3, 0, T2_WEIGHT_F32, T2_WEIGHT_F32, 0, 0};
    const char *names[] = {"--d",      "--heads",      "--kv-heads", "--layers",
                           "--ffn",    "--vocab",      "--prompts",  "--prompt-len",
                           "--context", "--steps",     "--repeats",  "--only-batch"};
    int64_t *values[] = {&o->d,       &o->heads,      &o->kv_heads, &o->layers,
                         &o->ffn,     &o->vocab,      &o->prompts,  &o->prompt_len,
                         &o->context, &o->steps,      &o->repeats,  &o->only_batch};
    for (int i = 1; i < argc; i++) {
        int known = 0;
        if (strcmp(argv[i], "--llama-1b") == 0) {
            o->d = 2048, o->heads = 32, o->kv_heads = 8, o->layers = 16, o->ffn = 8192;
            o->vocab = 128256, o->tied = 1;
            continue;
        }
        if (strcmp(argv[i], "--only-prefill") == 0) {
            o->only_prefill = 1;
            continue;
        }
        if (strcmp(argv[i], "--kv") == 0 && i + 1 < argc && bench_kv_type(argv[i + 1], &o->kv)) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "--dtype") == 0 && i + 1 < argc) {
            const char *name = argv[++i];
            int found = 0;
            for (int t = T2_WEIGHT_F32; t <= T2_WEIGHT_F16; t++)
                if (strcmp(name, t2_weight_type_name((t2_weight_type)t)) == 0) {
                    o->dtype = (t2_weight_type)t;
                    found = 1;
                }
            if (found) continue;
        }
        known = bench_int_flag(argc, argv, &i, names, values, sizeof names / sizeof names[0]);
        if (!known) {
            fprintf(stderr, "bench_forward: bad argument '%s'; see the header of "
                    "bench/bench_forward.c\n", argv[i]);
            return -1;
        }
    }
    return bench_check_heads("bench_forward", o->d, o->heads, o->kv_heads);
}


/* The GEMMs of one forward: `rows` rows through layers 0..L-2 and the last layer's K and V
 * (and Q when rows == last_rows, as one [Q K V] product), `last_rows` rows through the last
 * layer's Q (when fewer than rows), output projection and MLP and lm_head. */
typedef struct gemm_plan {
    const t2_model_config *cfg;
    int64_t rows, last_rows;
} gemm_plan;

static double plan_flops(const gemm_plan *p) {
    const t2_model_config *c = p->cfg;
    double d = (double)c->hidden_size, ffn = (double)c->intermediate_size;
    double q = (double)(c->num_attention_heads * c->head_dim);
    double kv = (double)(c->num_key_value_heads * c->head_dim);
    double qkv = 2.0 * d * (q + 2 * kv), rest = 2.0 * (q * d + 3.0 * d * ffn);
    double layers = (double)c->num_hidden_layers;
    return (double)p->rows * (layers * qkv + (layers - 1) * rest - 2.0 * d * q) +
           (double)p->last_rows * (2.0 * d * q + rest + 2.0 * d * (double)c->vocab_size);
}

/* Runs the plan's GEMMs once on scratch buffers shaped like the forward's. */
static void plan_run(const gemm_plan *p, const t2_model_weights *w, float *x, float *y) {
    const t2_model_config *c = p->cfg;
    int64_t d = c->hidden_size, ffn = c->intermediate_size;
    int64_t q = c->num_attention_heads * c->head_dim, kv = c->num_key_value_heads * c->head_dim;
    for (int64_t l = 0; l < c->num_hidden_layers; l++) {
        const t2_layer_weights *lw = &w->layers[l];
        /* one GEMM for [Wq Wk Wv] and one for [Wg Wu], as the forward runs them */
        T2_ASSERT(t2_weight_follows(lw->wq, q * d, lw->wk) &&
                  t2_weight_follows(lw->wk, kv * d, lw->wv));
        T2_ASSERT(t2_weight_follows(lw->w_gate, ffn * d, lw->w_up));
        int64_t m = l == c->num_hidden_layers - 1 ? p->last_rows : p->rows;
        if (m == p->rows) {
            t2_weight_gemm(y, q + 2 * kv, x, d, lw->wq, p->rows, q + 2 * kv, d, 0.0f);
        } else { /* the last layer's queries of the last rows only, as the forward */
            t2_weight_gemm(y + q, q + 2 * kv, x, d, lw->wk, p->rows, 2 * kv, d, 0.0f);
            t2_weight_gemm(y, q + 2 * kv, x, d, lw->wq, m, q, d, 0.0f);
        }
        t2_weight_gemm(x, d, y, q, lw->wo, m, d, q, 1.0f);
        t2_weight_gemm(y, 2 * ffn, x, d, lw->w_gate, m, 2 * ffn, d, 0.0f);
        t2_weight_gemm(x, d, y, ffn, lw->w_down, m, d, ffn, 1.0f);
    }
    t2_weight_gemm(y, c->vocab_size, x, d, w->lm_head, p->last_rows, c->vocab_size, d, 0.0f);
}

/* Scratch shaped like the forward's activations, for timing a plan's GEMMs alone. */
typedef struct gemm_scratch {
    float *x, *y;
} gemm_scratch;

static gemm_scratch scratch_init(const gemm_plan *p) {
    const t2_model_config *c = p->cfg;
    int64_t width = c->vocab_size > 2 * c->intermediate_size ? c->vocab_size
                                                             : 2 * c->intermediate_size;
    gemm_scratch s = {
        t2_alloc_array((size_t)(p->rows * (c->intermediate_size + c->hidden_size)),
                       sizeof(float)),
        t2_alloc_array((size_t)(p->rows * width), sizeof(float)),
    };
    t2_rng rng;
    t2_rng_init(&rng, 3);
    for (int64_t i = 0; i < p->rows * c->hidden_size; i++) s.x[i] = 0.1f * t2_rng_normal(&rng);
    return s;
}

static void scratch_free(gemm_scratch *s) {
    t2_free(s->x);
    t2_free(s->y);
}

/* Seconds for one run of the plan's GEMMs. */
static double time_plan(const gemm_plan *p, const t2_model_weights *w, gemm_scratch *s) {
    double start = t2_time_now();
    plan_run(p, w, s->x, s->y);
    return t2_time_now() - start;
}

static double min2(double a, double b) { return a < b ? a : b; }

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of n > 0 values (sorts them). */
static double median(double *v, int64_t n) {
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Causal attention FLOPs (scores and weighted values) of n queries after `first` positions in
 * `layers` layers. */
static double attention_flops(const t2_model_config *c, int64_t first, int64_t n,
                              int64_t layers) {
    double keys = (double)n * (double)first + (double)n * (double)(n + 1) / 2.0;
    return 4.0 * keys * (double)(c->num_attention_heads * c->head_dim) * (double)layers;
}

static void fill_tokens(int32_t *tokens, int64_t n, int64_t vocab, t2_rng *rng) {
    for (int64_t i = 0; i < n; i++) tokens[i] = (int32_t)(t2_rng_next(rng) % (uint64_t)vocab);
}

static void run_or_die(t2_forward *f, t2_kv_cache *cache, const t2_forward_seq *seqs,
                       int64_t n, float *logits) {
    t2_error err = {{0}};
    if (t2_forward_run(f, cache, seqs, n, T2_FORWARD_LOGITS_LAST, logits, &err) != 0) {
        fprintf(stderr, "bench_forward: %s\n", err.msg);
        exit(1);
    }
}

static phase_result bench_prefill(const options *o, const t2_model_config *cfg,
                                  const t2_model_weights *w) {
    int64_t n = o->prompts, len = o->prompt_len, rows = n * len;
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, cfg, w, rows, len);
    t2_kv_cache_init_typed(&cache, cfg, n, len, o->kv);
    int32_t *tokens = t2_alloc_array((size_t)rows, sizeof(int32_t));
    t2_forward_seq *seqs = t2_alloc_array((size_t)n, sizeof *seqs);
    float *logits = t2_alloc((size_t)(n * cfg->vocab_size) * sizeof(float));
    t2_rng rng;
    t2_rng_init(&rng, 5);
    fill_tokens(tokens, rows, cfg->vocab_size, &rng);
    for (int64_t s = 0; s < n; s++) seqs[s] = (t2_forward_seq){s, len, tokens + s * len, 0};
    gemm_plan plan = {cfg, rows, n};
    gemm_scratch scratch = scratch_init(&plan);
    /* forward and GEMMs alternate, so both see the same machine; the first round warms up */
    double best = 1e30, gemm_time = 1e30;
    for (int64_t r = 0; r < o->repeats + 1; r++) {
        t2_kv_cache_reset_all(&cache);
        double start = t2_time_now();
        run_or_die(&f, &cache, seqs, n, logits);
        double elapsed = t2_time_now() - start;
        double gemm = time_plan(&plan, w, &scratch);
        if (r == 0) continue;
        best = min2(best, elapsed);
        gemm_time = min2(gemm_time, gemm);
    }
    scratch_free(&scratch);
    /* the last layer attends for each prompt's last token only (the rows the forward keeps) */
    int64_t layers = cfg->num_hidden_layers;
    double flops = plan_flops(&plan) + (double)n * (attention_flops(cfg, 0, len, layers - 1) +
                                                    attention_flops(cfg, len - 1, 1, 1));
    phase_result res = {(double)rows / best, flops / best * 1e-9,
                        plan_flops(&plan) / gemm_time * 1e-9, 0.0};
    t2_free(logits);
    t2_free(seqs);
    t2_free(tokens);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    return res;
}

/* Decode steps of `twin` (float32 weights of the same model) interleaved with the measured
 * ones: a forward and a KV cache of its own. */
typedef struct twin_decoder {
    t2_forward f;
    t2_kv_cache cache;
    double *times;
} twin_decoder;

/* Decode at `batch` sequences of a C-token context, one step at a time; with twin non-NULL
 * every step is followed by the same step on the twin, whose median step gives
 * *twin_tokens_per_s (so both see the same machine: the VM's bandwidth drifts). */
static phase_result bench_decode(const options *o, const t2_model_config *cfg,
                                 const t2_model_weights *w, int64_t batch,
                                 const t2_model_weights *twin, double *twin_tokens_per_s) {
    int64_t ctx = o->context, steps = o->steps, capacity = ctx + steps;
    t2_forward f;
    t2_kv_cache cache;
    int64_t max_rows = batch * ctx < 4096 ? batch * ctx : 4096;
    t2_forward_init(&f, cfg, w, max_rows, capacity);
    t2_kv_cache_init_typed(&cache, cfg, batch, capacity, o->kv);
    twin_decoder td;
    memset(&td, 0, sizeof td);
    if (twin != NULL) {
        t2_forward_init(&td.f, cfg, twin, max_rows, capacity);
        t2_kv_cache_init_typed(&td.cache, cfg, batch, capacity, o->kv);
        td.times = t2_alloc_array((size_t)(steps * o->repeats), sizeof(double));
    }
    int32_t *tokens = t2_alloc_array((size_t)(batch * ctx), sizeof(int32_t));
    t2_forward_seq *seqs = t2_alloc_array((size_t)batch, sizeof *seqs);
    float *logits = t2_alloc((size_t)(batch * cfg->vocab_size) * sizeof(float));
    t2_rng rng;
    t2_rng_init(&rng, 6);
    fill_tokens(tokens, batch * ctx, cfg->vocab_size, &rng);
    for (int64_t s = 0; s < batch; s++) seqs[s] = (t2_forward_seq){s, ctx, tokens + s * ctx, 0};
    run_or_die(&f, &cache, seqs, batch, logits); /* the contexts, not timed */
    if (twin != NULL) run_or_die(&td.f, &td.cache, seqs, batch, logits);
    for (int64_t s = 0; s < batch; s++) seqs[s].n_tokens = 1;
    gemm_plan plan = {cfg, batch, batch};
    gemm_scratch scratch = scratch_init(&plan);
    /* one forward step, then the same step's GEMMs alone (and at batch 1 a read of the
     * weights), alternating, so that all see the same machine; the medians over the timed
     * rounds (the first warms up) are compared */
    int64_t n_timed = steps * o->repeats, k = 0;
    double *fwd_times = t2_alloc_array((size_t)n_timed, sizeof(double));
    double *gemm_times = t2_alloc_array((size_t)n_timed, sizeof(double));
    double *read_times = t2_alloc_array((size_t)n_timed, sizeof(double));
    float sink = 0.0f;
    for (int64_t r = 0; r < o->repeats + 1; r++) {
        for (int64_t s = 0; s < batch; s++) { /* back to the C-token context */
            cache.length[s] = ctx;
            if (twin != NULL) td.cache.length[s] = ctx;
        }
        for (int64_t t = 0; t < steps; t++) {
            double start = t2_time_now();
            run_or_die(&f, &cache, seqs, batch, logits);
            double elapsed = t2_time_now() - start;
            double gemm = time_plan(&plan, w, &scratch);
            double read = batch == 1 ? stream_read_seconds(w->slab, w->slab_floats,
                                                           t2_blis_threads(), &sink)
                                     : 0.0;
            double twin_start = t2_time_now();
            if (twin != NULL) run_or_die(&td.f, &td.cache, seqs, batch, logits);
            double twin_step = t2_time_now() - twin_start;
            if (r == 0) continue;
            if (twin != NULL) td.times[k] = twin_step;
            fwd_times[k] = elapsed;
            read_times[k] = read;
            gemm_times[k++] = gemm;
        }
    }
    double step = median(fwd_times, n_timed), gemm_step = median(gemm_times, n_timed);
    double read = median(read_times, n_timed);
    if (twin != NULL) {
        *twin_tokens_per_s = (double)batch / median(td.times, n_timed);
        t2_free(td.times);
        t2_kv_cache_free(&td.cache);
        t2_forward_free(&td.f);
    }
    double attention = (double)batch * attention_flops(cfg, ctx, steps, cfg->num_hidden_layers) /
                       (double)steps;
    scratch_free(&scratch);
    t2_free(fwd_times);
    t2_free(gemm_times);
    t2_free(read_times);
    double flops = plan_flops(&plan) + attention;
    phase_result res = {(double)batch / step, flops / step * 1e-9,
                        plan_flops(&plan) / gemm_step * 1e-9,
                        read > 0.0 ? (double)w->slab_floats * sizeof(float) / read * 1e-9
                                   : 0.0};
    if (sink == 12345.0f) printf("\n"); /* keeps the read from being optimised away */
    t2_free(logits);
    t2_free(seqs);
    t2_free(tokens);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    return res;
}

/* The physical references of the run (see the header); measured before and after the phases,
 * each the best of its rounds. */
typedef struct references {
    double read_gbs;     /* STREAM-like read of the weight slab (the matrices' bytes) */
    double blis_gflops;  /* BLIS sgemm 4096 x 4096 x 1024, B transposed */
    double step_bytes;   /* weight bytes a decode step reads: every matrix once */
} references;

static void measure_references(references *ref, const options *o, const t2_model_config *cfg,
                               const t2_model_weights *w) {
    float sink = 0.0f;
    for (int64_t r = 0; r < o->repeats + 1; r++) {
        double t = stream_read_seconds(w->slab, w->slab_floats, t2_blis_threads(), &sink);
        double gbs = (double)w->slab_floats * sizeof(float) / t * 1e-9;
        if (r > 0 && gbs > ref->read_gbs) ref->read_gbs = gbs;
    }
    const int64_t m = 4096, n = 4096, k = 1024;
    float *a = t2_alloc_array((size_t)(m * k), sizeof(float));
    float *b = t2_alloc_array((size_t)(n * k), sizeof(float));
    float *c = t2_alloc_array((size_t)(m * n), sizeof(float));
    for (int64_t i = 0; i < m * k; i++) a[i] = b[i] = 0.01f * (float)(i % 13);
    for (int64_t r = 0; r < o->repeats + 1; r++) {
        double start = t2_time_now();
        t2_gemm_strided(c, n, 1, a, k, 1, b, 1, k, m, n, k, 1.0f, 0.0f);
        double gflops = 2.0 * (double)(m * n * k) / (t2_time_now() - start) * 1e-9;
        if (r > 0 && gflops > ref->blis_gflops) ref->blis_gflops = gflops;
    }
    t2_free(a);
    t2_free(b);
    t2_free(c);
    if (sink == 12345.0f) printf("\n"); /* keeps the read from being optimised away */
    int64_t d = cfg->hidden_size, q = cfg->num_attention_heads * cfg->head_dim;
    int64_t kv = cfg->num_key_value_heads * cfg->head_dim, ffn = cfg->intermediate_size;
    double layer = (double)(d * (q + 2 * kv) + q * d + 3 * d * ffn);
    ref->step_bytes = (double)t2_weight_type_size(w->lm_head.type) *
                      (layer * (double)cfg->num_hidden_layers + (double)(cfg->vocab_size * d));
}

/* One row of the table; decode of one sequence is compared with the read bandwidth (the read
 * interleaved with its steps), the other phases with BLIS's large-sgemm speed. */
static void print_row(const char *what, phase_result r, int64_t batch, const references *ref) {
    printf("%-26s %9.1f %12.1f %13.1f   ", what, r.tokens_per_s, r.forward_gflops,
           r.gemm_gflops);
    if (batch == 1) {
        double gbs = ref->step_bytes * r.tokens_per_s * 1e-9;
        double read = r.read_gbs > 0.0 ? r.read_gbs : ref->read_gbs;
        printf("%3.0f %% of the read bandwidth (weights at %.1f of %.1f GB/s)\n",
               100.0 * gbs / read, gbs, read);
    } else {
        printf("%3.0f %% of BLIS's sgemm peak (%.0f GFLOP/s)\n",
               100.0 * r.forward_gflops / ref->blis_gflops, ref->blis_gflops);
    }
}

int main(int argc, char **argv) {
    options o;
    if (parse_options(&o, argc, argv) != 0) return 2;
    t2_blis_setup(0, 1);
    t2_model_config cfg = bench_model_config(o.d, o.ffn, o.layers, o.heads, o.kv_heads, o.vocab,
                                             4096, o.tied);
    t2_model_weights w32, narrow, *wp = &w32;
    t2_model_weights_init(&w32, &cfg);
    t2_model_weights_init_random(&w32, &cfg, 1, 0.02f);
    if (o.dtype != T2_WEIGHT_F32) {
        t2_model_weights_narrow(&narrow, &w32, &cfg, o.dtype);
        wp = &narrow;
    }
    const t2_model_weights *w = wp;
    printf("bench_forward: d_model %lld, heads %lld/%lld, layers %lld, ffn %lld, vocab %lld%s, "
           "%s, KV cache %s; BLIS %s, %d threads; skinny kernel %s\n", (long long)o.d,
           (long long)o.heads, (long long)o.kv_heads, (long long)o.layers, (long long)o.ffn,
           (long long)o.vocab, o.tied ? " (tied)" : "", t2_weight_type_name(o.dtype),
           t2_weight_type_name(o.kv), t2_blis_arch_name(),
           t2_blis_threads(), t2_skinny_kernel_name(t2_skinny_active_kernel()));
    references ref = {0.0, 0.0, 0.0};
    measure_references(&ref, &o, &cfg, w);
    enum { MAX_PHASES = 4 };
    phase_result results[MAX_PHASES];
    char names[MAX_PHASES][64];
    int64_t batch_of[MAX_PHASES];
    int n_phases = 0;
    if (o.only_batch == 0) {
        snprintf(names[n_phases], sizeof names[0], "prefill %lld x %lld", (long long)o.prompts,
                 (long long)o.prompt_len);
        batch_of[n_phases] = 0; /* compared with the sgemm peak */
        results[n_phases++] = bench_prefill(&o, &cfg, w);
    }
    int64_t batches[3] = {1, 32, 128};
    if (o.only_batch > 0) batches[0] = batches[1] = batches[2] = o.only_batch;
    for (int i = 0; i < (o.only_prefill ? 0 : o.only_batch > 0 ? 1 : 3); i++) {
        snprintf(names[n_phases], sizeof names[0], "decode batch %lld (ctx %lld)",
                 (long long)batches[i], (long long)o.context);
        batch_of[n_phases] = batches[i];
        results[n_phases++] = bench_decode(&o, &cfg, w, batches[i], NULL, NULL);
    }
    /* half precision: batch-1 decode again, each step followed by the float32 twin's */
    double twin_tokens_per_s = 0.0;
    phase_result paired = {0.0, 0.0, 0.0, 0.0};
    if (o.dtype != T2_WEIGHT_F32 && o.only_batch <= 1 && !o.only_prefill)
        paired = bench_decode(&o, &cfg, w, 1, &w32, &twin_tokens_per_s);
    measure_references(&ref, &o, &cfg, w);
    printf("weights %.0f MB read per decode step; STREAM-like read %.1f GB/s; BLIS sgemm "
           "4096x4096x1024 %.0f GFLOP/s\n", ref.step_bytes * 1e-6, ref.read_gbs,
           ref.blis_gflops);
    printf("%-26s %9s %12s %13s   %s\n", "phase", "tokens/s", "fwd GFLOP/s", "GEMM GFLOP/s",
           "forward against the reference");
    for (int i = 0; i < n_phases; i++)
        print_row(names[i], results[i], batch_of[i], &ref);
    if (o.dtype != T2_WEIGHT_F32 && o.only_batch <= 1 && !o.only_prefill)
        printf("decode batch 1, steps alternating with the F32 twin's: %s %.1f tokens/s, F32 "
               "%.1f: %.2fx\n", t2_weight_type_name(o.dtype), paired.tokens_per_s,
               twin_tokens_per_s, paired.tokens_per_s / twin_tokens_per_s);
    if (o.dtype != T2_WEIGHT_F32) t2_model_weights_free(&narrow);
    t2_model_weights_free(&w32);
    return 0;
}
