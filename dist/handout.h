/* Dynamic hand-out of work items over all ranks: items 0..n-1 go, one at a time, to whichever
 * rank asks next, so ranks that finish early take more (rollouts differ in length). The
 * parameter rank (T2_PARAMETER_RANK) keeps the counter; while items remain a server thread
 * there answers the other ranks' requests (MPI_THREAD_SERIALIZED: the main thread makes no
 * MPI call between t2_handout_start and t2_handout_finish), and its own main thread takes
 * items straight from the counter. Which rank gets an item varies from run to run; callers
 * make each item's result independent of that.
 * Notes: with t2_handout_start_noted, each request may carry a note of note_len doubles (what
 * the asking rank made of its previous item); the parameter rank passes every note, its own
 * included, to on_note, one at a time. A rank's last note travels with the request that is
 * answered -1, so all notes have arrived when t2_handout_finish returns. */
#ifndef T2_DIST_HANDOUT_H
#define T2_DIST_HANDOUT_H

#include <mpi.h>
#include <pthread.h>
#include <stdint.h>

#include "dist/runtime.h"

/* Called on the parameter rank (by its main thread or its server thread, never both at once). */
typedef void (*t2_handout_note_fn)(void *ctx, const double *note);

typedef struct t2_handout {
    const t2_runtime *rt;   /* borrowed */
    int note_len;           /* doubles per note (0: no notes) */
    t2_handout_note_fn on_note;
    void *note_ctx;
    double *request;        /* [1 + note_len]: the request being sent (other ranks) or
                               received (the parameter rank's server) */
    MPI_Comm comm;          /* private duplicate of MPI_COMM_WORLD for requests and replies */
    int64_t n_items;
    int64_t next;           /* parameter rank: the next item to hand out (under lock) */
    pthread_mutex_t lock;
    pthread_t server;
    int has_server;
} t2_handout;

/* Collective (n_items the same on every rank). Starts handing out items 0..n_items-1. */
void t2_handout_start(t2_handout *h, const t2_runtime *rt, int64_t n_items);
/* The same, with notes of note_len >= 1 doubles handed to on_note(ctx, note) on the parameter
 * rank. */
void t2_handout_start_noted(t2_handout *h, const t2_runtime *rt, int64_t n_items, int note_len,
                            t2_handout_note_fn on_note, void *ctx);
/* Local. The next item for this rank, or -1 when every item has been handed out (then call
 * t2_handout_finish; do not ask again). */
int64_t t2_handout_next(t2_handout *h);
/* Local. As t2_handout_next, first delivering note (note_len doubles; NULL: nothing to say). */
int64_t t2_handout_next_noted(t2_handout *h, const double *note);
/* Collective. Waits until every rank has been told there is nothing left; frees h's
 * resources. */
void t2_handout_finish(t2_handout *h);

#endif
