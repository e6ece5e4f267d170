/* The parameter rank's counter, its server thread, and the requests of the other ranks (see
 * handout.h). The server polls with MPI_Test and sleeps instead of a blocking receive (Open
 * MPI's spins), so it does not take a core from the work of its own rank. A request is
 * 1 + note_len doubles: a flag (1: a note follows) and the note. */
#include "dist/handout.h"

#include <time.h>

#include "base/alloc.h"
#include "base/assert.h"

enum { TAG_REQUEST = 1, TAG_REPLY = 2 };
/* The pause between polls doubles from 20 us to 1 ms while no request comes, and starts at
 * 20 us again after one: quick answers in a burst of requests, and a server that takes little
 * CPU time from its own rank's work while the others are busy. */
enum { POLL_FIRST_NANOSECONDS = 20000, POLL_MAX_NANOSECONDS = 1000000 };

/* Delivers note (if any) and takes the next item, under the lock. */
static int64_t take(t2_handout *h, const double *note) {
    pthread_mutex_lock(&h->lock);
    if (note != NULL && h->on_note != NULL) h->on_note(h->note_ctx, note);
    int64_t item = h->next < h->n_items ? h->next++ : -1;
    pthread_mutex_unlock(&h->lock);
    return item;
}

/* Answers requests until each other rank has been told -1 once. */
static void *serve(void *arg) {
    t2_handout *h = arg;
    int remaining = h->rt->size - 1, len = 1 + h->note_len;
    while (remaining > 0) {
        int done = 0;
        long pause_ns = POLL_FIRST_NANOSECONDS;
        MPI_Request request;
        MPI_Status status;
        MPI_Irecv(h->request, len, MPI_DOUBLE, MPI_ANY_SOURCE, TAG_REQUEST, h->comm, &request);
        for (;;) {
            MPI_Test(&request, &done, &status);
            if (done) break;
            struct timespec pause = {0, pause_ns};
            nanosleep(&pause, NULL);
            pause_ns = 2 * pause_ns < POLL_MAX_NANOSECONDS ? 2 * pause_ns : POLL_MAX_NANOSECONDS;
        }
        long long item = take(h, h->request[0] != 0.0 ? h->request + 1 : NULL);
        MPI_Send(&item, 1, MPI_LONG_LONG, status.MPI_SOURCE, TAG_REPLY, h->comm);
        if (item < 0) remaining--;
    }
    return NULL;
}

void t2_handout_start_noted(t2_handout *h, const t2_runtime *rt, int64_t n_items, int note_len,
                            t2_handout_note_fn on_note, void *ctx) {
    T2_ASSERT(n_items >= 0 && note_len >= 0);
    T2_ASSERT((note_len > 0) == (on_note != NULL));
    h->rt = rt;
    h->note_len = note_len;
    h->on_note = on_note;
    h->note_ctx = ctx;
    h->n_items = n_items;
    h->next = 0;
    h->has_server = 0;
    h->request = t2_alloc_array((size_t)(1 + note_len), sizeof *h->request);
    pthread_mutex_init(&h->lock, NULL);
    MPI_Comm_dup(MPI_COMM_WORLD, &h->comm);
    if (rt->rank == T2_PARAMETER_RANK && rt->size > 1) {
        T2_ASSERT(rt->threads_ok);
        T2_ASSERT(pthread_create(&h->server, NULL, serve, h) == 0);
        h->has_server = 1;
    }
}

void t2_handout_start(t2_handout *h, const t2_runtime *rt, int64_t n_items) {
    t2_handout_start_noted(h, rt, n_items, 0, NULL, NULL);
}

int64_t t2_handout_next_noted(t2_handout *h, const double *note) {
    if (h->rt->rank == T2_PARAMETER_RANK) return take(h, note);
    double *request = h->request;
    request[0] = note != NULL && h->note_len > 0;
    for (int i = 0; request[0] != 0.0 && i < h->note_len; i++) request[1 + i] = note[i];
    long long item = -1;
    MPI_Send(request, 1 + h->note_len, MPI_DOUBLE, T2_PARAMETER_RANK, TAG_REQUEST, h->comm);
    MPI_Recv(&item, 1, MPI_LONG_LONG, T2_PARAMETER_RANK, TAG_REPLY, h->comm, MPI_STATUS_IGNORE);
    return (int64_t)item;
}

int64_t t2_handout_next(t2_handout *h) { return t2_handout_next_noted(h, NULL); }

void t2_handout_finish(t2_handout *h) {
    if (h->has_server) pthread_join(h->server, NULL);
    h->has_server = 0;
    MPI_Comm_free(&h->comm);
    pthread_mutex_destroy(&h->lock);
    t2_free(h->request);
    h->request = NULL;
}
