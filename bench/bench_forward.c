/* Benchmark of the batched forward (model/forward.h) against BLIS on the same GEMMs.
 *
 * Builds a random Llama-style model in memory (default d_model 1024, 8 heads / 4 KV heads,
 * 4 layers, ffn 2816, vocab 32000; flags change it) and measures, in one run:
 *   prefill: P prompts of L tokens in one forward call (last logits only, as generation does);
 *   decode:  batches of 1, 32 and 128 sequences (each holding a C-token context) stepping one
 *            token at a time;
 * and for each phase times the very GEMM shapes that phase runs (every projection, the MLP
 * and lm_head, with the same row counts) through t2_gemm alone. It prints tokens/s, the
 * forward's FLOP/s (projections, lm_head and causal attention), BLIS's FLOP/s on the GEMMs,
 * and their ratio; then the llama.cpp figures recorded in BUILD-NOTES.md for this model
 * shape, which are NOT measured by this program. Forward and GEMM timings alternate (per
 * call for prefill, per step for decode) after one warm-up round; prefill figures are the
 * best of --repeats rounds, decode figures the median step of --repeats x --steps steps.
 *
 *   bench_forward [--d N] [--heads N] [--kv-heads N] [--layers N] [--ffn N] [--vocab N]
 *                 [--prompts N] [--prompt-len N] [--context N] [--steps N] [--repeats N]
 *                 [--only-batch N]     (only the decode phase of batch N: for profiling)
 * Threads: t2_blis_setup(0, 1), i.e. BLIS_NUM_THREADS or every CPU available. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/progress.h"
#include "base/rng.h"
#include "linalg/blis_setup.h"
#include "linalg/gemm.h"
#include "model/forward.h"

typedef struct options {
    int64_t d, heads, kv_heads, layers, ffn, vocab;
    int64_t prompts, prompt_len, context, steps, repeats;
    int64_t only_batch; /* > 0: run only the decode phase of that batch size (for profiling) */
} options;

typedef struct phase_result {
    double tokens_per_s;
    double forward_gflops; /* all matmul FLOPs / forward time */
    double blis_gflops;    /* GEMM FLOPs / time of the GEMMs alone */
} phase_result;

static int parse_options(options *o, int argc, char **argv) {
    *o = (options){1024, 8, 4, 4, 2816, 32000, 4, 256, 128, 16, 3, 0};
    const char *names[] = {"--d",      "--heads",      "--kv-heads", "--layers",
                           "--ffn",    "--vocab",      "--prompts",  "--prompt-len",
                           "--context", "--steps",     "--repeats",  "--only-batch"};
    int64_t *values[] = {&o->d,       &o->heads,      &o->kv_heads, &o->layers,
                         &o->ffn,     &o->vocab,      &o->prompts,  &o->prompt_len,
                         &o->context, &o->steps,      &o->repeats,  &o->only_batch};
    for (int i = 1; i < argc; i++) {
        int known = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            if (strcmp(argv[i], names[k]) != 0 || i + 1 >= argc) continue;
            *values[k] = strtoll(argv[++i], NULL, 10);
            known = *values[k] > 0;
        }
        if (!known) {
            fprintf(stderr, "bench_forward: bad argument '%s'; see the header of "
                    "bench/bench_forward.c\n", argv[i]);
            return -1;
        }
    }
    if (o->heads % o->kv_heads != 0 || o->d % o->heads != 0) {
        fprintf(stderr, "bench_forward: heads must divide d and be a multiple of kv-heads\n");
        return -1;
    }
    return 0;
}

static t2_model_config make_config(const options *o) {
    t2_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.model_type, sizeof cfg.model_type, "llama");
    cfg.hidden_size = o->d;
    cfg.intermediate_size = o->ffn;
    cfg.num_hidden_layers = o->layers;
    cfg.num_attention_heads = o->heads;
    cfg.num_key_value_heads = o->kv_heads;
    cfg.head_dim = o->d / o->heads;
    cfg.vocab_size = o->vocab;
    cfg.max_position_embeddings = 4096;
    cfg.rms_norm_eps = 1e-5f;
    cfg.rope_theta = 10000.0;
    cfg.bos_token_id = -1;
    return cfg;
}

/* The GEMMs of one forward: `rows` rows through layers 0..L-2 and the last layer's QKV,
 * `last_rows` rows through the last layer's output projection and MLP and lm_head. */
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
    return (double)p->rows * (layers * qkv + (layers - 1) * rest) +
           (double)p->last_rows * (rest + 2.0 * d * (double)c->vocab_size);
}

/* Runs the plan's GEMMs once on scratch buffers shaped like the forward's. */
static void plan_run(const gemm_plan *p, const t2_model_weights *w, float *x, float *y) {
    const t2_model_config *c = p->cfg;
    int64_t d = c->hidden_size, ffn = c->intermediate_size;
    int64_t q = c->num_attention_heads * c->head_dim, kv = c->num_key_value_heads * c->head_dim;
    for (int64_t l = 0; l < c->num_hidden_layers; l++) {
        const t2_layer_weights *lw = &w->layers[l];
        /* one GEMM for [Wq Wk Wv] and one for [Wg Wu], as the forward runs them */
        T2_ASSERT(lw->wk == lw->wq + q * d && lw->wv == lw->wk + kv * d);
        T2_ASSERT(lw->w_up == lw->w_gate + ffn * d);
        int64_t m = l == c->num_hidden_layers - 1 ? p->last_rows : p->rows;
        t2_gemm(y, q + 2 * kv, x, d, 0, lw->wq, d, 1, p->rows, q + 2 * kv, d, 1.0f, 0.0f);
        t2_gemm(x, d, y, q, 0, lw->wo, q, 1, m, d, q, 1.0f, 1.0f);
        t2_gemm(y, 2 * ffn, x, d, 0, lw->w_gate, d, 1, m, 2 * ffn, d, 1.0f, 0.0f);
        t2_gemm(x, d, y, ffn, 0, lw->w_down, ffn, 1, m, d, ffn, 1.0f, 1.0f);
    }
    t2_gemm(y, c->vocab_size, x, d, 0, w->lm_head, d, 1, p->last_rows, c->vocab_size, d, 1.0f,
            0.0f);
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

/* Causal attention FLOPs (scores and weighted values) of n queries after `first` positions. */
static double attention_flops(const t2_model_config *c, int64_t first, int64_t n) {
    double keys = (double)n * (double)first + (double)n * (double)(n + 1) / 2.0;
    return 4.0 * keys * (double)(c->num_attention_heads * c->head_dim) *
           (double)c->num_hidden_layers;
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
    t2_kv_cache_init(&cache, cfg, n, len);
    int32_t *tokens = t2_alloc_array((size_t)rows, sizeof(int32_t));
    t2_forward_seq *seqs = t2_alloc_array((size_t)n, sizeof *seqs);
    float *logits = t2_alloc((size_t)(n * cfg->vocab_size) * sizeof(float));
    t2_rng rng;
    t2_rng_init(&rng, 5);
    fill_tokens(tokens, rows, cfg->vocab_size, &rng);
    for (int64_t s = 0; s < n; s++) seqs[s] = (t2_forward_seq){s, len, tokens + s * len};
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
    double flops = plan_flops(&plan) + (double)n * attention_flops(cfg, 0, len);
    phase_result res = {(double)rows / best, flops / best * 1e-9,
                        plan_flops(&plan) / gemm_time * 1e-9};
    t2_free(logits);
    t2_free(seqs);
    t2_free(tokens);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    return res;
}

static phase_result bench_decode(const options *o, const t2_model_config *cfg,
                                 const t2_model_weights *w, int64_t batch) {
    int64_t ctx = o->context, steps = o->steps, capacity = ctx + steps * (o->repeats + 1);
    t2_forward f;
    t2_kv_cache cache;
    t2_forward_init(&f, cfg, w, batch * ctx < 4096 ? batch * ctx : 4096, capacity);
    t2_kv_cache_init(&cache, cfg, batch, capacity);
    int32_t *tokens = t2_alloc_array((size_t)(batch * ctx), sizeof(int32_t));
    t2_forward_seq *seqs = t2_alloc_array((size_t)batch, sizeof *seqs);
    float *logits = t2_alloc((size_t)(batch * cfg->vocab_size) * sizeof(float));
    t2_rng rng;
    t2_rng_init(&rng, 6);
    fill_tokens(tokens, batch * ctx, cfg->vocab_size, &rng);
    for (int64_t s = 0; s < batch; s++) seqs[s] = (t2_forward_seq){s, ctx, tokens + s * ctx};
    run_or_die(&f, &cache, seqs, batch, logits); /* the contexts, not timed */
    for (int64_t s = 0; s < batch; s++) seqs[s].n_tokens = 1;
    gemm_plan plan = {cfg, batch, batch};
    gemm_scratch scratch = scratch_init(&plan);
    /* one forward step, then the same step's GEMMs alone, alternating, so that both see the
     * same machine; the medians over the timed rounds (the first warms up) are compared */
    int64_t n_timed = steps * o->repeats, k = 0, first = 0;
    double *fwd_times = t2_alloc_array((size_t)n_timed, sizeof(double));
    double *gemm_times = t2_alloc_array((size_t)n_timed, sizeof(double));
    for (int64_t r = 0; r < o->repeats + 1; r++) {
        if (r == 1) first = cache.length[0];
        for (int64_t t = 0; t < steps; t++) {
            double start = t2_time_now();
            run_or_die(&f, &cache, seqs, batch, logits);
            double elapsed = t2_time_now() - start;
            double gemm = time_plan(&plan, w, &scratch);
            if (r == 0) continue;
            fwd_times[k] = elapsed;
            gemm_times[k++] = gemm;
        }
    }
    double step = median(fwd_times, n_timed), gemm_step = median(gemm_times, n_timed);
    double attention = (double)batch * attention_flops(cfg, first, n_timed) / (double)n_timed;
    scratch_free(&scratch);
    t2_free(fwd_times);
    t2_free(gemm_times);
    double flops = plan_flops(&plan) + attention;
    phase_result res = {(double)batch / step, flops / step * 1e-9,
                        plan_flops(&plan) / gemm_step * 1e-9};
    t2_free(logits);
    t2_free(seqs);
    t2_free(tokens);
    t2_kv_cache_free(&cache);
    t2_forward_free(&f);
    return res;
}

static void print_row(const char *what, phase_result r) {
    printf("%-28s %10.0f %12.1f %12.1f %8.0f %%\n", what, r.tokens_per_s, r.forward_gflops,
           r.blis_gflops, 100.0 * r.forward_gflops / r.blis_gflops);
}

int main(int argc, char **argv) {
    options o;
    if (parse_options(&o, argc, argv) != 0) return 2;
    t2_blis_setup(0, 1);
    t2_model_config cfg = make_config(&o);
    t2_model_weights w;
    t2_model_weights_init(&w, &cfg);
    t2_model_weights_init_random(&w, &cfg, 1, 0.02f);
    printf("bench_forward: d_model %lld, heads %lld/%lld, layers %lld, ffn %lld, vocab %lld; "
           "BLIS %s, %d threads\n", (long long)o.d, (long long)o.heads, (long long)o.kv_heads,
           (long long)o.layers, (long long)o.ffn, (long long)o.vocab, t2_blis_arch_name(),
           t2_blis_threads());
    printf("%-28s %10s %12s %12s %10s\n", "phase", "tokens/s", "fwd GFLOP/s", "BLIS GFLOP/s",
           "fwd/BLIS");
    char what[64];
    if (o.only_batch == 0) {
        snprintf(what, sizeof what, "prefill %lld x %lld", (long long)o.prompts,
                 (long long)o.prompt_len);
        print_row(what, bench_prefill(&o, &cfg, &w));
    }
    int64_t batches[3] = {1, 32, 128};
    if (o.only_batch > 0) batches[0] = batches[1] = batches[2] = o.only_batch;
    for (int i = 0; i < (o.only_batch > 0 ? 1 : 3); i++) {
        snprintf(what, sizeof what, "decode batch %lld (ctx %lld)", (long long)batches[i],
                 (long long)o.context);
        print_row(what, bench_decode(&o, &cfg, &w, batches[i]));
    }
    printf("\nllama.cpp on this model shape, F32, 2 threads (BUILD-NOTES.md; not measured "
           "here):\n  prompt processing ~2,000 tokens/s; generation ~188 tokens/s for one "
           "sequence, ~960 tokens/s for 32 sequences together\n");
    t2_model_weights_free(&w);
    return 0;
}
