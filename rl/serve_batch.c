/* One step of the serve engine over its slots (see serve_engine.h and serve_impl.h):
 *   1. the rows: one decode token per decoding slot (every group's, in group order), then
 *      prompt tokens of the slots still prefilling, up to the forward's max_rows per step in
 *      all (a long prompt is prefilled over several steps: chunked prefill, so it does not
 *      stall the others' decoding);
 *   2. one t2_forward_run over every slot with only the last logits, each sequence with its
 *      weights group (base, each expert, the classifier; model/forward.h weights groups),
 *      the groups' rows side by side, in the form serve_form.c picks for the step and timed
 *      for it;
 *   3. each slot that consumed its whole input samples its next token with its own sampler
 *      and stream, and records it (model/generate.h t2_generate_accept: EOS, stop strings,
 *      max tokens, text held back while it could start a stop string).
 * A pass prefills only the part of its prompt its slot's cache does not hold already
 * (serve_reuse.c).
 * auto: the routing pass decodes greedily with the base model (prompt) or the classifier,
 * stopping at the route stops (the task terminator "\n", or the chat format's end of turn)
 * or T2_ADAPT_ROUTE_TOKENS; t2_dispatch_parse reads its text; the answering pass starts in
 * the same slot with the named expert's weights (the base model's for none, "other" or
 * ambiguous), keeping of the routing pass's cache only what those weights computed too (and
 * copying what another slot holds, serve_reuse.c).
 * Engine thread only. */
#include <string.h>

#include "base/assert.h"
#include "rl/dispatch.h"
#include "rl/serve_impl.h"

enum { PREFILL_MIN_ROWS = 64 }; /* prefill rows a step always allows when slots prefill */

static void stream_text(void *ctx, int64_t seq, const char *text, size_t len) {
    (void)seq;
    const t2_serve_job *job = ctx;
    if (job->cb.on_text != NULL) job->cb.on_text(job->cb.ctx, text, len);
}

/* Starts slot s's routing pass (routing = 1) or answering pass; the slot's cache keeps the
 * prefix of the pass's prompt it already holds (serve_reuse.c). */
static void start_pass(t2_serve_engine *e, int64_t s, int routing) {
    t2_serve_slot *slot = &e->slots[s];
    const t2_serve_job *job = slot->job;
    t2_generate_free(&slot->gen, 1);
    t2_sampler_free(&slot->sampler);
    slot->routing = routing;
    int n_stops = 0;
    int64_t max_tokens;
    t2_sampler_params sampler = job->sampler;
    if (routing) {
        slot->group = e->routing == T2_SERVE_ROUTE_CLASSIFIER ? e->classifier : 0;
        slot->pending = job->route_prompt;
        slot->n_pending = job->n_route_prompt;
        for (int i = 0; i < e->n_route_stops; i++) slot->stops[n_stops++] = e->route_stops[i];
        sampler = (t2_sampler_params){.temperature = 0.0f, .top_k = 0, .top_p = 1.0f};
        max_tokens = job->route_max_tokens;
    } else {
        slot->group = job->is_auto ? 1 + slot->route : job->group;
        slot->pending = job->prompt;
        slot->n_pending = job->n_prompt;
        for (int i = 0; i < job->n_stops; i++) slot->stops[n_stops++] = job->stops[i];
        for (int i = 0; i < e->n_chat_stops; i++) slot->stops[n_stops++] = e->chat_stops[i];
        max_tokens = job->max_tokens;
    }
    slot->reused = t2_serve_slot_keep(e, s, slot->group, slot->pending, slot->n_pending);
    slot->pending += slot->reused;
    slot->n_pending -= slot->reused;
    t2_sampler_init(&slot->sampler, &sampler, e->model.cfg.vocab_size);
    /* sequence 0's stream: a request samples what t2_generate_run gives its prompt alone */
    t2_rng_init(&slot->rng, t2_generate_seed(job->seed, 0));
    slot->params = (t2_generate_params){
        .max_new_tokens = max_tokens,
        .sampler = sampler,
        .seed = job->seed,
        .eos_ids = e->model.cfg.eos_token_ids,
        .n_eos_ids = e->model.cfg.n_eos_token_ids,
        .stop_strings = slot->stops,
        .n_stop_strings = n_stops,
    };
    t2_generate_start(&slot->gen, &slot->stream, max_tokens);
}

void t2_serve_slot_begin(t2_serve_engine *e, int64_t s) {
    t2_serve_slot *slot = &e->slots[s];
    T2_ASSERT(slot->job != NULL);
    slot->done = 0;
    slot->route = -1;
    slot->route_tokens = 0;
    start_pass(e, s, slot->job->is_auto);
}

void t2_serve_slot_end(t2_serve_engine *e, int64_t s) {
    t2_serve_slot *slot = &e->slots[s];
    t2_generate_free(&slot->gen, 1);
    t2_sampler_free(&slot->sampler);
    slot->pending = NULL;
    slot->n_pending = 0;
    slot->done = 0;
}

/* auto: the routing pass of slot s is over; its answering pass starts. */
static void route(t2_serve_engine *e, int64_t s) {
    t2_serve_slot *slot = &e->slots[s];
    slot->route = t2_dispatch_parse(slot->gen.text, slot->gen.text_len,
                                    (const char *const *)e->bundle.categories, e->n_experts,
                                    NULL);
    slot->route_tokens = slot->job->n_route_prompt + slot->gen.n_tokens;
    start_pass(e, s, 0);
}

/* Appends to the batch the rows of the slots of weights group g that decode (prefill = 0) or
 * prefill (prefill = 1); returns the new count. */
static int64_t add_group(t2_serve_engine *e, int g, int prefill, int64_t n,
                         int64_t *prefill_budget) {
    for (int64_t s = 0; s < e->n_slots; s++) {
        t2_serve_slot *slot = &e->slots[s];
        if (slot->job == NULL || slot->done || slot->group != g ||
            (slot->pending != &slot->last) != prefill)
            continue;
        int64_t take = slot->n_pending;
        if (prefill) {
            if (*prefill_budget <= 0) continue;
            if (take > *prefill_budget) take = *prefill_budget;
            *prefill_budget -= take;
        }
        e->batch[n] = (t2_forward_seq){
            .slot = s, .n_tokens = take, .tokens = slot->pending, .group = g};
        e->batch_slot[n++] = s;
    }
    return n;
}

int64_t t2_serve_batch_step(t2_serve_engine *e) {
    double step_start = t2_serve_now();
    int64_t vocab = e->model.cfg.vocab_size, n_decode = 0;
    for (int64_t s = 0; s < e->n_slots; s++)
        if (e->slots[s].job != NULL && !e->slots[s].done &&
            e->slots[s].pending == &e->slots[s].last)
            n_decode++;
    int64_t prefill_budget = e->forward.max_rows - n_decode;
    if (prefill_budget < PREFILL_MIN_ROWS) prefill_budget = PREFILL_MIN_ROWS;
    /* every group's decode rows first, then prefill: the factored form runs the decode rows
     * of all groups as one stretch */
    int64_t n = 0, rows = 0;
    int groups = 0;
    for (int g = 0; g < e->n_groups; g++) {
        int64_t first = n;
        n = add_group(e, g, 0, n, &prefill_budget);
        groups += n > first;
    }
    for (int g = 0; g < e->n_groups; g++) {
        int64_t first = n;
        n = add_group(e, g, 1, n, &prefill_budget);
        int decoding = 0;
        for (int64_t b = 0; b < first && !decoding; b++) decoding = e->batch[b].group == g;
        groups += n > first && !decoding;
    }
    for (int64_t b = 0; b < n; b++) rows += e->batch[b].n_tokens;
    if (n > 0) {
        e->step_form = t2_serve_form_pick(e, groups, rows);
        t2_forward_set_form(&e->forward, e->step_form);
        t2_error err = {{0}};
        double start = t2_serve_now();
        /* submit checked every id and length the forward could reject */
        int rc = t2_forward_run(&e->forward, &e->cache, e->batch, n, T2_FORWARD_LOGITS_LAST,
                                e->logits, &err);
        T2_ASSERT(rc == 0);
        t2_serve_form_record(e, e->step_form != T2_FORWARD_COMPOSED, groups, rows,
                             t2_serve_now() - start);
    }

    int64_t sampled = 0;
    for (int64_t b = 0; b < n; b++) {
        int64_t s = e->batch_slot[b];
        t2_serve_slot *slot = &e->slots[s];
        t2_serve_slot_fed(e, s, e->batch[b].tokens, e->batch[b].n_tokens);
        slot->pending += e->batch[b].n_tokens;
        slot->n_pending -= e->batch[b].n_tokens;
        if (slot->n_pending > 0) continue; /* more of the prompt next step */
        int32_t token = t2_sampler_sample(&slot->sampler, e->logits + b * vocab, &slot->rng);
        slot->last = token;
        slot->pending = &slot->last;
        slot->n_pending = 1;
        int finished = t2_generate_accept(&slot->gen, &slot->stream, 0, token, e->model.tok,
                                          &slot->params, slot->routing ? NULL : stream_text,
                                          slot->job);
        if (!slot->routing) sampled++;
        if (finished && slot->routing) route(e, s);
        else if (finished) slot->done = 1;
    }
    e->step_decode_rows = rows == n_decode ? rows : 0;
    e->step_seconds = t2_serve_now() - step_start;
    return sampled;
}
