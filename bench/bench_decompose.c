/* Benchmark of `t2 decompose` and of t2's distributed SVD, printing ratios against
 * references measured in the same run:
 *   1. a model's whole decomposition with `t2 decompose` on 1 rank and on 2 ranks (one BLIS
 *      thread per rank), plus 1 rank with 2 BLIS threads; seconds are the command's own
 *      summary (MPI start-up excluded), runs interleaved, the best and the median of
 *      --model-repeats (default 9). Target: 2 ranks >= 1.8x faster than 1 rank.
 *   2. one ROWS x COLS matrix (default 2048 x 5632, an MLP weight of a 2k-wide model):
 *      LAPACK ?gesdd in one process (1 and 2 BLIS threads), numpy.linalg.svd
 *      (/usr/bin/python3 with Debian's python3-numpy, bench_decompose.py next to this file;
 *      1 and 2 BLAS threads), ScaLAPACK's p?gesvd on 2 ranks, and t2's distributed route on
 *      2 ranks. Target: t2 on 2 ranks faster than the best single-process figure.
 * Every piece runs in its own process (this program again, under mpirun for the MPI ones),
 * so thread counts are set per piece through BLIS_NUM_THREADS / OPENBLAS_NUM_THREADS (numpy
 * reaches BLAS through Debian's libblas.so.3, which may be BLIS or OpenBLAS).
 *
 *   bench_decompose [--t2 PATH] [--model DIR] [--rows N] [--cols N] [--precision double|float]
 *                   [--mpirun PATH] [--model-repeats N] [--skip-pgesvd] [--skip-matrix]
 * Without --model it writes one with `t2 new-model --hidden 512 --layers 4 --ffn 1408
 * --heads 8 --kv-heads 4` into a temporary folder. --t2 defaults to the t2 next to this
 * program's folder (the build tree's layout). Worker modes (used by the driver):
 *   bench_decompose --worker lapack|fast|pgesvd --rows N --cols N --precision P
 * print "seconds: S"; the MPI workers set BLACS up (which initialises MPI) themselves. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/progress.h"
#include "linalg/blis_setup.h"
#include "linalg/svd.h"

typedef struct options {
    const char *t2, *model, *mpirun, *worker;
    int64_t rows, cols;
    t2_precision precision;
    int model_repeats, skip_pgesvd, skip_matrix;
} options;

/* The same matrix in every process: W[i][j] from a hash of (i, j), uniform in [-0.5, 0.5). */
static double element(int64_t i, int64_t j) {
    uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15ull ^ ((uint64_t)j + 0x632BE59BD9B4E019ull);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 32;
    return (double)(x >> 11) / 9007199254740992.0 - 0.5;
}

static void store(t2_precision p, void *a, int64_t at, double value) {
    if (p == T2_PRECISION_DOUBLE) ((double *)a)[at] = value;
    else ((float *)a)[at] = (float)value;
}

static int worker_lapack(const options *o) {
    t2_blis_setup(0, 1);
    int64_t m = o->rows, n = o->cols, r = m < n ? m : n;
    size_t elem = t2_precision_size(o->precision);
    void *w = t2_alloc((size_t)(m * n) * elem), *u = t2_alloc((size_t)(m * r) * elem);
    void *v = t2_alloc((size_t)(n * r) * elem), *s = t2_alloc((size_t)r * elem);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) store(o->precision, w, i * n + j, element(i, j));
    t2_error err = {{0}};
    double start = t2_time_now();
    int status = t2_svd_lapack(o->precision, u, s, v, w, m, n, &err);
    double seconds = t2_time_now() - start;
    if (status != 0) fprintf(stderr, "bench_decompose: %s\n", err.msg);
    else printf("seconds: %.6f\n", seconds);
    t2_free(w);
    t2_free(u);
    t2_free(v);
    t2_free(s);
    return status == 0 ? 0 : 1;
}

/* t2 decompose's orientation: the tall column-major view A = W^T (cols x rows). */
static int worker_distributed(const options *o, t2_svd_method method) {
    int me = 0, np = 1;
    Cblacs_pinfo(&me, &np); /* initialises MPI */
    t2_blis_setup(0, np);
    int context = 0, npcol = 1;
    for (int c = 1; c * c <= np; c++)
        if (np % c == 0) npcol = c;
    Cblacs_get(-1, 0, &context);
    Cblacs_gridinit(&context, "Row", np / npcol, npcol);
    t2_process_grid g;
    t2_process_grid_query(&g, context);
    int64_t m = o->cols, n = o->rows, r = m < n ? m : n, nb = 64;
    t2_dist_matrix a, u, vt;
    t2_dist_matrix_init(&a, &g, o->precision, m, n, nb, nb);
    t2_dist_matrix_init(&u, &g, o->precision, m, r, nb, nb);
    t2_dist_matrix_init(&vt, &g, o->precision, r, n, nb, nb);
    for (int64_t jl = 0; jl < a.local_cols; jl++)
        for (int64_t il = 0; il < a.local_rows; il++) {
            int64_t i = t2_block_cyclic_global(il, nb, g.myrow, 0, g.nprow);
            int64_t j = t2_block_cyclic_global(jl, nb, g.mycol, 0, g.npcol);
            store(o->precision, a.data, il + jl * a.lld, element(j, i));
        }
    void *s = t2_alloc((size_t)r * t2_precision_size(o->precision));
    t2_error err = {{0}};
    Cblacs_barrier(context, "All");
    double start = t2_time_now();
    int status = t2_svd_distributed(method, &a, s, &u, &vt, &err);
    Cblacs_barrier(context, "All");
    double seconds = t2_time_now() - start;
    if (me == 0 && status != 0) fprintf(stderr, "bench_decompose: %s\n", err.msg);
    else if (me == 0) printf("seconds: %.6f\n", seconds);
    t2_free(s);
    t2_dist_matrix_free(&a);
    t2_dist_matrix_free(&u);
    t2_dist_matrix_free(&vt);
    Cblacs_gridexit(context);
    Cblacs_exit(0); /* finalises MPI */
    return status == 0 ? 0 : 1;
}

/* Runs a shell command (freeing it), echoes it, and returns the number after `key` in its output
 * (the last occurrence), or -1. */
static double run_for(char *command, const char *key) {
    fprintf(stderr, "  $ %s\n", command);
    char *full = t2_strdup_printf("%s 2>&1", command);
    FILE *p = popen(full, "r");
    t2_free(full);
    t2_free(command);
    if (p == NULL) return -1.0;
    char line[4096];
    double value = -1.0;
    while (fgets(line, sizeof line, p) != NULL) {
        const char *at = strstr(line, key);
        if (at != NULL) value = strtod(at + strlen(key), NULL);
        else if (strstr(line, "error") != NULL) fprintf(stderr, "    %s", line);
    }
    int status = pclose(p);
    return status == 0 ? value : -1.0;
}

static int parse(options *o, int argc, char **argv) {
    *o = (options){NULL, NULL, "mpirun", NULL, 2048, 5632, T2_PRECISION_DOUBLE, 9, 0, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--skip-pgesvd") == 0) { o->skip_pgesvd = 1; continue; }
        if (strcmp(a, "--skip-matrix") == 0) { o->skip_matrix = 1; continue; }
        if (next == NULL) return -1;
        i++;
        if (strcmp(a, "--t2") == 0) o->t2 = next;
        else if (strcmp(a, "--model") == 0) o->model = next;
        else if (strcmp(a, "--mpirun") == 0) o->mpirun = next;
        else if (strcmp(a, "--worker") == 0) o->worker = next;
        else if (strcmp(a, "--rows") == 0) o->rows = strtoll(next, NULL, 10);
        else if (strcmp(a, "--cols") == 0) o->cols = strtoll(next, NULL, 10);
        else if (strcmp(a, "--model-repeats") == 0) o->model_repeats = atoi(next);
        else if (strcmp(a, "--precision") == 0 && strcmp(next, "float") == 0)
            o->precision = T2_PRECISION_FLOAT;
        else if (strcmp(a, "--precision") == 0 && strcmp(next, "double") == 0)
            o->precision = T2_PRECISION_DOUBLE;
        else return -1;
    }
    return o->rows > 0 && o->cols > 0 && o->model_repeats > 0 ? 0 : -1;
}

enum { SKIPPED = -2 }; /* a figure not measured (-1: the piece failed) */

static void ratio_line(const char *what, double seconds, double reference) {
    if (seconds == SKIPPED) printf("  %-44s   not measured\n", what);
    else if (seconds < 0) printf("  %-44s   failed\n", what);
    else if (reference > 0)
        printf("  %-44s %9.3f s   %6.2fx\n", what, seconds, seconds / reference);
    else printf("  %-44s %9.3f s\n", what, seconds);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The best and the median of the n >= 0 figures in s (sorted in place); -1 when none. */
static void best_and_median(double *s, int n, double *best, double *median) {
    qsort(s, (size_t)n, sizeof *s, by_value);
    *best = n > 0 ? s[0] : -1.0;
    *median = n == 0 ? -1.0 : n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static void model_line(const char *what, const double *figures, const double *reference) {
    if (figures[0] < 0) {
        printf("  %-32s   failed\n", what);
        return;
    }
    printf("  %-32s best %7.3f s (%5.2fx)   median %7.3f s (%5.2fx)\n", what, figures[0],
           figures[0] / reference[0], figures[1], figures[1] / reference[1]);
}

/* Part 1: the model's decomposition, 1 rank, 2 ranks, 1 rank with 2 BLIS threads. */
static void bench_model(const options *o, const char *t2, const char *model, const char *tmp,
                        const char *prec) {
    /* model_s[k] = {best, median} over the runs, interleaved: a small model decomposes in
     * well under a second, where one run's figure is mostly noise of the shared machine */
    double model_s[3][2];
    static const char *const model_runs[3][2] = {{"1", "1"}, {"2", "1"}, {"1", "2"}};
    double *runs = t2_alloc_array((size_t)(3 * o->model_repeats), sizeof *runs);
    int n_runs[3] = {0, 0, 0};
    for (int repeat = 0; repeat < o->model_repeats; repeat++)
        for (int k = 0; k < 3; k++) {
            double s = run_for(t2_strdup_printf("BLIS_NUM_THREADS=%s %s -n %s --bind-to %s %s decompose "
                                      "--model %s --out %s/store-%d.safetensors --precision %s "
                                      "--force", model_runs[k][1], o->mpirun, model_runs[k][0],
                                      k == 2 ? "none" : "core", t2, model, tmp, k, prec),
                               "rank groups) in ");
            if (s >= 0) runs[k * o->model_repeats + n_runs[k]++] = s;
        }
    for (int k = 0; k < 3; k++)
        best_and_median(runs + k * o->model_repeats, n_runs[k], &model_s[k][0], &model_s[k][1]);
    t2_free(runs);
    printf("\nmodel decomposition (%s, %s precision), %d runs each; seconds and time / 2-rank "
           "time:\n", o->model ? o->model : "t2 new-model --hidden 512 --layers 4 --ffn 1408",
           prec, o->model_repeats);
    model_line("1 rank, 1 BLIS thread", model_s[0], model_s[1]);
    model_line("2 ranks, 1 BLIS thread each", model_s[1], model_s[1]);
    model_line("1 rank, 2 BLIS threads", model_s[2], model_s[1]);
    for (int m = 0; m < 2; m++)
        printf("  speedup 2 ranks over 1 rank, %s: %.2fx (target >= 1.8)\n",
               m == 0 ? "best" : "median",
               model_s[0][m] > 0 && model_s[1][m] > 0 ? model_s[0][m] / model_s[1][m] : 0.0);
}

/* Part 2: one rows x cols matrix through each SVD. */
static void bench_matrix(const options *o, const char *self, const char *script,
                         const char *prec) {
    double single[4], dist[2] = {SKIPPED, SKIPPED};
    for (int threads = 1; threads <= 2; threads++) {
        single[threads - 1] =
            run_for(t2_strdup_printf("BLIS_NUM_THREADS=%d %s --worker lapack --rows %lld --cols %lld "
                           "--precision %s", threads, self, (long long)o->rows,
                           (long long)o->cols, prec),
                    "seconds: ");
        single[threads + 1] = SKIPPED;
        if (access("/usr/bin/python3", X_OK) == 0)
            single[threads + 1] = run_for(
                t2_strdup_printf("BLIS_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d OMP_NUM_THREADS=%d "
                       "/usr/bin/python3 %s %lld %lld %s", threads, threads, threads, script,
                       (long long)o->rows, (long long)o->cols, prec),
                "seconds: ");
    }
    for (int k = o->skip_pgesvd ? 1 : 0; k < 2; k++) {
        dist[k] = run_for(t2_strdup_printf("BLIS_NUM_THREADS=1 %s -n 2 %s --worker %s --rows %lld --cols "
                                 "%lld --precision %s", o->mpirun, self,
                                 k == 0 ? "pgesvd" : "fast", (long long)o->rows,
                                 (long long)o->cols, prec),
                          "seconds: ");
    }
    double best = -1.0;
    for (int k = 0; k < 4; k++)
        if (single[k] > 0 && (best < 0 || single[k] < best)) best = single[k];

    printf("\none %lld x %lld matrix (%s), seconds and time / t2's 2-rank time:\n",
           (long long)o->rows, (long long)o->cols, prec);
    ratio_line("LAPACK ?gesdd, 1 process, 1 thread", single[0], dist[1]);
    ratio_line("LAPACK ?gesdd, 1 process, 2 threads", single[1], dist[1]);
    ratio_line("numpy.linalg.svd, 1 thread", single[2], dist[1]);
    ratio_line("numpy.linalg.svd, 2 threads", single[3], dist[1]);
    ratio_line("ScaLAPACK p?gesvd, 2 ranks", dist[0], dist[1]);
    ratio_line("t2 distributed route, 2 ranks", dist[1], dist[1]);
    printf("  t2 on 2 ranks vs the best single process: %.2fx faster (target > 1)\n",
           best > 0 && dist[1] > 0 ? best / dist[1] : 0.0);
}

static int drive(const options *o) {
    char self[PATH_MAX], self_dir[PATH_MAX], src_dir[PATH_MAX], t2[PATH_MAX], script[PATH_MAX];
    char model[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return 1;
    self[len] = '\0';
    snprintf(self_dir, sizeof self_dir, "%s", self);
    if (o->t2) snprintf(t2, sizeof t2, "%s", o->t2);
    else snprintf(t2, sizeof t2, "%s/../t2", dirname(self_dir));
    snprintf(src_dir, sizeof src_dir, "%s", __FILE__);
    snprintf(script, sizeof script, "%s/bench_decompose.py", dirname(src_dir));
    char tmp[] = "/tmp/t2-bench-decompose-XXXXXX";
    if (mkdtemp(tmp) == NULL) return 1;
    if (geteuid() == 0) { /* Open MPI refuses root without these */
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    }
    const char *prec = t2_precision_name(o->precision);
    if (o->model) {
        snprintf(model, sizeof model, "%s", o->model);
    } else {
        snprintf(model, sizeof model, "%s/model", tmp);
        char *cmd = t2_strdup_printf("%s new-model --out %s --hidden 512 --layers 4 --ffn 1408 --heads 8 "
                           "--kv-heads 4 --seed 3", t2, model);
        fprintf(stderr, "  $ %s\n", cmd);
        int status = system(cmd);
        t2_free(cmd);
        if (status != 0) return 1;
    }
    bench_model(o, t2, model, tmp, prec);
    if (!o->skip_matrix) bench_matrix(o, self, script, prec);
    char *cmd = t2_strdup_printf("rm -rf %s", tmp);
    int status = system(cmd);
    t2_free(cmd);
    return status == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    options o;
    if (parse(&o, argc, argv) != 0) {
        fprintf(stderr,
                "bench_decompose: bad arguments; see the header of bench/bench_decompose.c\n");
        return 2;
    }
    if (o.worker == NULL) return drive(&o);
    if (strcmp(o.worker, "lapack") == 0) return worker_lapack(&o);
    if (strcmp(o.worker, "fast") == 0) return worker_distributed(&o, T2_SVD_METHOD_FAST);
    if (strcmp(o.worker, "pgesvd") == 0) return worker_distributed(&o, T2_SVD_METHOD_PGESVD);
    fprintf(stderr, "bench_decompose: unknown worker '%s'; expected lapack, fast or pgesvd\n",
            o.worker);
    return 2;
}
