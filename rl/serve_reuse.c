/* What a serve slot's KV cache holds, and the prefix of a new pass it keeps (prompt reuse).
 *
 * A slot's cache keeps the keys and values of every id fed to it after its job leaves: the
 * last pass's prompt and the answer's tokens but the last. The next pass in that slot with
 * the same weights keeps the longest prefix of its prompt the cache already holds and
 * prefills only the rest, as llama-server's cache_prompt and vLLM's prefix caching do: a
 * chat's next turn (the whole conversation sent again), a shared system prompt or chat
 * header, the same question asked again. A waiting request takes the free slot that keeps
 * the most of its prompt, when that is half the slot's last prompt or half its own or more
 * (it goes on from what the slot held), else the least recently used one.
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

int64_t t2_serve_slot_pick(t2_serve_engine *e, const t2_serve_job *job) {
    const int32_t *ids = NULL;
    int64_t n = 0, best = -1, best_kept = 0, oldest = -1;
    int g = first_pass(e, job, &ids, &n);
    for (int64_t s = 0; s < e->n_slots; s++) {
        const t2_serve_slot *slot = &e->slots[s];
        if (slot->job != NULL) continue;
        if (oldest < 0 || slot->last_admitted < e->slots[oldest].last_admitted) oldest = s;
        /* a request that goes on from the slot's last prompt (half of it, or half its own
         * prompt, kept): not one that shares a short prefix (a chat header) with it, else
         * every request would take the same slot */
        int64_t kept = keepable(e, s, g, ids, n);
        int64_t shorter = n < slot->held_prompt ? n : slot->held_prompt;
        if (kept > best_kept && 2 * kept >= shorter) {
            best = s;
            best_kept = kept;
        }
    }
    int64_t s = best >= 0 ? best : oldest;
    if (s >= 0) e->slots[s].last_admitted = ++e->admissions;
    return s;
}

int64_t t2_serve_slot_keep(t2_serve_engine *e, int64_t s, int g, const int32_t *ids,
                           int64_t n) {
    t2_serve_slot *slot = &e->slots[s];
    int64_t kept = keepable(e, s, g, ids, n);
    t2_kv_cache_truncate(&e->cache, s, kept);
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
