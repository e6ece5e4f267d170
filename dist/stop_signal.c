/* The stop flag of SIGTERM and SIGUSR1 and its agreement across ranks (see stop_signal.h). */
#include "dist/stop_signal.h"

#include <mpi.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t received; /* the last stop signal's number, 0 if none */
static struct sigaction previous_term, previous_usr1;
static int installed;

static void on_stop_signal(int signal_number) { received = signal_number; }

void t2_stop_signal_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* reads, writes and MPI's polls go on as if nothing happened */
    received = 0;
    sigaction(SIGTERM, &sa, &previous_term);
    sigaction(SIGUSR1, &sa, &previous_usr1);
    installed = 1;
}

void t2_stop_signal_remove(void) {
    if (!installed) return;
    sigaction(SIGTERM, &previous_term, NULL);
    sigaction(SIGUSR1, &previous_usr1, NULL);
    installed = 0;
}

int t2_stop_signal_agree(const t2_runtime *rt) {
    (void)rt; /* every rank of MPI_COMM_WORLD takes part */
    int mine = received, agreed = 0;
    MPI_Allreduce(&mine, &agreed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return agreed;
}

const char *t2_stop_signal_name(int signal_number) {
    return signal_number == SIGTERM ? "SIGTERM" : signal_number == SIGUSR1 ? "SIGUSR1" : "signal";
}
