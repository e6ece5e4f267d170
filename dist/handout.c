/* The parameter rank's counter, its server thread, and the requests of the other ranks (see
 * handout.h). The server polls with MPI_Test and short sleeps instead of a blocking receive,
 * so it does not take a core from the rollouts of its own rank. */
#include "dist/handout.h"

#include <time.h>

#include "base/assert.h"

enum { TAG_REQUEST = 1, TAG_REPLY = 2 };
enum { POLL_NANOSECONDS = 20000 };

static int64_t take(t2_handout *h) {
    pthread_mutex_lock(&h->lock);
    int64_t item = h->next < h->n_items ? h->next++ : -1;
    pthread_mutex_unlock(&h->lock);
    return item;
}

/* Answers requests until each other rank has been told -1 once. */
static void *serve(void *arg) {
    t2_handout *h = arg;
    int remaining = h->rt->size - 1;
    while (remaining > 0) {
        int dummy = 0, done = 0;
        MPI_Request request;
        MPI_Status status;
        MPI_Irecv(&dummy, 1, MPI_INT, MPI_ANY_SOURCE, TAG_REQUEST, h->comm, &request);
        for (;;) {
            MPI_Test(&request, &done, &status);
            if (done) break;
            struct timespec pause = {0, POLL_NANOSECONDS};
            nanosleep(&pause, NULL);
        }
        long long item = take(h);
        MPI_Send(&item, 1, MPI_LONG_LONG, status.MPI_SOURCE, TAG_REPLY, h->comm);
        if (item < 0) remaining--;
    }
    return NULL;
}

void t2_handout_start(t2_handout *h, const t2_runtime *rt, int64_t n_items) {
    T2_ASSERT(n_items >= 0);
    h->rt = rt;
    h->n_items = n_items;
    h->next = 0;
    h->has_server = 0;
    pthread_mutex_init(&h->lock, NULL);
    MPI_Comm_dup(MPI_COMM_WORLD, &h->comm);
    if (rt->rank == T2_PARAMETER_RANK && rt->size > 1) {
        T2_ASSERT(rt->threads_ok);
        T2_ASSERT(pthread_create(&h->server, NULL, serve, h) == 0);
        h->has_server = 1;
    }
}

int64_t t2_handout_next(t2_handout *h) {
    if (h->rt->rank == T2_PARAMETER_RANK) return take(h);
    int request = 0;
    long long item = -1;
    MPI_Send(&request, 1, MPI_INT, T2_PARAMETER_RANK, TAG_REQUEST, h->comm);
    MPI_Recv(&item, 1, MPI_LONG_LONG, T2_PARAMETER_RANK, TAG_REPLY, h->comm, MPI_STATUS_IGNORE);
    return (int64_t)item;
}

void t2_handout_finish(t2_handout *h) {
    if (h->has_server) pthread_join(h->server, NULL);
    h->has_server = 0;
    MPI_Comm_free(&h->comm);
    pthread_mutex_destroy(&h->lock);
}
