/* dist/handout: every item goes to exactly one rank, whatever the number of ranks, and with
 * notes every rank's note for every item reaches the parameter rank exactly once, intact.
 * Ranks take their items at different paces (rank r sleeps r * 200 us per item), so requests
 * interleave. Run on 1 and 3 ranks. */
#include <mpi.h>
#include <stdio.h>
#include <time.h>

#include "base/alloc.h"
#include "check.h"
#include "dist/handout.h"
#include "dist/runtime.h"

enum { ITEMS = 200, NOTE = 3 };

typedef struct ledger {
    int notes[ITEMS]; /* notes seen per item */
    int bad;          /* notes whose payload did not match */
} ledger;

static void on_note(void *ctx, const double *note) {
    ledger *l = ctx;
    int item = (int)note[0], rank = (int)note[1];
    if (item < 0 || item >= ITEMS || note[2] != item * 1000.0 + rank) {
        l->bad++;
        return;
    }
    l->notes[item]++;
}

static void pace(int rank) {
    struct timespec pause = {0, 200000L * rank};
    nanosleep(&pause, NULL);
}

/* Plain hand-out: the items each rank took, summed over ranks, cover 0..ITEMS-1 once each. */
static void check_plain(const t2_runtime *rt) {
    int *taken = t2_alloc_array(ITEMS, sizeof *taken);
    t2_handout h;
    t2_handout_start(&h, rt, ITEMS);
    for (int64_t i; (i = t2_handout_next(&h)) >= 0;) {
        CHECK(i < ITEMS, "item %lld out of range", (long long)i);
        if (i < ITEMS) taken[i]++;
        pace(rt->rank);
    }
    t2_handout_finish(&h);
    MPI_Allreduce(MPI_IN_PLACE, taken, ITEMS, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (int i = 0; i < ITEMS; i++) CHECK(taken[i] == 1, "item %d taken %d times", i, taken[i]);
    t2_free(taken);
}

static void check_noted(const t2_runtime *rt) {
    ledger l = {{0}, 0};
    t2_handout h;
    t2_handout_start_noted(&h, rt, ITEMS, NOTE, on_note, &l);
    double note[NOTE];
    const double *pending = NULL;
    int mine = 0;
    for (int64_t i; (i = t2_handout_next_noted(&h, pending)) >= 0; pending = note) {
        note[0] = (double)i;
        note[1] = rt->rank;
        note[2] = (double)i * 1000.0 + rt->rank;
        mine++;
        pace(rt->rank);
    }
    t2_handout_finish(&h);
    int total = 0;
    MPI_Allreduce(&mine, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    CHECK(total == ITEMS, "%d items taken in all; expected %d", total, ITEMS);
    if (rt->rank != T2_PARAMETER_RANK) return;
    CHECK(l.bad == 0, "%d notes arrived damaged", l.bad);
    for (int i = 0; i < ITEMS; i++)
        CHECK(l.notes[i] == 1, "item %d: %d notes; expected 1", i, l.notes[i]);
}

int main(int argc, char **argv) {
    t2_runtime rt;
    t2_runtime_init(&rt, &argc, &argv);
    check_plain(&rt);
    check_noted(&rt);
    check_noted(&rt); /* a second hand-out in the same job starts afresh */
    int failed = t2_check_exit_code() != 0, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    t2_runtime_finalize(&rt);
    return any;
}
