/* The serve engine's insides, shared by its files (not a public header):
 *   serve_engine.c   opening, the queue, the engine thread, the public calls;
 *   serve_request.c  a request checked and turned into a job (prompt ids, limits);
 *   serve_batch.c    one step over the slots: grouping by weights, forward, sampling, the
 *                    auto route between its two passes;
 *   serve_reuse.c    what a slot's KV cache holds, and the prefix of a new pass it keeps.
 * Ownership (no data races by construction):
 *   - a job is built by the submitting thread and immutable afterwards, except `cancel`,
 *     which is read and written under the engine's lock only;
 *   - the queue, slots[s].job, the counters and the flags below the lock are read and
 *     written under the lock;
 *   - everything else of a slot (its pass, tokens, sampler, text) and the forward, cache
 *     and logits belong to the engine thread alone.
 * Callbacks run on the engine thread with the lock released. */
#ifndef T2_RL_SERVE_IMPL_H
#define T2_RL_SERVE_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "model/decomposition_store.h"
#include "model/model_dir.h"
#include "rl/bundle.h"
#include "rl/mixture.h"
#include "rl/serve_engine.h"

/* The form chooser's record for steps of one (groups, rows) bucket: an exponential moving
 * average of seconds per row of each form, how often each ran, and when the slower form is
 * next run again (steps of the bucket; the gap doubles while the faster stays the same). */
typedef struct t2_serve_form_timing {
    double seconds_per_row[2]; /* [0] composed, [1] factored */
    int64_t runs[2];
    int64_t next_probe, gap;
    int faster;                /* the faster form at the last probe */
} t2_serve_form_timing;

enum { T2_SERVE_FORM_GROUPS = 8, T2_SERVE_FORM_ROW_BUCKETS = 12 };

/* An accepted request. */
typedef struct t2_serve_job {
    int64_t id;
    t2_serve_callbacks cb;
    int group;                /* weights the answer decodes with (t2_serve_engine.weights
                                 index); auto: decided by the route pass */
    int is_auto;
    int32_t *prompt;          /* [n_prompt] the answering pass's ids (heap) */
    int64_t n_prompt;
    int32_t *route_prompt;    /* auto: [n_route_prompt] the routing pass's ids (heap) */
    int64_t n_route_prompt;
    int64_t max_tokens;       /* >= 1, fits the context with the prompt */
    int64_t route_max_tokens; /* auto: >= 1, fits the context with the routing prompt */
    t2_sampler_params sampler;
    uint64_t seed;
    char **stops;             /* [n_stops] the request's stop strings (heap copies) */
    int n_stops;
    double submitted;         /* t2_serve_now() at submit */
    t2_serve_result result;   /* filled by the engine thread when the job leaves */
    char *adaptation;         /* result.adaptation (heap) */
    int cancel;               /* under the lock */
    struct t2_serve_job *next; /* queue link, under the lock */
} t2_serve_job;

/* One KV cache slot. */
typedef struct t2_serve_slot {
    t2_serve_job *job;        /* NULL: free (written under the lock) */
    /* the engine thread's own: */
    double admitted;          /* t2_serve_now() when it got the slot */
    int routing;              /* 1 during an auto request's routing pass */
    int group;                /* the weights it decodes with now */
    int route;                /* auto: the expert the routing pass named, -1 for base */
    int64_t route_tokens;     /* auto: prompt + new tokens of the routing pass */
    int64_t reused;           /* tokens of this pass's prompt kept from the slot's cache */
    /* what the slot's KV cache holds (serve_reuse.c), kept after its job leaves: */
    int32_t *held;            /* [context] the ids fed, positions 0 .. n_held - 1 */
    int64_t n_held;           /* == the cache slot's length */
    int64_t held_prompt;      /* the last pass's prompt length */
    int held_group;           /* the weights group they were fed with */
    int64_t last_admitted;    /* admissions count when it last got a job (least recent first) */
    const int32_t *pending;   /* tokens not yet in the cache (job's prompt or &last) */
    int64_t n_pending;
    int32_t last;             /* the last sampled token */
    int done;                 /* finished this step (gen.finish says why) */
    t2_rng rng;
    t2_sampler sampler;
    t2_generation gen;
    t2_generate_stream stream;
    t2_generate_params params;
    const char *stops[T2_SERVE_MAX_STOPS + T2_PROMPT_ENCODER_MAX_STOPS + 1];
} t2_serve_slot;

struct t2_serve_engine {
    /* read-only after open */
    t2_model_dir model;           /* its prompt encoder: the chat format ("auto") */
    t2_prompt_encoder plain;      /* completion prompts: plain, BOS / EOS as the files say */
    t2_bundle bundle;             /* zeroed without one */
    t2_decomposition_store store;
    t2_mixture mixture;           /* the experts, then the classifier */
    int n_experts;                /* bundle experts (0 without a bundle) */
    int n_groups;                 /* weights: base, each expert, the classifier when routing
                                     asks it */
    int classifier;               /* the classifier's weights index, or -1 */
    t2_model_weights *composed;   /* [n_groups] each expert's W' copy, or under expert_form
                                   * factored a share with the targets absent; [0] unused */
    int64_t composed_bytes;       /* of those copies */
    const t2_model_weights **weights; /* [n_groups] what each group decodes with */
    t2_serve_form form;           /* the option */
    t2_forward_factor *factors;   /* [n_factors] the targets in factored form, or NULL */
    int n_factors;
    float *factor_data;           /* the factors' Vᵀ copies and diagonals (owned) */
    t2_serve_routing routing;
    const char **names;           /* "base", experts, "auto" (with a bundle), NULL */
    int n_names;                  /* base + experts: the routes counted in the stats */
    int64_t context, n_slots, queue_limit;
    int prompt_reuse;             /* a pass keeps the prefix its slot's cache already holds */
    const char *route_stops[T2_PROMPT_ENCODER_MAX_STOPS + 1];
    int n_route_stops;
    const char *chat_stops[T2_PROMPT_ENCODER_MAX_STOPS + 1]; /* the chat format's markers */
    int n_chat_stops;
    /* the engine thread's own */
    t2_forward forward;
    t2_kv_cache cache;
    float *logits;                /* [n_slots x vocab] */
    t2_forward_seq *batch;        /* [n_slots] */
    int64_t *batch_slot;          /* [n_slots] */
    t2_serve_form_timing timing[T2_SERVE_FORM_GROUPS][T2_SERVE_FORM_ROW_BUCKETS];
    t2_forward_form step_form; /* the last step's form */
    int64_t step_decode_rows;     /* the last step's rows when all were decode rows, else 0 */
    double step_seconds;          /* the last step's wall time (t2_serve_batch_step) */
    t2_serve_slot *slots;         /* [n_slots] */
    int32_t *held_ids;            /* [n_slots x context] the slots' held ids */
    int64_t admissions;
    /* under the lock */
    pthread_mutex_t lock;
    pthread_cond_t work;          /* the engine thread waits for work */
    pthread_cond_t idle;          /* drain waits for every on_done */
    pthread_t thread;
    int started;
    t2_serve_job *head, *tail;    /* the queue */
    int64_t n_queued, n_active;   /* jobs in the queue / in slots */
    int64_t pending;              /* accepted jobs whose on_done has not returned */
    int64_t next_id;
    int draining, stopping;
    double deadline;              /* draining: when the rest is cancelled */
    int64_t requests, refused, cancelled, prompt_tokens, completion_tokens, steps;
    int64_t cached_tokens;        /* answering passes' prompt tokens kept from a slot's cache */
    int64_t factored_steps;
    int64_t decode_steps, decode_rows; /* steps of decode rows only, and their rows */
    double decode_seconds;        /* those steps' wall time */
    int64_t *routed;              /* [n_names] */
};

/* Monotonic seconds. */
double t2_serve_now(void);

/* Checks request r against e and builds its job (heap; t2_serve_job_free): 0, or -1 with
 * *refusal and err (one line) and *out NULL. Any thread: reads only what open set. */
int t2_serve_job_make(const t2_serve_engine *e, const t2_serve_request *r,
                      const t2_serve_callbacks *cb, t2_serve_job **out,
                      t2_serve_refusal *refusal, t2_error *err);
void t2_serve_job_free(t2_serve_job *job); /* NULL ok */

/* Open: hands the weights groups to the forward and, unless the form is composed, builds
 * every target's factors (U from the store, a Vᵀ copy, each group's diagonal: base s,
 * expert k c s ⊙ m_k). */
void t2_serve_form_prepare(t2_serve_engine *e);
void t2_serve_form_free(t2_serve_engine *e);
/* Engine thread: the form for a step of `rows` rows over `groups` distinct groups, and the
 * measured seconds of the forward that ran it (factored: any factored form). */
t2_forward_form t2_serve_form_pick(t2_serve_engine *e, int groups, int64_t rows);
void t2_serve_form_record(t2_serve_engine *e, int factored, int groups, int64_t rows,
                          double seconds);

/* Engine thread (serve_reuse.c). The free slot a job should take: the one whose cache keeps
 * the most of its first pass's prompt (same weights) when that is half the slot's last prompt
 * or half the job's or more, else the least recently admitted (for auto, one that holds what
 * its answer would keep last); -1 when none is free. */
int64_t t2_serve_slot_pick(t2_serve_engine *e, const t2_serve_job *job);
/* Slot s's cache keeps the longest prefix of ids (n >= 1) it holds with weights group g,
 * short of the last id (whose logits the pass needs), and drops the rest (everything
 * without prompt_reuse, or with other weights); when another slot holds a longer such
 * prefix, s copies the rest of it from there. Returns the ids kept. */
int64_t t2_serve_slot_keep(t2_serve_engine *e, int64_t s, int g, const int32_t *ids, int64_t n);
/* After a step fed slot s's n ids (its cache grew by n): the slot now holds them too. */
void t2_serve_slot_fed(t2_serve_engine *e, int64_t s, const int32_t *ids, int64_t n);

/* Engine thread: prepares slot s for its (just admitted) job. */
void t2_serve_slot_begin(t2_serve_engine *e, int64_t s);
/* Engine thread: frees what slot s holds for its job (not the job). */
void t2_serve_slot_end(t2_serve_engine *e, int64_t s);
/* Engine thread: one step over the slots that hold a job; a slot whose job finished gets
 * done = 1. Returns the completion tokens sampled; sets step_form, step_decode_rows and
 * step_seconds for the engine loop's counters. */
int64_t t2_serve_batch_step(t2_serve_engine *e);

#endif
