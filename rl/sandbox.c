/* Sandboxed execution of Python programs (see sandbox.h): the child's set-up between clone
 * and exec, and the parent's poll() loop over running programs (output pipes, pidfds,
 * deadlines), reaping and clean-up.
 * Does not decide what a program means (rl/task_mbpp.c does).
 * Reference: clone(2), pidfd_open(2), seccomp(2) with classic BPF, landlock(7). */
#define _GNU_SOURCE
#include "rl/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/assert.h"

/* As root each program runs as a user of its own: UID_BASE + (t2's pid << 8 | a counter),
 * unique among the programs running at the same time on the machine (pids are unique, and a
 * process runs far fewer than 256 at once), with no account behind it. RLIMIT_NPROC counts
 * processes per user, so one program's fork bomb cannot keep its neighbours from starting,
 * and programs cannot signal one another. pid_max is at most 2^22, so the uid stays below
 * 2^31. */
#define UID_BASE 0x40000000u

enum {
    SETUP_FAILED = 126,  /* the child's exit status when its set-up failed */
    POLL_FALLBACK_MS = 10, /* poll interval when pidfds are not available */
};
#define SETUP_MARK "t2 sandbox: "

/* Landlock's ABI (include/uapi/linux/landlock.h), declared here so that older kernel headers
 * build: the ruleset attribute grew with ABI 4 (net) and 6 (scoped). */
enum {
    LL_CREATE_RULESET_VERSION = 1,
    LL_RULE_PATH_BENEATH = 1,
    LL_WRITE_FILE = 1 << 1,
    LL_REMOVE_DIR = 1 << 4,
    LL_REMOVE_FILE = 1 << 5,
    LL_MAKE_CHAR = 1 << 6,
    LL_MAKE_DIR = 1 << 7,
    LL_MAKE_REG = 1 << 8,
    LL_MAKE_SOCK = 1 << 9,
    LL_MAKE_FIFO = 1 << 10,
    LL_MAKE_BLOCK = 1 << 11,
    LL_MAKE_SYM = 1 << 12,
    LL_REFER = 1 << 13,    /* ABI 2 */
    LL_TRUNCATE = 1 << 14, /* ABI 3 */
    LL_SCOPE_ABSTRACT_UNIX = 1 << 0, /* ABI 6 */
    LL_SCOPE_SIGNAL = 1 << 1,        /* ABI 6 */
};
typedef struct ll_ruleset_attr {
    uint64_t handled_access_fs, handled_access_net, scoped;
} ll_ruleset_attr;
typedef struct __attribute__((packed)) ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} ll_path_beneath;
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif
#if defined(SECCOMP_ARCH) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the seccomp filter reads the low half of 64-bit arguments at offset 0"
#endif

void t2_sandbox_limits_default(t2_sandbox_limits *limits) {
    *limits = (t2_sandbox_limits){.wall_seconds = 10.0, .cpu_seconds = 5,
                                  .memory_bytes = (int64_t)1 << 30,
                                  .file_bytes = (int64_t)16 << 20, .open_files = 64,
                                  .processes = 64, .output_bytes = 64 << 10, .jobs = 0};
}

const char *t2_sandbox_status_name(t2_sandbox_status status) {
    static const char *const names[] = {"passed", "failed", "timeout", "signaled",
                                        "output limit", "error"};
    return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "?";
}

void t2_sandbox_result_free(t2_sandbox_result *result) {
    t2_free(result->output);
    result->output = NULL;
    result->output_len = 0;
}

/* ---- what this process can use, probed once ---- */

static struct {
    pthread_once_t once;
    int as_root, landlock_abi;
    unsigned long ns_flags; /* the namespaces each child gets; 0: a plain fork */
} probe = {PTHREAD_ONCE_INIT, 0, 0, 0};

static const unsigned long NS_FLAGS = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC;

/* 1 when a child cloned into new namespaces (flags) starts: most machines and containers
 * allow it, not all. */
static int clone_works(unsigned long flags) {
    long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0) syscall(SYS_exit_group, 0);
    if (pid < 0) return 0;
    int status;
    while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR) {}
    return 1;
}

static void probe_run(void) {
    probe.as_root = geteuid() == 0;
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
    probe.landlock_abi = abi > 0 ? (int)abi : 0;
    /* not as root, the namespaces need a user namespace of their own (unprivileged user
     * namespaces): the program then appears as the overflow uid inside it */
    unsigned long flags = probe.as_root ? NS_FLAGS : NS_FLAGS | CLONE_NEWUSER;
    probe.ns_flags = clone_works(flags) ? flags : 0;
}

int t2_sandbox_isolation(void) {
    pthread_once(&probe.once, probe_run);
    int flags = 0;
    if (probe.ns_flags != 0) flags |= T2_SANDBOX_HAS_NAMESPACES;
    if (probe.as_root) flags |= T2_SANDBOX_HAS_OWN_USER;
#ifdef SECCOMP_ARCH
    flags |= T2_SANDBOX_HAS_SECCOMP;
#endif
    if (probe.landlock_abi >= 1) flags |= T2_SANDBOX_HAS_LANDLOCK;
    if (probe.landlock_abi >= 6) flags |= T2_SANDBOX_HAS_SIGNAL_SCOPE;
    return flags;
}

/* ---- the child: system calls only, on memory prepared before the clone ---- */

enum { N_LIMITS = 6 };

/* Everything the child needs, filled by the parent before clone/fork. */
typedef struct plan {
    char dir[PATH_MAX];
    char env_home[PATH_MAX + 8], env_tmpdir[PATH_MAX + 8];
    const char *argv[7];
    const char *envp[6];
    int devnull, out_w;
    int resources[N_LIMITS];
    struct rlimit limits[N_LIMITS];
    int as_root, landlock_abi;
    unsigned uid;         /* as root: the program's own user and group (UID_BASE + ...) */
} plan;

/* Writes "t2 sandbox: <what> failed (errno N)\n" to fd 1 and exits SETUP_FAILED. */
static void __attribute__((noreturn)) child_fail(const char *what) {
    int e = errno;
    char digits[16];
    int n = 0;
    do digits[n++] = (char)('0' + e % 10);
    while ((e /= 10) > 0 && n < (int)sizeof digits);
    char line[160];
    size_t len = 0;
    const char *parts[] = {SETUP_MARK, what, " failed (errno "};
    for (int p = 0; p < 3; p++)
        for (const char *s = parts[p]; *s && len < sizeof line - 24; s++) line[len++] = *s;
    while (n > 0) line[len++] = digits[--n];
    line[len++] = ')';
    line[len++] = '\n';
    ssize_t ignored = write(1, line, len);
    (void)ignored;
    syscall(SYS_exit_group, SETUP_FAILED);
    __builtin_unreachable();
}

/* A tiny BPF assembler: jumps name instructions by label and are resolved at the end. */
enum { L_NONE = -1, L_ALLOW, L_EPERM, L_EACCES, L_KILL, L_KILL_CHECK, L_TGKILL_CHECK, N_LABELS };
typedef struct bpf_prog_builder {
    struct sock_filter ins[48];
    int jt_label[48], jf_label[48];
    int label_at[N_LABELS];
    int n;
} bpf_prog_builder;

static void emit(bpf_prog_builder *b, uint16_t code, uint32_t k, int jt, int jf) {
    b->ins[b->n] = (struct sock_filter)BPF_STMT(code, k);
    b->jt_label[b->n] = jt;
    b->jf_label[b->n] = jf;
    b->n++;
}

/* The filter: other architectures are killed; socket() fails with EACCES; kill() only reaches
 * pid 0, the caller's pid or its group; tgkill() only the caller's thread group; tkill(),
 * ptrace(), process_vm_*(), pidfd_open(), pidfd_send_signal(), rt_(tg)sigqueueinfo() fail with
 * EPERM. pid is the caller's pid as it sees itself (1 in its own pid namespace). */
static int child_seccomp(pid_t pid) {
#ifdef SECCOMP_ARCH
    bpf_prog_builder b;
    b.n = 0;
    const uint32_t off_nr = offsetof(struct seccomp_data, nr);
    const uint32_t off_arch = offsetof(struct seccomp_data, arch);
    const uint32_t off_arg0 = offsetof(struct seccomp_data, args[0]);
    static const int denied[] = {SYS_tkill, SYS_ptrace, SYS_process_vm_readv,
                                 SYS_process_vm_writev, SYS_pidfd_open, SYS_pidfd_send_signal,
                                 SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo};
    emit(&b, BPF_LD | BPF_W | BPF_ABS, off_arch, L_NONE, L_NONE);
    emit(&b, BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, L_NONE, L_KILL);
    emit(&b, BPF_LD | BPF_W | BPF_ABS, off_nr, L_NONE, L_NONE);
    emit(&b, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, L_KILL, L_NONE); /* x32 and junk */
    emit(&b, BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, L_EACCES, L_NONE);
    emit(&b, BPF_JMP | BPF_JEQ | BPF_K, SYS_kill, L_KILL_CHECK, L_NONE);
    emit(&b, BPF_JMP | BPF_JEQ | BPF_K, SYS_tgkill, L_TGKILL_CHECK, L_NONE);
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++)
        emit(&b, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)denied[i], L_EPERM, L_NONE);
    emit(&b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, L_NONE, L_NONE);
    b.label_at[L_KILL_CHECK] = b.n;
    emit(&b, BPF_LD | BPF_W | BPF_ABS, off_arg0, L_NONE, L_NONE);
    emit(&b, BPF_JMP | BPF_JEQ | BPF_K, 0, L_ALLOW, L_NONE);
    emit(&b, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)pid, L_ALLOW, L_NONE);
    emit(&b, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)-pid, L_ALLOW, L_EPERM);
    b.label_at[L_TGKILL_CHECK] = b.n;
    emit(&b, BPF_LD | BPF_W | BPF_ABS, off_arg0, L_NONE, L_NONE);
    emit(&b, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)pid, L_ALLOW, L_EPERM);
    b.label_at[L_ALLOW] = b.n;
    emit(&b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, L_NONE, L_NONE);
    b.label_at[L_EPERM] = b.n;
    emit(&b, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, L_NONE, L_NONE);
    b.label_at[L_EACCES] = b.n;
    emit(&b, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES, L_NONE, L_NONE);
    b.label_at[L_KILL] = b.n;
    emit(&b, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, L_NONE, L_NONE);
    for (int i = 0; i < b.n; i++) {
        if (b.jt_label[i] != L_NONE) b.ins[i].jt = (uint8_t)(b.label_at[b.jt_label[i]] - i - 1);
        if (b.jf_label[i] != L_NONE) b.ins[i].jf = (uint8_t)(b.label_at[b.jf_label[i]] - i - 1);
    }
    struct sock_fprog prog = {.len = (unsigned short)b.n, .filter = b.ins};
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
#else
    (void)pid;
    return 0;
#endif
}

/* Landlock: writes only beneath the working directory; with ABI 6 no signals out. */
static int child_landlock(int abi) {
    uint64_t writes = LL_WRITE_FILE | LL_REMOVE_DIR | LL_REMOVE_FILE | LL_MAKE_CHAR |
                      LL_MAKE_DIR | LL_MAKE_REG | LL_MAKE_SOCK | LL_MAKE_FIFO | LL_MAKE_BLOCK |
                      LL_MAKE_SYM;
    if (abi >= 2) writes |= LL_REFER;
    if (abi >= 3) writes |= LL_TRUNCATE;
    ll_ruleset_attr attr = {.handled_access_fs = writes};
    size_t size = sizeof attr.handled_access_fs;
    if (abi >= 4) size = 2 * sizeof(uint64_t);
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_SIGNAL | LL_SCOPE_ABSTRACT_UNIX;
        size = sizeof attr;
    }
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (ruleset < 0) return -1;
    ll_path_beneath rule = {.allowed_access = writes,
                            .parent_fd = open(".", O_PATH | O_CLOEXEC | O_DIRECTORY)};
    if (rule.parent_fd < 0 ||
        syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0) != 0 ||
        syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
        return -1;
    close(rule.parent_fd);
    close(ruleset);
    return 0;
}

static void __attribute__((noreturn)) child_run(const plan *p) {
    if (setsid() < 0) child_fail("setsid");
    if (dup2(p->out_w, 1) < 0 || dup2(p->out_w, 2) < 0 || dup2(p->devnull, 0) < 0)
        child_fail("dup2");
    if (syscall(SYS_close_range, 3u, ~0u, 0) != 0)
        for (int fd = 3; fd < 4096; fd++) close(fd);
    if (chdir(p->dir) != 0) child_fail("chdir");
    for (int i = 0; i < N_LIMITS; i++)
        if (setrlimit(p->resources[i], &p->limits[i]) != 0) child_fail("setrlimit");
    /* raw system calls: glibc's setuid() would signal threads that only exist in the parent */
    if (p->as_root && (syscall(SYS_setgroups, 0, NULL) != 0 ||
                       syscall(SYS_setresgid, p->uid, p->uid, p->uid) != 0 ||
                       syscall(SYS_setresuid, p->uid, p->uid, p->uid) != 0))
        child_fail("setuid");
    /* after the uid change, which clears it */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail("PR_SET_PDEATHSIG");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail("PR_SET_NO_NEW_PRIVS");
    if (p->landlock_abi >= 1 && child_landlock(p->landlock_abi) != 0) child_fail("landlock");
    if (child_seccomp((pid_t)syscall(SYS_getpid)) != 0) child_fail("seccomp");
    execve(p->argv[0], (char *const *)p->argv, (char *const *)p->envp);
    child_fail("execve " T2_SANDBOX_PYTHON);
}

/* ---- the parent ---- */

typedef struct slot {
    int64_t index;        /* the program it runs, -1 when free */
    pid_t pid;
    int pidfd, out_r;     /* -1 when closed or unavailable */
    int exited, wstatus;
    int killed_timeout, killed_output;
    double start, deadline;
    char dir[PATH_MAX];   /* "" when none */
    unsigned uid;         /* as root: the program's user (see UID_BASE) */
    t2_sandbox_result *result;
} slot;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    if (type == FTW_DP) rmdir(path);
    else unlink(path);
    return 0;
}

/* Removes the directory and everything in it without following symbolic links. */
static void remove_tree(const char *dir) {
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void set_error(t2_sandbox_result *r, const char *what) {
    char text[256];
    int n = snprintf(text, sizeof text, SETUP_MARK "%s: %s", what, strerror(errno));
    t2_free(r->output);
    r->status = T2_SANDBOX_ERROR;
    r->output = t2_strdup(text);
    r->output_len = (size_t)(n > 0 ? n : 0);
}

/* Writes the program into a new private directory; 0, or -1 with the result set to ERROR. */
static int make_dir(slot *s, const char *program) {
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0') tmp = "/tmp";
    if (snprintf(s->dir, sizeof s->dir, "%s/t2-sandbox-XXXXXX", tmp) >= (int)sizeof s->dir) {
        errno = ENAMETOOLONG;
        s->dir[0] = '\0';
        set_error(s->result, "TMPDIR");
        return -1;
    }
    if (mkdtemp(s->dir) == NULL) {
        set_error(s->result, "mkdtemp");
        s->dir[0] = '\0';
        return -1;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/program.py", s->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    size_t len = strlen(program), done = 0;
    while (fd >= 0 && done < len) {
        ssize_t w = write(fd, program + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    int ok = fd >= 0 && done == len;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    if (ok && probe.as_root && chown(s->dir, s->uid, s->uid) != 0) ok = 0;
    if (!ok) {
        set_error(s->result, "writing program.py");
        return -1;
    }
    return 0;
}

static void fill_plan(plan *p, const slot *s, const t2_sandbox_limits *l, int devnull,
                      int out_w) {
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "%s", s->dir);
    snprintf(p->env_home, sizeof p->env_home, "HOME=%s", s->dir);
    snprintf(p->env_tmpdir, sizeof p->env_tmpdir, "TMPDIR=%s", s->dir);
    const char *argv[] = {T2_SANDBOX_PYTHON, "-I", "-S", "-B", "program.py", NULL};
    memcpy(p->argv, argv, sizeof argv);
    const char *envp[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", p->env_home,
                          p->env_tmpdir, NULL};
    memcpy(p->envp, envp, sizeof envp);
    p->devnull = devnull;
    p->out_w = out_w;
    const int resources[N_LIMITS] = {RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NOFILE,
                                     RLIMIT_NPROC, RLIMIT_CORE};
    const int64_t values[N_LIMITS] = {l->cpu_seconds, l->memory_bytes, l->file_bytes,
                                      l->open_files, l->processes, 0};
    for (int i = 0; i < N_LIMITS; i++) {
        p->resources[i] = resources[i];
        /* soft = hard: at the CPU limit the kernel sends SIGKILL, which reaches a pid 1 */
        p->limits[i].rlim_cur = p->limits[i].rlim_max = (rlim_t)values[i];
    }
    p->as_root = probe.as_root;
    p->landlock_abi = probe.landlock_abi;
    p->uid = s->uid;
}

/* Starts the program of slot s; on failure the result is ERROR and the slot stays free. */
static void start(slot *s, const char *program, const t2_sandbox_limits *l, int devnull) {
    s->start = now_seconds();
    s->deadline = s->start + l->wall_seconds;
    s->pidfd = s->out_r = -1;
    s->exited = s->killed_timeout = s->killed_output = 0;
    s->result->output = t2_alloc((size_t)l->output_bytes + 1);
    s->result->output[0] = '\0';
    static unsigned counter;
    unsigned n = __atomic_fetch_add(&counter, 1u, __ATOMIC_RELAXED) & 0xffu;
    s->uid = UID_BASE + ((unsigned)getpid() << 8 | n);
    if (make_dir(s, program) != 0) return;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        set_error(s->result, "pipe");
        return;
    }
    plan *p = t2_alloc(sizeof *p);
    fill_plan(p, s, l, devnull, fds[1]);
    long pid = probe.ns_flags ? syscall(SYS_clone, probe.ns_flags | SIGCHLD, NULL, NULL, NULL, 0)
                              : (long)fork();
    if (pid == 0) child_run(p);
    int saved = errno;
    t2_free(p);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        errno = saved;
        set_error(s->result, "fork");
        return;
    }
    s->pid = (pid_t)pid;
    s->result->pid = pid;
    s->out_r = fds[0];
    fcntl(s->out_r, F_SETFL, fcntl(s->out_r, F_GETFL) | O_NONBLOCK);
    s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
}

static void kill_all(slot *s) {
    kill(-s->pid, SIGKILL); /* its process group */
    kill(s->pid, SIGKILL);  /* and itself: as pid 1 of its namespace, everything in it */
}

/* Reads what the pipe holds now; kills the program when it passes the output limit. */
static void drain(slot *s, const t2_sandbox_limits *l) {
    t2_sandbox_result *r = s->result;
    char scratch[16384];
    while (s->out_r >= 0) {
        ssize_t got = read(s->out_r, scratch, sizeof scratch);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && errno == EAGAIN) return;
        if (got <= 0) break; /* end of file, or an error: stop reading */
        size_t room = (size_t)l->output_bytes - r->output_len;
        size_t keep = (size_t)got < room ? (size_t)got : room;
        memcpy(r->output + r->output_len, scratch, keep);
        r->output_len += keep;
        r->output[r->output_len] = '\0';
        if ((size_t)got > room) {
            s->killed_output = 1;
            kill_all(s);
            break;
        }
    }
    if (s->out_r >= 0) close(s->out_r);
    s->out_r = -1;
}

static void finish(slot *s) {
    t2_sandbox_result *r = s->result;
    r->seconds = now_seconds() - s->start;
    r->exit_code = -1;
    if (WIFEXITED(s->wstatus)) r->exit_code = WEXITSTATUS(s->wstatus);
    if (WIFSIGNALED(s->wstatus)) r->signal = WTERMSIG(s->wstatus);
    if (s->killed_timeout) r->status = T2_SANDBOX_TIMEOUT;
    else if (s->killed_output) r->status = T2_SANDBOX_OUTPUT_LIMIT;
    else if (r->exit_code == 0) r->status = T2_SANDBOX_PASSED;
    else if (r->exit_code == SETUP_FAILED &&
             strncmp(r->output, SETUP_MARK, sizeof SETUP_MARK - 1) == 0)
        r->status = T2_SANDBOX_ERROR;
    else if (r->exit_code > 0) r->status = T2_SANDBOX_FAILED;
    else r->status = T2_SANDBOX_SIGNALED;
}

/* Frees the slot's resources: pipe, pidfd, directory. */
static void release(slot *s) {
    if (s->out_r >= 0) close(s->out_r);
    if (s->pidfd >= 0) close(s->pidfd);
    if (s->dir[0] != '\0') remove_tree(s->dir);
    s->out_r = s->pidfd = -1;
    s->dir[0] = '\0';
    s->index = -1;
}

/* Reaps the slot's program when it has exited: kills what is left of its group, keeps the
 * output still in the pipe, sets the result and frees the slot. Returns 1 when reaped. */
static int try_reap(slot *s, const t2_sandbox_limits *l) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    /* WNOWAIT: look first, so that the group is killed while the pid cannot be reused */
    if (waitid(P_PID, (id_t)s->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
        return 0;
    kill(-s->pid, SIGKILL);
    while (waitpid(s->pid, &s->wstatus, 0) < 0 && errno == EINTR) {}
    drain(s, l);
    finish(s);
    release(s);
    return 1;
}

void t2_sandbox_run_batch(const char *const *programs, int64_t n, const t2_sandbox_limits *limits,
                          t2_sandbox_result *results) {
    T2_ASSERT(n >= 0 && limits->wall_seconds > 0 && limits->output_bytes >= 1);
    pthread_once(&probe.once, probe_run);
    memset(results, 0, (size_t)n * sizeof *results);
    if (n == 0) return;
    int64_t jobs = limits->jobs > 0 ? limits->jobs : sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1) jobs = 1;
    if (jobs > n) jobs = n;
    slot *slots = t2_alloc_array((size_t)jobs, sizeof *slots);
    struct pollfd *fds = t2_alloc_array((size_t)(2 * jobs), sizeof *fds);
    for (int64_t j = 0; j < jobs; j++) slots[j].index = -1;
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int64_t next = 0, active = 0;
    while (next < n || active > 0) {
        for (int64_t j = 0; j < jobs && next < n; j++) {
            if (slots[j].index >= 0) continue;
            slot *s = &slots[j];
            s->index = next;
            s->result = &results[next];
            start(s, programs[next], limits, devnull);
            next++;
            if (s->out_r >= 0) {
                active++;
            } else {
                s->result->seconds = now_seconds() - s->start;
                release(s);
            }
        }
        if (active == 0) continue;
        double t = now_seconds(), wait = 3600.0;
        int nfds = 0, fallback = 0;
        for (int64_t j = 0; j < jobs; j++) {
            slot *s = &slots[j];
            if (s->index < 0) continue;
            if (!s->killed_timeout && !s->killed_output && s->deadline - t < wait)
                wait = s->deadline - t;
            if (s->out_r >= 0) fds[nfds++] = (struct pollfd){.fd = s->out_r, .events = POLLIN};
            if (s->pidfd >= 0) fds[nfds++] = (struct pollfd){.fd = s->pidfd, .events = POLLIN};
            else fallback = 1;
        }
        int timeout_ms = wait <= 0 ? 0 : (int)(wait * 1000.0) + 1;
        if (fallback && timeout_ms > POLL_FALLBACK_MS) timeout_ms = POLL_FALLBACK_MS;
        if (poll(fds, (nfds_t)nfds, timeout_ms) < 0 && errno != EINTR)
            T2_ASSERT(!"poll on sandbox pipes failed");
        t = now_seconds();
        for (int64_t j = 0; j < jobs; j++) {
            slot *s = &slots[j];
            if (s->index < 0) continue;
            if (s->out_r >= 0) drain(s, limits);
            if (!s->killed_timeout && !s->killed_output && t >= s->deadline) {
                s->killed_timeout = 1;
                kill_all(s);
            }
            if (try_reap(s, limits)) active--;
        }
    }
    if (devnull >= 0) close(devnull);
    t2_free(fds);
    t2_free(slots);
}

void t2_sandbox_run(const char *program, const t2_sandbox_limits *limits,
                    t2_sandbox_result *result) {
    t2_sandbox_run_batch(&program, 1, limits, result);
}
