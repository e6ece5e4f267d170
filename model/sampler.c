/* Greedy, temperature, top-k and top-p sampling (see sampler.h for the semantics).
 *
 * Cost per call: one pass for the softmax; top-k selects with a heap of k entries
 * (O(V log k)); top-p without top-k first drops every token whose probability is below
 * (1 - top_p) / V and sorts only the rest: a nucleus token t has more than 1 - top_p of the
 * mass at or below its rank, spread over at most V tokens no more probable than t (the
 * bound llama2.c uses, with V in place of V - 1 so the top token always stays).
 * Reference: HF's TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper. */
#include "model/sampler.h"

#include <math.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "linalg/ops.h"

void t2_sampler_init(t2_sampler *s, const t2_sampler_params *params, int64_t vocab) {
    T2_ASSERT(vocab > 0 && vocab <= INT32_MAX);
    T2_ASSERT(params->temperature >= 0.0f && isfinite(params->temperature));
    T2_ASSERT(params->top_k >= 0);
    T2_ASSERT(params->top_p > 0.0f && params->top_p <= 1.0f);
    s->params = *params;
    s->vocab = vocab;
    s->probs = t2_alloc_array((size_t)vocab, sizeof(float));
    s->cand = t2_alloc_array((size_t)vocab, sizeof(t2_sampler_candidate));
}

void t2_sampler_free(t2_sampler *s) {
    t2_free(s->probs);
    t2_free(s->cand);
    s->probs = NULL;
    s->cand = NULL;
}

int32_t t2_sampler_argmax(const float *logits, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (logits[i] > logits[best]) best = i;
    return (int32_t)best;
}

/* a ranks before b: more probable, or equally probable with a lower id */
static int ranks_before(const t2_sampler_candidate *a, const t2_sampler_candidate *b) {
    return a->prob > b->prob || (a->prob == b->prob && a->id < b->id);
}

/* Sift-down in a heap whose root is the WORST kept candidate. */
static void heap_sift_down(t2_sampler_candidate *heap, int64_t n, int64_t i) {
    for (;;) {
        int64_t child = 2 * i + 1, worst = i;
        if (child < n && ranks_before(&heap[worst], &heap[child])) worst = child;
        if (child + 1 < n && ranks_before(&heap[worst], &heap[child + 1])) worst = child + 1;
        if (worst == i) return;
        t2_sampler_candidate tmp = heap[i];
        heap[i] = heap[worst];
        heap[worst] = tmp;
        i = worst;
    }
}

/* The k best candidates into cand[0..k), best first. */
static int64_t select_top_k(t2_sampler_candidate *cand, const float *probs, int64_t vocab,
                            int64_t k) {
    for (int64_t i = 0; i < k; i++) cand[i] = (t2_sampler_candidate){probs[i], (int32_t)i};
    for (int64_t i = k / 2 - 1; i >= 0; i--) heap_sift_down(cand, k, i);
    for (int64_t id = k; id < vocab; id++) {
        t2_sampler_candidate c = {probs[id], (int32_t)id};
        if (ranks_before(&c, &cand[0])) {
            cand[0] = c;
            heap_sift_down(cand, k, 0);
        }
    }
    /* heap sort: repeatedly move the worst to the end */
    for (int64_t n = k; n > 1; n--) {
        t2_sampler_candidate tmp = cand[0];
        cand[0] = cand[n - 1];
        cand[n - 1] = tmp;
        heap_sift_down(cand, n - 1, 0);
    }
    return k;
}

static int compare_candidates(const void *a, const void *b) {
    if (ranks_before(a, b)) return -1;
    return ranks_before(b, a) ? 1 : 0;
}

/* Candidates for top-p alone: ids that can be in the nucleus, sorted best first. */
static int64_t select_for_top_p(t2_sampler_candidate *cand, const float *probs, int64_t vocab,
                                float top_p) {
    float cutoff = (1.0f - top_p) / (float)vocab;
    int64_t n = 0;
    for (int64_t id = 0; id < vocab; id++)
        if (probs[id] >= cutoff) cand[n++] = (t2_sampler_candidate){probs[id], (int32_t)id};
    qsort(cand, (size_t)n, sizeof *cand, compare_candidates);
    return n;
}

int32_t t2_sampler_sample(t2_sampler *s, const float *logits, t2_rng *rng) {
    const t2_sampler_params *p = &s->params;
    int64_t vocab = s->vocab;
    if (p->temperature == 0.0f || p->top_k == 1) return t2_sampler_argmax(logits, vocab);

    float *probs = s->probs;
    float inv_t = 1.0f / p->temperature;
    for (int64_t i = 0; i < vocab; i++) probs[i] = logits[i] * inv_t;
    t2_softmax_row(probs, vocab, vocab);

    int64_t n = vocab; /* candidates: cand[0..n) when ordered, else every id */
    int ordered = 0, top_k = p->top_k > 0 && p->top_k < vocab;
    if (top_k) {
        n = select_top_k(s->cand, probs, vocab, p->top_k);
        ordered = 1;
    } else if (p->top_p < 1.0f) {
        n = select_for_top_p(s->cand, probs, vocab, p->top_p);
        ordered = 1;
    }
    if (p->top_p < 1.0f) {
        /* the nucleus is taken from the top-k distribution renormalised, or the whole one */
        double mass = 0.0;
        int64_t count = top_k ? n : vocab;
        for (int64_t i = 0; i < count; i++) mass += top_k ? s->cand[i].prob : probs[i];
        double before = 0.0;
        int64_t keep = 0;
        while (keep < n && (keep == 0 || before < p->top_p * mass))
            before += s->cand[keep++].prob;
        n = keep;
    }

    double total = 0.0;
    for (int64_t i = 0; i < n; i++) total += ordered ? s->cand[i].prob : probs[i];
    double target = t2_rng_uniform_double(rng) * total, cum = 0.0;
    int32_t id = 0;
    for (int64_t i = 0; i < n; i++) {
        id = ordered ? s->cand[i].id : (int32_t)i;
        cum += ordered ? s->cand[i].prob : probs[i];
        if (target < cum) break;
    }
    return id;
}
