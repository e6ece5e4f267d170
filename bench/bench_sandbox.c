/* Benchmark of the sandbox behind mbpp's reward (rl/sandbox.h): executions per second of a
 * typical MBPP program (a reference solution and its three asserts), run
 *   1. one at a time (t2_sandbox_run in a loop),
 *   2. as one batch (t2_sandbox_run_batch, jobs = the online CPUs unless --jobs),
 * and, as the floor of both, python3 -I -S -B started plainly (fork, exec, wait) one at a
 * time. Prints each rate and the ratios batch / one at a time and sandbox / plain.
 *
 *   bench_sandbox [--n N] [--jobs J]      (defaults: N = 64, J = 0 = online CPUs) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "rl/sandbox.h"

static const char program[] =
    "import heapq\n"
    "def merge_sorted(a, b):\n"
    "    return list(heapq.merge(a, b))\n"
    "assert merge_sorted([1, 4, 9], [2, 3, 10]) == [1, 2, 3, 4, 9, 10]\n"
    "assert merge_sorted([], [5]) == [5]\n"
    "assert merge_sorted([1, 1], [1]) == [1, 1, 1]\n"
    "print('done')\n";

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* python3 on the same program, no sandbox: the cost of starting the interpreter. */
static double plain_seconds(int n, const char *path) {
    double t0 = now();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (freopen("/dev/null", "w", stdout) == NULL) _exit(126);
            execl(T2_SANDBOX_PYTHON, "python3", "-I", "-S", "-B", path, (char *)NULL);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "bench_sandbox: plain python3 failed\n");
            exit(1);
        }
    }
    return now() - t0;
}

/* CPU seconds used so far by this process and its reaped children. */
static double cpu_seconds(void) {
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + children.ru_utime.tv_sec +
                    children.ru_stime.tv_sec) +
           1e-6 * (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec +
                           children.ru_utime.tv_usec + children.ru_stime.tv_usec);
}

static void check(const t2_sandbox_result *r, int n) {
    for (int i = 0; i < n; i++)
        if (r[i].status != T2_SANDBOX_PASSED) {
            fprintf(stderr, "bench_sandbox: run %d: %s: %s\n", i,
                    t2_sandbox_status_name(r[i].status), r[i].output);
            exit(1);
        }
}

int main(int argc, char **argv) {
    int n = 64, jobs = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--n") == 0) n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--jobs") == 0) jobs = atoi(argv[i + 1]);
    }
    if (n < 1 || jobs < 0 || (argc - 1) % 2 != 0) {
        fprintf(stderr, "usage: bench_sandbox [--n N] [--jobs J]\n");
        return 2;
    }
    t2_sandbox_limits limits;
    t2_sandbox_limits_default(&limits);
    limits.jobs = jobs;
    t2_sandbox_result *results = t2_alloc_array((size_t)n, sizeof *results);
    const char **programs = t2_alloc_array((size_t)n, sizeof *programs);
    for (int i = 0; i < n; i++) programs[i] = program;

    char path[] = "/tmp/t2-bench-sandbox-XXXXXX.py";
    int fd = mkstemps(path, 3);
    if (fd < 0 || write(fd, program, sizeof program - 1) != (ssize_t)(sizeof program - 1)) {
        fprintf(stderr, "bench_sandbox: cannot write %s\n", path);
        return 1;
    }
    close(fd);
    double plain = plain_seconds(n, path);
    unlink(path);

    double c0 = cpu_seconds(), t0 = now();
    for (int i = 0; i < n; i++) t2_sandbox_run(program, &limits, &results[i]);
    double single = now() - t0, single_cpu = cpu_seconds() - c0;
    check(results, n);
    for (int i = 0; i < n; i++) t2_sandbox_result_free(&results[i]);

    c0 = cpu_seconds();
    t0 = now();
    t2_sandbox_run_batch(programs, n, &limits, results);
    double batch = now() - t0, batch_cpu = cpu_seconds() - c0;
    check(results, n);
    for (int i = 0; i < n; i++) t2_sandbox_result_free(&results[i]);

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int isolation = t2_sandbox_isolation();
    printf("sandbox: %d executions of a typical MBPP program; %ld online CPUs; isolation%s%s%s%s\n",
           n, cpus, isolation & T2_SANDBOX_HAS_NAMESPACES ? " namespaces" : "",
           isolation & T2_SANDBOX_HAS_OWN_USER ? " own-user" : "",
           isolation & T2_SANDBOX_HAS_SECCOMP ? " seccomp" : "",
           isolation & T2_SANDBOX_HAS_LANDLOCK ? " landlock" : "");
    printf("  plain python3, one at a time  %8.1f executions/s  (%.1f ms each)\n", n / plain,
           1e3 * plain / n);
    printf("  sandbox, one at a time        %8.1f executions/s  (%.1f ms each, %.1f ms CPU)\n",
           n / single, 1e3 * single / n, 1e3 * single_cpu / n);
    printf("  sandbox, batch of %d (jobs %ld) %8.1f executions/s  (%.1f ms CPU each)\n", n,
           jobs > 0 ? (long)jobs : cpus, n / batch, 1e3 * batch_cpu / n);
    printf("  batch / one at a time: %.2fx   sandbox / plain (one at a time): %.2fx\n",
           single / batch, plain / single);
    t2_free(programs);
    t2_free(results);
    return 0;
}
