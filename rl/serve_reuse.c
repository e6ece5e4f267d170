/* What a serve slot's KV cache holds, and the prefix of a new pass it keeps (prompt reuse).
 *
 * A slot's cache keeps the keys and values of every id fed to it after its job leaves: the
 * last pass's prompt and the answer's tokens but the last. The next pass in that slot with
 * the same weights keeps the longest prefix of its prompt the cache already holds and
 * prefills only the rest, as llama-server's cache_prompt and vLLM's prefix caching do: a
 * chat's next turn (the whole conversation sent again), a shared system prompt or chat
 * header, the same question asked again. When another slot, busy or free, holds a longer
 * prefix of the prompt with the same weights, the pass copies the rest of that prefix's keys
 * and values from it (t2_kv_cache_copy): a prefix many requests share is prefilled once.
 *
 * A waiting request takes the free slot that keeps the most of its prompt, when that is half
 * the slot's last prompt or half its own or more (it goes on from what the slot held), else
 * the least recently used one. auto's routing pass takes a slot whose cache its answer would
 * go on from (a chat's last answer, with an expert's weights) only when no other is free: the
 * answer, in the routing pass's slot, copies the conversation from there.
 *
 * The keys and values kept were computed in an earlier step, so a kept prompt's last rows
 * are computed in other batches and chunks than a whole prefill's: the same arithmetic
 * (model/forward.h), summed in another order, so its logits may differ in the last bits.
 * Engine thread only (serve_impl.h). */
#include "base/assert.h"
#include "rl/serve_impl.h"

/* The weights and prompt of the job's first pass (auto: its routing pass). */
static int first_pass(const t2_serve_engine *e, const t2_serve_job *job, const int32_t **ids,
                      int64_t *n) {
    if (!job->is_auto) {
        *ids = job->prompt;
        *n = job->n_prompt;
        return job->group;
    }
    *ids = job->route_prompt;
    *n = job->n_route_prompt;
    return e->routing == T2_SERVE_ROUTE_CLASSIFIER ? e->classifier : 0;
}

/* The ids of (ids, n) that slot s's cache can keep for a pass with weights group g. */
static int64_t keepable(const t2_serve_engine *e, int64_t s, int g, const int32_t *ids,
                        int64_t n) {
    const t2_serve_slot *slot = &e->slots[s];
    if (!e->prompt_reuse || slot->held_group != g || n <= 1) return 0;
    int64_t common = 0, most = n - 1 < slot->n_held ? n - 1 : slot->n_held;
    while (common < most && slot->held[common] == ids[common]) common++;
    return common;
}

/* A pass of n prompt ids that keeps `kept` of them in slot s goes on from what the slot held:
 * half the slot's last prompt or half its own kept, not a short shared prefix such as a chat
 * header (or every request would take the same slot). */
static int goes_on(const t2_serve_engine *e, int64_t s, int64_t kept, int64_t n) {
    int64_t shorter = n < e->slots[s].held_prompt ? n : e->slots[s].held_prompt;
    return kept > 0 && 2 * kept >= shorter;
}

/* The free slot that keeps the most of (ids, n) for weights group g, more than `beat`, among
 * those the pass goes on from; -1 when none. */
static int64_t goes_on_from(const t2_serve_engine *e, int g, const int32_t *ids, int64_t n,
                            int64_t beat) {
    int64_t best = -1, best_kept = beat;
    for (int64_t s = 0; s < e->n_slots; s++) {
        if (e->slots[s].job != NULL) continue;
        int64_t kept = keepable(e, s, g, ids, n);
        if (kept > best_kept && goes_on(e, s, kept, n)) {
            best = s;
            best_kept = kept;
        }
    }
    return best;
}

/* auto: slot s holds what the job's answering pass would go on from, with the weights of
 * some expert (a chat's last answer): its routing pass had better run elsewhere. */
static int answer_wants(const t2_serve_engine *e, int64_t s, const t2_serve_job *job) {
    const t2_serve_slot *slot = &e->slots[s];
    return job->is_auto && slot->held_group > 0 && slot->held_group != e->classifier &&
           goes_on(e, s, keepable(e, s, slot->held_group, job->prompt, job->n_prompt),
                   job->n_prompt);
}

/* The free slot least recently admitted, one the job's answer wants last; -1 when none is
 * free. */
static int64_t least_recent_free(const t2_serve_engine *e, const t2_serve_job *job) {
    int64_t s = -1;
    int s_wanted = 0;
    for (int64_t t = 0; t < e->n_slots; t++) {
        if (e->slots[t].job != NULL) continue;
        int wanted = answer_wants(e, t, job);
        if (s < 0 || wanted < s_wanted ||
            (wanted == s_wanted && e->slots[t].last_admitted < e->slots[s].last_admitted)) {
            s = t;
            s_wanted = wanted;
        }
    }
    return s;
}

int64_t t2_serve_slot_pick(t2_serve_engine *e, const t2_serve_job *job) {
    const int32_t *ids = NULL;
    int64_t n = 0;
    int g = first_pass(e, job, &ids, &n);
    int64_t s = goes_on_from(e, g, ids, n, 0);
    if (s < 0) s = least_recent_free(e, job);
    if (s >= 0) e->slots[s].last_admitted = ++e->admissions;
    return s;
}

int64_t t2_serve_slot_keep(t2_serve_engine *e, int64_t s, int g, const int32_t *ids,
                           int64_t n) {
    t2_serve_slot *slot = &e->slots[s];
    int64_t kept = keepable(e, s, g, ids, n), donor = -1, more = kept;
    for (int64_t d = 0; d < e->n_slots; d++) { /* another slot, busy or free, holding more */
        int64_t k = d == s ? 0 : keepable(e, d, g, ids, n);
        if (k > more) {
            donor = d;
            more = k;
        }
    }
    t2_kv_cache_truncate(&e->cache, s, kept);
    if (donor >= 0) {
        t2_kv_cache_copy(&e->cache, donor, s, more);
        for (int64_t i = kept; i < more; i++) slot->held[i] = ids[i];
        kept = more;
    }
    slot->n_held = kept;
    slot->held_prompt = n;
    slot->held_group = g;
    return kept;
}

void t2_serve_slot_fed(t2_serve_engine *e, int64_t s, const int32_t *ids, int64_t n) {
    t2_serve_slot *slot = &e->slots[s];
    T2_ASSERT(slot->n_held + n == e->cache.length[s] && e->cache.length[s] <= e->context);
    for (int64_t i = 0; i < n; i++) slot->held[slot->n_held + i] = ids[i];
    slot->n_held += n;
}
