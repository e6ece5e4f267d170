/* Start-up of BLIS: picks the fastest kernel set this CPU supports and the thread count.
 *
 * BLIS 0.9.0 does not recognise some CPUs (e.g. AMD family 0x1A) and silently falls back to
 * its generic kernels, ~5x slower. Unless the user set BLIS_ARCH_TYPE, t2 chooses from the
 * CPU's features: AVX-512F -> skx, AVX2+FMA -> haswell; otherwise BLIS decides. */
#ifndef T2_LINALG_BLIS_SETUP_H
#define T2_LINALG_BLIS_SETUP_H

/* Call once per process before any BLIS, LAPACK or ScaLAPACK call. threads > 0 sets BLIS's
 * thread count; threads == 0 keeps BLIS_NUM_THREADS if set, else uses the CPUs available to
 * this process divided by ranks_per_node. Idempotent. */
void t2_blis_setup(int threads, int ranks_per_node);

/* Name of the kernel set in use (e.g. "skx"), and BLIS's thread count. */
const char *t2_blis_arch_name(void);
int t2_blis_threads(void);

#endif
