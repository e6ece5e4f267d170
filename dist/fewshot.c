/* The few-shot CEM search across ranks (see fewshot.h): members dealt round-robin to the
 * ranks, scores summed with MPI_Allreduce, one CEM replica per rank. Does not answer the
 * task (dist/eval.c, cmd/adapt.c do, with the α found). */
#include "dist/fewshot.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"
#include "base/progress.h"

t2_fewshot_options t2_fewshot_default_options(int64_t dim, int k) {
    t2_fewshot_options o = {.iterations = 8, .batch = 0, .seed = 1};
    o.cem = t2_cem_default_options(dim);
    o.cem.init_mean = 1.0 / (double)(k > 0 ? k : 1);
    return o;
}

t2_fewshot_settings t2_fewshot_settings_default(void) {
    return (t2_fewshot_settings){.examples = 32, .iterations = 8, .population = 32};
}

/* The commands' objective: the answers of the bundle's mixture (rl/fewshot.h). */
static int score_answers(void *ctx, const float *alpha, const int64_t *which, int64_t m,
                         double *score, double *tiebreak, t2_error *err) {
    return t2_fewshot_score(ctx, alpha, which, m, score, tiebreak, err);
}

int t2_fewshot_run(const t2_runtime *rt, t2_adapt *a, const t2_task *task, t2_task_split split,
                   const char *source, const t2_fewshot_settings *s, uint64_t seed,
                   const t2_eval_decoding *dec, float *alpha, t2_fewshot_result *result,
                   t2_error *err) {
    memset(result, 0, sizeof *result);
    int64_t size = t2_task_size(task, split);
    int64_t n = s->examples < size ? s->examples : size;
    if (n < 1)
        return t2_error_set(err, "%s: no solved examples; expected at least one", source);
    int64_t *indices = t2_alloc_array((size_t)n, sizeof *indices);
    for (int64_t i = 0; i < n; i++) indices[i] = i;
    t2_fewshot_scorer f;
    int status = t2_fewshot_scorer_init(&f, a, task, split, indices, n, dec, err);
    t2_free(indices);
    if (t2_runtime_agree_status(rt, status, err) != 0) return -1;
    t2_fewshot_options o = t2_fewshot_default_options(t2_adapt_dim(a), a->bundle->n);
    o.iterations = s->iterations;
    o.batch = s->batch;
    o.cem.population = s->population;
    o.seed = seed;
    o.log = s->log;
    o.log_label = source;
    t2_fewshot_objective obj = {.experts = a->bundle->n, .dim = t2_adapt_dim(a), .n = n,
                                .names = (const char *const *)a->bundle->categories,
                                .score = score_answers, .ctx = &f};
    status = t2_fewshot_search(rt, &obj, &o, alpha, result, err);
    result->examples = n;
    t2_fewshot_scorer_free(&f);
    return status;
}

/* Scores the rows of alphas (count x dim) owned by this rank on examples which[0..m),
 * then sums scores and tiebreaks over ranks (unowned entries are 0 before the sum).
 * Collective; 0 or -1 with the agreed err. */
static int score_members(const t2_runtime *rt, const t2_fewshot_objective *obj,
                         const float *alphas, int64_t count, const int64_t *which, int64_t m,
                         double *scores, double *tiebreaks, t2_error *err) {
    memset(scores, 0, (size_t)count * sizeof *scores);
    memset(tiebreaks, 0, (size_t)count * sizeof *tiebreaks);
    int status = 0;
    for (int64_t i = rt->rank; status == 0 && i < count; i += rt->size)
        status = obj->score(obj->ctx, alphas + i * obj->dim, which, m, &scores[i],
                            &tiebreaks[i], err);
    if (t2_runtime_agree_status(rt, status, err) != 0) return -1;
    MPI_Allreduce(MPI_IN_PLACE, scores, (int)count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, tiebreaks, (int)count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return 0;
}

/* α = e_k on every layer of the k-th expert, into row (dim values). */
static void single_expert(float *row, int64_t dim, int64_t layers, int k) {
    memset(row, 0, (size_t)dim * sizeof *row);
    for (int64_t l = 0; l < layers; l++) row[k * layers + l] = 1.0f;
}

/* Iteration it's examples: positions (it·batch + j) mod n, j < batch, sorted; returns m. */
static int64_t iteration_examples(int64_t it, int64_t batch, int64_t n, int64_t *which) {
    if (batch <= 0 || batch >= n) {
        for (int64_t j = 0; j < n; j++) which[j] = j;
        return n;
    }
    int64_t first = (it * batch) % n, m = 0;
    for (int64_t j = 0; j < n; j++) {
        int64_t offset = (j - first + n) % n;
        if (offset < batch) which[m++] = j;
    }
    return m;
}

/* text as a JSON string body (quotes and backslashes escaped, controls dropped) into buf. */
static void json_text(char *buf, size_t size, const char *text) {
    size_t n = 0;
    for (const char *c = text ? text : ""; *c != '\0' && n + 3 < size; c++) {
        if (*c == '"' || *c == '\\') buf[n++] = '\\';
        if ((unsigned char)*c >= 0x20) buf[n++] = *c;
    }
    buf[n] = '\0';
}

/* Rank 0: iteration it's line of the log (fewshot.h). 0, or -1 with err. */
static int log_iteration(t2_append_file *log, const t2_fewshot_objective *obj,
                         const t2_fewshot_options *o, const t2_cem *cem, const float *best_alpha,
                         const double *scores, int64_t it, int64_t m, t2_error *err) {
    int64_t pop = cem->population, dim = obj->dim;
    double best = 0.0, tiebreak = 0.0, top = scores[0], sum = 0.0;
    t2_cem_best(cem, NULL, &best, &tiebreak);
    for (int64_t i = 0; i < pop; i++) {
        sum += scores[i];
        if (scores[i] > top) top = scores[i];
    }
    size_t size = 512 + (size_t)(dim * 2 + obj->experts) * 40, len = 0;
    char *line = t2_alloc(size), text[256];
    json_text(text, sizeof text, o->log_label);
    len += (size_t)snprintf(line + len, size - len, "{\"search\": \"%s\", \"iteration\": %lld, "
                            "\"examples\": %lld, \"members\": %lld, \"experts\": [", text,
                            (long long)it + 1, (long long)m, (long long)pop);
    for (int k = 0; k < obj->experts; k++) {
        char name[32];
        snprintf(name, sizeof name, "%d", k);
        json_text(text, sizeof text, obj->names != NULL ? obj->names[k] : name);
        len += (size_t)snprintf(line + len, size - len, "%s\"%s\"", k ? ", " : "", text);
    }
    len += (size_t)snprintf(line + len, size - len, "], \"best_score\": %.17g, "
                            "\"best_tiebreak\": %.17g, \"best_alpha\": [", best, tiebreak);
    for (int64_t d = 0; d < dim; d++)
        len += (size_t)snprintf(line + len, size - len, "%s%.9g", d ? ", " : "",
                                (double)best_alpha[d]);
    len += (size_t)snprintf(line + len, size - len, "], \"iteration_best\": %.17g, "
                            "\"iteration_mean\": %.17g, \"mean_alpha\": [", top,
                            sum / (double)pop);
    for (int64_t d = 0; d < dim; d++)
        len += (size_t)snprintf(line + len, size - len, "%s%.17g", d ? ", " : "", cem->mean[d]);
    len += (size_t)snprintf(line + len, size - len, "]}\n");
    int status = t2_append_file_line(log, line, len, err);
    t2_free(line);
    return status;
}

static int better(double score, double tiebreak, double than_score, double than_tiebreak) {
    return score > than_score || (score == than_score && tiebreak > than_tiebreak);
}

int t2_fewshot_search(const t2_runtime *rt, const t2_fewshot_objective *obj,
                      const t2_fewshot_options *o, float *alpha, t2_fewshot_result *result,
                      t2_error *err) {
    memset(result, 0, sizeof *result);
    double start = t2_time_now();
    int k = obj->experts;
    int64_t dim = obj->dim, layers = dim / k, n = obj->n;
    T2_ASSERT(k >= 1 && dim >= k && dim % k == 0 && n >= 1);
    if (o->iterations < 1)
        return t2_error_set(err, "fewshot_iterations: %lld; expected at least 1",
                            (long long)o->iterations);
    t2_cem cem;
    if (t2_cem_init(&cem, dim, &o->cem, o->seed, err) != 0) return -1;
    int64_t pop = cem.population, rows = pop > k ? pop : k;
    float *population = t2_alloc_array((size_t)(rows * dim), sizeof *population);
    double *scores = t2_alloc_array((size_t)rows, sizeof *scores);
    double *tiebreaks = t2_alloc_array((size_t)rows, sizeof *tiebreaks);
    int64_t *which = t2_alloc_array((size_t)n, sizeof *which);
    t2_progress progress;
    t2_progress_init(&progress, "fewshot", o->iterations + 1);

    /* The single experts on every example: the reference the answer must not fall below. */
    double *single_scores = t2_alloc_array((size_t)k, sizeof *single_scores);
    double *single_tiebreaks = t2_alloc_array((size_t)k, sizeof *single_tiebreaks);
    t2_append_file log = {.fd = -1, .path = NULL};
    int status = o->log != NULL && rt->rank == 0 ? t2_append_file_open(&log, o->log, 0, err) : 0;
    if (o->log != NULL) status = t2_runtime_agree_status(rt, status, err);
    for (int e = 0; e < k; e++) single_expert(population + e * dim, dim, layers, e);
    if (status == 0)
        status = score_members(rt, obj, population, k, NULL, n, single_scores,
                               single_tiebreaks, err);
    double single_tiebreak = -INFINITY;
    result->best_single = -1.0;
    for (int e = 0; status == 0 && e < k; e++) {
        if (!better(single_scores[e], single_tiebreaks[e], result->best_single, single_tiebreak))
            continue;
        result->best_single = single_scores[e];
        single_tiebreak = single_tiebreaks[e];
        result->best_single_expert = e;
    }
    result->evaluations = k;
    char note[160];
    if (status == 0) {
        int e = result->best_single_expert;
        if (obj->names != NULL)
            snprintf(note, sizeof note, "best single expert %s: %.3f", obj->names[e],
                     result->best_single);
        else
            snprintf(note, sizeof note, "best single expert %d: %.3f", e, result->best_single);
        t2_progress_update(&progress, 1, note);
    }

    for (int64_t it = 0; status == 0 && it < o->iterations; it++) {
        t2_cem_ask(&cem, population);
        int64_t singles = it == 0 ? (k < pop ? k : pop) : 0;
        for (int e = 0; e < singles; e++) single_expert(population + e * dim, dim, layers, e);
        int64_t m = iteration_examples(it, o->batch, n, which);
        /* On every example the singles' scores are known already. */
        int64_t known = m == n ? singles : 0;
        memcpy(scores, single_scores, (size_t)known * sizeof *scores);
        memcpy(tiebreaks, single_tiebreaks, (size_t)known * sizeof *tiebreaks);
        status = score_members(rt, obj, population + known * dim, pop - known, which, m,
                               scores + known, tiebreaks + known, err);
        if (status != 0) break;
        t2_cem_tell(&cem, population, scores, tiebreaks);
        result->evaluations += pop - known;
        if (o->log != NULL) { /* alpha is scratch until the answer is written into it */
            t2_cem_best(&cem, alpha, NULL, NULL);
            status = rt->rank == 0 ? log_iteration(&log, obj, o, &cem, alpha, scores, it, m, err)
                                   : 0;
            status = t2_runtime_agree_status(rt, status, err);
            if (status != 0) break;
        }
        double best = 0.0;
        t2_cem_best(&cem, NULL, &best, NULL);
        snprintf(note, sizeof note, "best member %.3f on %lld examples", best, (long long)m);
        t2_progress_update(&progress, it + 2, note);
    }
    if (status == 0 && o->batch > 0 && o->batch < n) {
        int64_t kept = t2_cem_kept(&cem, population, NULL, NULL);
        status = score_members(rt, obj, population, kept, NULL, n, scores, tiebreaks, err);
        if (status == 0) t2_cem_rescore(&cem, kept, scores, tiebreaks);
        result->evaluations += kept;
    }
    if (status == 0) {
        t2_cem_best(&cem, alpha, &result->search_score, &result->search_tiebreak);
        result->score = result->search_score;
        result->tiebreak = result->search_tiebreak;
        result->fallback = better(result->best_single, single_tiebreak, result->search_score,
                                  result->search_tiebreak);
        if (result->fallback) {
            single_expert(alpha, dim, layers, result->best_single_expert);
            result->score = result->best_single;
            result->tiebreak = single_tiebreak;
        }
    }
    t2_progress_finish(&progress);
    t2_append_file_close(&log);
    result->seconds = t2_time_now() - start;
    MPI_Bcast(&result->seconds, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    t2_free(which);
    t2_free(single_tiebreaks);
    t2_free(single_scores);
    t2_free(tiebreaks);
    t2_free(scores);
    t2_free(population);
    t2_cem_free(&cem);
    return status;
}
