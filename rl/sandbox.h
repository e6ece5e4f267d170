/* Running untrusted Python programs (the code a model wrote) in sandboxed child processes:
 * what the mbpp task's reward executes (rl/task_mbpp.c, docs/tasks.md "The sandbox").
 *
 * Each program is written to program.py in a private empty directory (mkdtemp under $TMPDIR,
 * else /tmp; removed afterwards with whatever the program wrote) and run as
 *     /usr/bin/python3 -I -S -B program.py
 * (isolated mode: no PYTHON* variables, no user site, no script directory on sys.path; -S: no
 * site-packages, only the standard library; -B: no .pyc files) in a clean environment
 * (PATH, LANG, LC_ALL, HOME and TMPDIR set to the directory) with:
 *   - its own session and process group (setsid), and its own pid, net and IPC namespaces
 *     (not as root, inside a new user namespace, where unprivileged ones are allowed; else a
 *     plain fork): the program is pid 1 of its namespace: when it dies the kernel kills every
 *     process it started, even one that left the group; it sees no process outside;
 *   - as root: a uid and gid of its own (0x40000000 + (t2's pid << 8 | a counter): no account,
 *     unique among the programs running at once), no supplementary groups; so it cannot
 *     signal t2 or another program (kill() gets EPERM or ESRCH), read root's files
 *     (/etc/shadow) nor write where any user may not; not as root it keeps t2's user;
 *   - a seccomp filter (x86-64 and AArch64; elsewhere only the network namespace cuts the
 *     network): socket() fails with EACCES; kill() and tgkill() reach only the program's own
 *     process and group; tkill, ptrace, process_vm_readv/writev, pidfd_open,
 *     pidfd_send_signal and rt_(tg)sigqueueinfo fail with EPERM;
 *   - where the kernel has Landlock (Linux 5.13 and later): writes, file creation and removal
 *     only beneath its directory, and (Landlock ABI 6, Linux 6.12) no signals to processes
 *     outside its own sandbox;
 *   - rlimits: CPU seconds, address space, file size, open files, processes (RLIMIT_NPROC
 *     counts the processes of the user: as root, of this program alone), no core files;
 *   - no_new_privs, and SIGKILL when t2 dies (PR_SET_PDEATHSIG);
 *   - stdin from /dev/null; stdout and stderr into one pipe, of which output_bytes are kept:
 *     more output kills the program (status T2_SANDBOX_OUTPUT_LIMIT);
 *   - a wall-clock limit, after which its process group and namespace are killed with SIGKILL
 *     and reaped (status T2_SANDBOX_TIMEOUT).
 * Not isolated: what any user (or t2's user) may read (the program sees the file system);
 * disk use by many files, each under the file size limit, within the time limit; CPU time
 * stolen from t2 while it runs; without Landlock, files written in world-writable places such
 * as /tmp.
 * The child does nothing between clone/fork and exec but system calls on memory prepared
 * before (no allocation, no locks), so it is safe from a multithreaded or ASan process.
 * Does not know tasks or rewards. Reference: evalplus's and human-eval's execution
 * sandboxes (reliability guards, per-test timeouts), done here with kernel mechanisms:
 * namespaces(7), seccomp(2), landlock(7), setrlimit(2). */
#ifndef T2_RL_SANDBOX_H
#define T2_RL_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

/* The interpreter every program runs with. */
#define T2_SANDBOX_PYTHON "/usr/bin/python3"

typedef struct t2_sandbox_limits {
    double wall_seconds;   /* wall-clock time before the program is killed (> 0) */
    int64_t cpu_seconds;   /* RLIMIT_CPU of each process (>= 1) */
    int64_t memory_bytes;  /* RLIMIT_AS, address space of each process */
    int64_t file_bytes;    /* RLIMIT_FSIZE, the largest file it may write */
    int64_t open_files;    /* RLIMIT_NOFILE */
    int64_t processes;     /* RLIMIT_NPROC: processes of its user (see above) */
    int64_t output_bytes;  /* stdout + stderr kept; more kills the program */
    int jobs;              /* programs run at once by t2_sandbox_run_batch; 0 = online CPUs */
} t2_sandbox_limits;

/* The defaults: 10 s wall, 5 s CPU, 1 GiB address space, 16 MiB files, 64 open files,
 * 64 processes, 64 KiB of output, jobs 0. */
void t2_sandbox_limits_default(t2_sandbox_limits *limits);

typedef enum t2_sandbox_status {
    T2_SANDBOX_PASSED = 0,       /* exited with status 0 */
    T2_SANDBOX_FAILED = 1,       /* exited with another status (an exception, a failed assert) */
    T2_SANDBOX_TIMEOUT = 2,      /* still running at wall_seconds: killed */
    T2_SANDBOX_SIGNALED = 3,     /* killed by a signal t2 did not send (RLIMIT_CPU, a crash) */
    T2_SANDBOX_OUTPUT_LIMIT = 4, /* wrote more than output_bytes: killed */
    T2_SANDBOX_ERROR = 5,        /* could not be started (directory, pipe, fork): see output */
} t2_sandbox_status;

typedef struct t2_sandbox_result {
    t2_sandbox_status status;
    int exit_code;      /* the exit status when it exited, else -1 */
    int signal;         /* the signal that ended it, else 0 */
    int64_t pid;        /* its process id (= its process group id) as t2 sees it; 0 if none */
    double seconds;     /* wall-clock time from start to reaping */
    char *output;       /* heap (t2_free): stdout and stderr as they came, at most
                           output_bytes, NUL-terminated; for ERROR the reason */
    size_t output_len;  /* bytes in output, without the NUL */
} t2_sandbox_result;

/* Runs one program (Python source text) and fills *result. Never fails as a call: a program
 * that cannot be started is status T2_SANDBOX_ERROR with the reason in output. Blocks until
 * the program and every process it started are gone and its directory is removed. */
void t2_sandbox_run(const char *program, const t2_sandbox_limits *limits,
                    t2_sandbox_result *result);

/* Runs programs[0..n-1] with up to limits->jobs of them at once (a poll() loop over their
 * pipes, no threads) and fills results[0..n-1] as t2_sandbox_run would. n may be 0. */
void t2_sandbox_run_batch(const char *const *programs, int64_t n, const t2_sandbox_limits *limits,
                          t2_sandbox_result *results);

/* Frees result->output; accepts a zeroed result and may run twice. */
void t2_sandbox_result_free(t2_sandbox_result *result);

/* "passed", "failed", "timeout", "signaled", "output limit" or "error". */
const char *t2_sandbox_status_name(t2_sandbox_status status);

/* What isolation this process gets, as bit flags: which mechanisms the sandbox applies here
 * (for docs, tests and `t2 task score` diagnostics). */
enum {
    T2_SANDBOX_HAS_NAMESPACES = 1, /* pid, net, IPC (and, not as root, user) namespaces */
    T2_SANDBOX_HAS_OWN_USER = 2,   /* runs as a user and group of its own (as root) */
    T2_SANDBOX_HAS_SECCOMP = 4,    /* socket(), kill() outside itself, ptrace() denied */
    T2_SANDBOX_HAS_LANDLOCK = 8,   /* writes confined to its directory */
    T2_SANDBOX_HAS_SIGNAL_SCOPE = 16, /* Landlock signal scoping */
};
int t2_sandbox_isolation(void);

#endif
