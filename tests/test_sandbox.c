/* rl/sandbox.h: programs that pass, fail, loop, fork, flood, allocate, write outside their
 * directory, read /etc/shadow, open sockets or signal t2, each run through the sandbox; and
 * the batch API against one-by-one runs. One case per run: test_sandbox CASE.
 * After each case: no process of the program's group is left, no process of uid nobody more
 * than before, and the sandbox's directories (under a private $TMPDIR) are gone. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "check.h"
#include "rl/sandbox.h"

static t2_sandbox_limits limits;

/* The number of live processes whose process group is pgid (pgid > 0) or whose real uid is
 * uid (pgid == 0). Zombies count: they still hold a pid. */
/* Processes of process group pgid (pgid > 0), else of the users [uid, uid + 256): as root,
 * the users of the programs this process starts (rl/sandbox.c's UID_BASE + (pid << 8 | n)). */
static int count_processes(long pgid, long uid) {
    DIR *d = opendir("/proc");
    int n = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], text[1024];
        if (pgid > 0) {
            snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
            FILE *f = fopen(path, "r");
            if (f == NULL) continue;
            size_t len = fread(text, 1, sizeof text - 1, f);
            fclose(f);
            text[len] = '\0';
            const char *close = strrchr(text, ')'); /* the command name may hold blanks */
            long pid_group = -1;
            char state;
            long ppid;
            if (close && sscanf(close + 1, " %c %ld %ld", &state, &ppid, &pid_group) == 3 &&
                pid_group == pgid)
                n++;
        } else {
            snprintf(path, sizeof path, "/proc/%s", e->d_name);
            struct stat st;
            if (stat(path, &st) == 0 && (long)st.st_uid >= uid && (long)st.st_uid < uid + 256)
                n++;
        }
    }
    if (d != NULL) closedir(d);
    return n;
}

static t2_sandbox_result run(const char *program) {
    t2_sandbox_result r;
    t2_sandbox_run(program, &limits, &r);
    fprintf(stderr, "  %-12s exit %d signal %d %.2f s, %zu bytes of output: %.200s\n",
            t2_sandbox_status_name(r.status), r.exit_code, r.signal, r.seconds, r.output_len,
            r.output);
    CHECK(r.pid == 0 || count_processes(r.pid, 0) == 0, "processes of group %lld survive",
          (long long)r.pid);
    return r;
}

static void expect(const char *program, t2_sandbox_status want, const char *output) {
    t2_sandbox_result r = run(program);
    CHECK(r.status == want, "status %s; expected %s for:\n%s", t2_sandbox_status_name(r.status),
          t2_sandbox_status_name(want), program);
    if (output != NULL)
        CHECK(strstr(r.output, output) != NULL, "output '%s' lacks '%s'", r.output, output);
    t2_sandbox_result_free(&r);
}

static void case_basic(void) {
    expect("print('hello')\n", T2_SANDBOX_PASSED, "hello\n");
    expect("assert 1 + 1 == 3\n", T2_SANDBOX_FAILED, "AssertionError");
    expect("def f(:\n", T2_SANDBOX_FAILED, "SyntaxError");
    expect("import sys\nsys.exit(3)\n", T2_SANDBOX_FAILED, NULL);
    t2_sandbox_result r = run("import sys\nsys.exit(3)\n");
    CHECK(r.exit_code == 3 && r.signal == 0, "exit %d signal %d; expected 3, 0", r.exit_code,
          r.signal);
    t2_sandbox_result_free(&r);
    /* stdin is /dev/null, the environment is clean, the directory is empty and writable */
    expect("input()\n", T2_SANDBOX_FAILED, "EOFError");
    expect("import os\nprint(sorted(os.environ))\n", T2_SANDBOX_PASSED,
           "['HOME', 'LANG', 'LC_ALL', 'PATH', 'TMPDIR']");
    expect("import os\nprint(os.listdir('.'))\nopen('out.txt', 'w').write('x')\n"
           "import tempfile\ntempfile.TemporaryFile().write(b'y')\n",
           T2_SANDBOX_PASSED, "['program.py']");
    /* the standard library is there; site-packages are not (-S) */
    expect("import re, math, heapq, collections, itertools\nprint(math.gcd(12, 18))\n",
           T2_SANDBOX_PASSED, "6\n");
    expect("import numpy\n", T2_SANDBOX_FAILED, "ModuleNotFoundError");
    expect("import ctypes\nctypes.string_at(0)\n", T2_SANDBOX_SIGNALED, NULL);
}

static void case_timeout(void) {
    limits.wall_seconds = 1.5;
    /* a loop in the program and in a child that left the process group */
    expect("import os\nif os.fork() == 0:\n    os.setsid()\n    while True: pass\n"
           "while True: pass\n", T2_SANDBOX_TIMEOUT, NULL);
    expect("import time\ntime.sleep(100)\n", T2_SANDBOX_TIMEOUT, NULL);
}

static void case_cpu(void) {
    limits.cpu_seconds = 1;
    expect("while True: pass\n", T2_SANDBOX_SIGNALED, NULL);
}

/* The users of this process's programs (rl/sandbox.c). */
static long own_users(void) { return 0x40000000L + ((long)getpid() << 8); }

static void case_fork_bomb(void) {
    limits.wall_seconds = 3;
    limits.processes = 16;
    int before = count_processes(0, own_users());
    expect("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
           "        pass\n", T2_SANDBOX_TIMEOUT, NULL);
    /* forks fail once the user has `processes` of them */
    expect("import os\nn = 0\ntry:\n    for i in range(100):\n        if os.fork() == 0:\n"
           "            import time\n            time.sleep(30)\n        n += 1\n"
           "except OSError as e:\n    print('stopped after', n, e)\n    raise SystemExit(1)\n",
           T2_SANDBOX_FAILED, "stopped after");
    int after = count_processes(0, own_users());
    CHECK(after <= before, "%d processes of the programs' users after, %d before", after,
          before);
    /* a fork bomb running beside other programs does not keep them from starting: each
     * program has a user of its own, and RLIMIT_NPROC counts per user */
    limits.jobs = 4;
    const char *programs[] = {
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
        "        pass\n",
        "import time\ntime.sleep(0.5)\nprint('ok')\n",
        "import time\ntime.sleep(1)\nprint('ok')\n",
        "import time\ntime.sleep(1.5)\nprint('ok')\n",
    };
    t2_sandbox_result r[4];
    t2_sandbox_run_batch(programs, 4, &limits, r);
    CHECK(r[0].status == T2_SANDBOX_TIMEOUT, "the fork bomb: %s; expected timeout",
          t2_sandbox_status_name(r[0].status));
    for (int i = 1; i < 4; i++) {
        CHECK(r[i].status == T2_SANDBOX_PASSED && strstr(r[i].output, "ok") != NULL,
              "program %d beside a fork bomb: %s, output '%s'; expected passed, 'ok'", i,
              t2_sandbox_status_name(r[i].status), r[i].output);
        t2_sandbox_result_free(&r[i]);
    }
    t2_sandbox_result_free(&r[0]);
    limits.jobs = 0;
}

static void case_output(void) {
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    t2_sandbox_result r = run("import sys\nblock = 'x' * (1 << 20)\n"
                              "for i in range(1024):\n    sys.stdout.write(block)\n");
    getrusage(RUSAGE_SELF, &after);
    CHECK(r.status == T2_SANDBOX_OUTPUT_LIMIT, "status %s; expected output limit",
          t2_sandbox_status_name(r.status));
    CHECK(r.output_len == (size_t)limits.output_bytes, "%zu bytes kept; expected %lld",
          r.output_len, (long long)limits.output_bytes);
    /* the parent kept 64 KiB, not the gigabyte: its peak memory grew by far less */
    CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024, "peak memory grew by %ld KiB",
          after.ru_maxrss - before.ru_maxrss);
    t2_sandbox_result_free(&r);
}

static void case_memory(void) {
    expect("x = bytearray(10 * 2**30)\nprint(len(x))\n", T2_SANDBOX_FAILED, "MemoryError");
}

static void case_write_outside(void) {
    char path[64], program[256];
    snprintf(path, sizeof path, "/tmp/t2_escape_%d", (int)getpid());
    unlink(path);
    snprintf(program, sizeof program, "open('%s', 'w').write('escaped')\n", path);
    int isolation = t2_sandbox_isolation();
    if (!(isolation & T2_SANDBOX_HAS_LANDLOCK)) {
        fprintf(stderr, "  no Landlock here: only a write where the user may not write is "
                        "checked\n");
        expect("open('/etc/t2_escape', 'w').write('escaped')\n", T2_SANDBOX_FAILED, "Error");
        return;
    }
    expect(program, T2_SANDBOX_FAILED, "PermissionError");
    CHECK(access(path, F_OK) != 0, "%s exists after the sandbox ran", path);
    unlink(path);
    expect("import os\nos.symlink('/tmp', 'up')\nopen('up/t2_escape_link', 'w')\n",
           T2_SANDBOX_FAILED, "PermissionError");
    CHECK(access("/tmp/t2_escape_link", F_OK) != 0, "/tmp/t2_escape_link exists");
}

static void case_shadow(void) {
    if (access("/etc/shadow", F_OK) != 0) {
        fprintf(stderr, "  no /etc/shadow here: reading /root instead\n");
        expect("import os\nprint(os.listdir('/root'))\n", T2_SANDBOX_FAILED, "PermissionError");
        return;
    }
    expect("print(open('/etc/shadow').read())\n", T2_SANDBOX_FAILED, "PermissionError");
}

static void case_socket(void) {
    /* a server the program would reach if it had a network */
    int port = 0, server = t2_check_local_server(&port);
    if (server < 0) return;
    char program[512];
    snprintf(program, sizeof program,
             "import socket\ns = socket.create_connection(('127.0.0.1', %d), timeout=1)\n"
             "s.sendall(b'escaped')\n", port);
    expect(program, T2_SANDBOX_FAILED, "PermissionError");
    expect("import socket\nsocket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n",
           T2_SANDBOX_FAILED, "PermissionError");
    CHECK(!t2_check_local_server_reached(server), "the server got a connection");
}

static void case_kill_parent(void) {
    /* every way to name t2: its pid as the program sees its parent, its real pid, its group,
     * and every process */
    t2_sandbox_result r = run("import os\nos.kill(os.getppid(), 9)\n");
    t2_sandbox_result_free(&r);
    char program[256];
    snprintf(program, sizeof program, "import os\nos.kill(%d, 9)\n", (int)getpid());
    expect(program, T2_SANDBOX_FAILED, "Error");
    snprintf(program, sizeof program, "import os\nos.killpg(%d, 9)\n", (int)getpgrp());
    expect(program, T2_SANDBOX_FAILED, "Error");
    r = run("import os\nos.kill(-1, 9)\nimport time\ntime.sleep(1)\n");
    t2_sandbox_result_free(&r);
    fprintf(stderr, "  the test process %d is alive\n", (int)getpid());
}

static void case_batch(void) {
    limits.wall_seconds = 2;
    const char *programs[] = {
        "print('a')\n",
        "assert False\n",
        "while True: pass\n",
        "import sys\nsys.exit(7)\n",
        "def f(x):\n    return x * 2\nassert f(3) == 6\n",
        "x = bytearray(10 * 2**30)\n",
        "print('b' * 100)\n",
        "import time\ntime.sleep(0.3)\nprint('slept')\n",
        "raise ValueError('v')\n",
        "import os\nos.kill(os.getppid(), 9)\n",
        "print('c')\n",
        "syntax error here\n",
    };
    enum { N = sizeof programs / sizeof programs[0] };
    t2_sandbox_result single[N], batch[N];
    for (int i = 0; i < N; i++) t2_sandbox_run(programs[i], &limits, &single[i]);
    for (int jobs = 1; jobs <= 5; jobs += 2) {
        limits.jobs = jobs;
        t2_sandbox_run_batch(programs, N, &limits, batch);
        for (int i = 0; i < N; i++) {
            CHECK(batch[i].status == single[i].status && batch[i].exit_code ==
                  single[i].exit_code, "jobs %d, program %d: %s exit %d in the batch, %s "
                  "exit %d alone", jobs, i, t2_sandbox_status_name(batch[i].status),
                  batch[i].exit_code, t2_sandbox_status_name(single[i].status),
                  single[i].exit_code);
            if (single[i].status == T2_SANDBOX_PASSED)
                CHECK(strcmp(batch[i].output, single[i].output) == 0,
                      "jobs %d, program %d: output '%s' in the batch, '%s' alone", jobs, i,
                      batch[i].output, single[i].output);
            t2_sandbox_result_free(&batch[i]);
        }
    }
    for (int i = 0; i < N; i++) t2_sandbox_result_free(&single[i]);
    t2_sandbox_run_batch(programs, 0, &limits, batch);
}

int main(int argc, char **argv) {
    static const struct {
        const char *name;
        void (*fn)(void);
    } cases[] = {
        {"basic", case_basic},       {"timeout", case_timeout},
        {"cpu", case_cpu},           {"fork_bomb", case_fork_bomb},
        {"output", case_output},     {"memory", case_memory},
        {"write_outside", case_write_outside}, {"shadow", case_shadow},
        {"socket", case_socket},     {"kill_parent", case_kill_parent},
        {"batch", case_batch},
    };
    if (access(T2_SANDBOX_PYTHON, X_OK) != 0) {
        fprintf(stderr, "skipped: %s is not installed\n", T2_SANDBOX_PYTHON);
        return 77;
    }
    /* a private $TMPDIR, to check that every sandbox directory is removed */
    char *tmp = t2_check_temp_dir("sandbox");
    chmod(tmp, 0711);
    setenv("TMPDIR", tmp, 1);
    int isolation = t2_sandbox_isolation();
    fprintf(stderr, "isolation:%s%s%s%s%s\n",
            isolation & T2_SANDBOX_HAS_NAMESPACES ? " namespaces" : "",
            isolation & T2_SANDBOX_HAS_OWN_USER ? " own-user" : "",
            isolation & T2_SANDBOX_HAS_SECCOMP ? " seccomp" : "",
            isolation & T2_SANDBOX_HAS_LANDLOCK ? " landlock" : "",
            isolation & T2_SANDBOX_HAS_SIGNAL_SCOPE ? " signal-scope" : "");
    int found = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) != 0) continue;
        fprintf(stderr, "%s\n", cases[i].name);
        t2_sandbox_limits_default(&limits);
        limits.wall_seconds = 5;
        cases[i].fn();
        found = 1;
    }
    CHECK(found, "unknown case '%s'", argc > 1 ? argv[1] : "");
    int left = t2_check_count_entries(tmp);
    CHECK(left == 0, "%d sandbox directories left in %s", left, tmp);
    rmdir(tmp);
    t2_free(tmp);
    return t2_check_exit_code();
}
