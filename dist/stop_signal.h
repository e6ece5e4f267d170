/* Stopping a long run cleanly on a signal: SIGTERM (what Slurm sends before a preemption or
 * a time limit, and what `kill` sends) and SIGUSR1 (what the sbatch scripts ask Slurm for
 * ahead of the time limit and forward: mpirun forwards SIGUSR1 to every rank as it is, while
 * on SIGTERM it kills the ranks 1 s later; docs/slurm.md) only set a flag. The training loops
 * agree on it at each step boundary, so that every rank stops after the same step: the run
 * writes its checkpoint and exits with T2_STOP_SIGNAL_EXIT, which slurm/common.sh takes as
 * "requeue me".
 * Not here: the checkpoint itself and the exit (dist/train.c, dist/pretrain.c, cmd/).
 * Reference: sigaction(2), signal-safety(7) (the handler only stores to a volatile
 * sig_atomic_t). */
#ifndef T2_DIST_STOP_SIGNAL_H
#define T2_DIST_STOP_SIGNAL_H

#include "dist/runtime.h"

enum {
    T2_STOP_SIGNAL_EXIT = 75,  /* exit status of a run stopped by a signal (EX_TEMPFAIL) */
    T2_STOP_SIGNAL_STOPPED = 1 /* what t2_train_run / t2_pretrain_run return then */
};

/* Local. Installs the handlers of SIGTERM and SIGUSR1 (keeping the previous ones for
 * t2_stop_signal_remove) and clears the flag. A signal that arrived before this call acted as
 * it would have without t2 (SIGTERM ends the process). */
void t2_stop_signal_install(void);
/* Local. Puts the previous handlers back (a later SIGTERM ends the process again). Safe
 * without a prior install. */
void t2_stop_signal_remove(void);
/* Collective (MPI_Allreduce over MPI_COMM_WORLD): the signal number one of the ranks received
 * since the install (the highest when several), the same on every rank, or 0. */
int t2_stop_signal_agree(const t2_runtime *rt);
/* "SIGTERM", "SIGUSR1", or "signal" for another number; for messages. */
const char *t2_stop_signal_name(int signal_number);

#endif
