/* Benchmark of expert training (`t2 train`, dist/train.h): one training iteration on the
 * default model with its time split, tokens/s, and the parallel efficiency from 1 to 2 ranks
 * measured in the same run. Target: communication under 5 % of the iteration on 2 ranks.
 *
 * It decomposes the model's MLP matrices into a temporary store (`t2 decompose`), then runs
 * `t2 train` with one fixed setting — the built-in math task, SVF sigmoid on the MLP
 * matrices, batch 128 in chunks of 16, max_new_tokens 64, --steps S (default 4), val_every 0,
 * val_samples 16 — under `mpirun -n 1` and `mpirun -n 2` (--oversubscribe --bind-to none,
 * BLIS_NUM_THREADS=1). From each run's metrics (JSON lines, dist/train.c) it averages the
 * parameter rank's seconds per step, skipping step 1 as warm-up when S > 1:
 *   rollout        hand-out of the chunks and their generation and scoring, up to the last
 *                  rank's last chunk (so it includes the rollouts' load imbalance);
 *   backward       sharing the rewards, advantages, the training pass of the own chunks,
 *                  up to the agreement that ends the phase (the backward's imbalance);
 *   wait           the barrier after that (meant for load imbalance; the agreement before
 *                  it already synchronises the ranks, so it reads ~0);
 *   communication  ExpertSet broadcast and composing W', the reduction of the accumulators;
 *   update         summing the chunks, clipping and Adam on the parameter rank;
 * and prints them per rank count with tokens/s, then the parallel efficiency
 * T1 / (2 T2) (T = seconds per step), the speed-up T1 / T2, communication as a share of the
 * 2-rank step with PASS/MISS against < 5 %, and whether both runs wrote the same vectors
 * (their exports, `t2 export`).
 * Timings are printed, never checked by a test.
 *
 *   bench_expert [--t2 PATH] [--model DIR] [--mpirun PATH] [--steps S]
 * --t2 defaults to the t2 next to this program's folder (the build tree's layout), --model to
 * the source tree's assets/default-model (T2_SOURCE_DIR, set by bench/CMakeLists.txt). */
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/progress.h"

typedef struct options {
    const char *t2, *model, *mpirun;
    int64_t steps;
} options;

enum { PHASES = 5 };
static const char *const phase_keys[PHASES] = {"rollout", "backward", "wait", "communication",
                                               "update"};
static const char *const phase_labels[PHASES] = {"rollout", "rewards+backward",
                                                 "wait (imbalance)", "communication", "update"};

/* One run's per-step means over the measured steps. */
typedef struct run_figures {
    int ok;                  /* the run finished and its metrics parsed */
    int64_t measured;        /* steps averaged */
    double phase[PHASES];    /* seconds per step, by phase_keys */
    double step;             /* their sum */
    double tokens;           /* tokens per step (prompt + completion, all ranks) */
    double wall;             /* the whole command, MPI start-up and validations included */
} run_figures;

/* Runs a shell command (freeing it) after echoing it; returns its exit status. */
static int run(char *command) {
    fprintf(stderr, "  $ %s\n", command);
    int status = system(command);
    t2_free(command);
    return status;
}

/* The number after "key": in a metrics line, or NAN when the key is absent. */
static double field(const char *line, const char *key) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\": ", key);
    const char *at = strstr(line, quoted);
    return at != NULL ? strtod(at + strlen(quoted), NULL) : NAN;
}

/* Averages the metrics of steps > skip. 0, or -1 when the file holds no such step. */
static int read_metrics(const char *path, int64_t skip, run_figures *f) {
    FILE *in = fopen(path, "r");
    if (in == NULL) return -1;
    char line[4096];
    while (fgets(line, sizeof line, in) != NULL) {
        double step = field(line, "step");
        if (isnan(step) || step <= (double)skip) continue;
        for (int k = 0; k < PHASES; k++) f->phase[k] += field(line, phase_keys[k]);
        f->tokens += field(line, "tokens");
        f->measured++;
    }
    fclose(in);
    if (f->measured == 0) return -1;
    for (int k = 0; k < PHASES; k++) {
        f->phase[k] /= (double)f->measured;
        f->step += f->phase[k];
    }
    f->tokens /= (double)f->measured;
    return isnan(f->step) || isnan(f->tokens) ? -1 : 0;
}

/* `t2 train` on `ranks` ranks into dir/r<ranks>.{expert,jsonl,log}. */
static run_figures train(const options *o, const char *t2, const char *dir, int ranks) {
    run_figures f;
    memset(&f, 0, sizeof f);
    double start = t2_time_now();
    int status = run(t2_strdup_printf(
        "%s -n %d --oversubscribe --bind-to none %s train --model %s --store %s/store "
        "--task math --targets mlp --method svf --parametrization sigmoid --batch 128 "
        "--chunk 16 --max-new-tokens 64 --steps %lld --val-every 0 --val-samples 16 --seed 1 "
        "--out %s/r%d.expert --metrics %s/r%d.jsonl 2>%s/r%d.log",
        o->mpirun, ranks, t2, o->model, dir, (long long)o->steps, dir, ranks, dir, ranks, dir,
        ranks));
    f.wall = t2_time_now() - start;
    char *metrics = t2_strdup_printf("%s/r%d.jsonl", dir, ranks);
    int64_t skip = o->steps > 1 ? 1 : 0;
    f.ok = status == 0 && read_metrics(metrics, skip, &f) == 0;
    t2_free(metrics);
    if (!f.ok) run(t2_strdup_printf("tail -n 5 %s/r%d.log >&2", dir, ranks));
    return f;
}

static void print_table(const options *o, const run_figures *r) {
    int64_t first = o->steps > 1 ? 2 : 1;
    printf("\nt2 train: math, svf sigmoid on the MLP matrices, batch 128, chunk 16, "
           "max_new_tokens 64\n(%s; seconds per step, ", o->model);
    if (first == o->steps) printf("step %lld", (long long)first);
    else printf("mean of steps %lld-%lld", (long long)first, (long long)o->steps);
    printf("%s)\n\n", first > 1 ? ", step 1 is warm-up" : "");
    printf("  %-16s%15s%9s%15s%9s\n", "", "1 rank", "", "2 ranks", "");
    for (int k = 0; k < PHASES; k++) {
        printf("  %-16s", phase_labels[k]);
        for (int i = 0; i < 2; i++)
            printf("%13.3f s %6.1f %%", r[i].phase[k], 100.0 * r[i].phase[k] / r[i].step);
        printf("\n");
    }
    printf("  %-16s%13.3f s%9s%13.3f s\n", "step", r[0].step, "", r[1].step);
    printf("  %-16s%15.0f%9s%15.0f\n", "tokens / step", r[0].tokens, "", r[1].tokens);
    printf("  %-16s%15.0f%9s%15.0f\n", "tokens / s", r[0].tokens / r[0].step, "",
           r[1].tokens / r[1].step);
    printf("  %-16s%13.1f s%9s%13.1f s\n", "whole command", r[0].wall, "", r[1].wall);
    double speedup = r[0].step / r[1].step, comm = 100.0 * r[1].phase[3] / r[1].step;
    printf("\n  speed-up 1 -> 2 ranks:          %.2fx\n", speedup);
    printf("  parallel efficiency T1/(2 T2):  %.2f\n", speedup / 2.0);
    printf("  communication at 2 ranks:       %.2f %% of the step (target < 5 %%): %s\n", comm,
           comm < 5.0 ? "PASS" : "MISS");
}

static int parse(options *o, int argc, char **argv) {
    *o = (options){NULL, T2_SOURCE_DIR "/assets/default-model", "mpirun", 4};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *next = argv[i + 1];
        if (strcmp(a, "--t2") == 0) o->t2 = next;
        else if (strcmp(a, "--model") == 0) o->model = next;
        else if (strcmp(a, "--mpirun") == 0) o->mpirun = next;
        else if (strcmp(a, "--steps") == 0) o->steps = strtoll(next, NULL, 10);
        else return -1;
    }
    return argc % 2 == 1 && o->steps >= 1 ? 0 : -1;
}

int main(int argc, char **argv) {
    options o;
    if (parse(&o, argc, argv) != 0) {
        fprintf(stderr, "bench_expert: bad arguments; expected [--t2 PATH] [--model DIR] "
                        "[--mpirun PATH] [--steps S >= 1]\n");
        return 2;
    }
    char self[PATH_MAX], t2[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return 1;
    self[len] = '\0';
    if (o.t2) snprintf(t2, sizeof t2, "%s", o.t2);
    else snprintf(t2, sizeof t2, "%s/../t2", dirname(self));
    char tmp[] = "/tmp/t2-bench-expert-XXXXXX";
    if (mkdtemp(tmp) == NULL) return 1;
    setenv("BLIS_NUM_THREADS", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0); /* Open MPI refuses root without these */
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    run_figures r[2];
    int ok = run(t2_strdup_printf("%s decompose --model %s --targets mlp --out %s/store 2>%s/decompose.log",
                        t2, o.model, tmp, tmp)) == 0;
    if (!ok) run(t2_strdup_printf("cat %s/decompose.log >&2", tmp));
    for (int i = 0; ok && i < 2; i++) {
        r[i] = train(&o, t2, tmp, i + 1);
        ok = r[i].ok;
    }
    if (ok) {
        print_table(&o, r);
        /* the files differ in their training summary (ranks, seconds); compare the vectors */
        int same = 1;
        for (int i = 1; i <= 2; i++)
            same = same && run(t2_strdup_printf("%s export --format safetensors --out %s/r%d.safetensors "
                                      "%s/r%d.expert", t2, tmp, i, tmp, i)) == 0;
        same = same && run(t2_strdup_printf("cmp -s %s/r1.safetensors %s/r2.safetensors", tmp, tmp)) == 0;
        printf("  experts of 1 and 2 ranks:       %s\n", same ? "identical vectors" : "DIFFERENT");
    }
    run(t2_strdup_printf("rm -rf %s", tmp));
    return ok ? 0 : 1;
}
