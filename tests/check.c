/* Test-check helpers (see check.h). */
#include "check.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"

static int n_failed = 0, n_checked_arrays = 0;

void t2_check_fail(const char *file, int line, const char *expr, const char *fmt, ...) {
    n_failed++;
    fprintf(stderr, "FAIL %s:%d: %s: ", file, line, expr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int t2_check_close_double(const char *what, const double *got, const double *want, int64_t n,
                          double abs_tol, double rel_tol) {
    n_checked_arrays++;
    int64_t bad = 0, worst_i = -1;
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double diff = fabs(got[i] - want[i]);
        int ok = diff <= abs_tol + rel_tol * fabs(want[i]);
        if (isnan(got[i]) != isnan(want[i])) ok = 0;
        if (diff > worst || (!ok && worst_i < 0)) {
            worst = diff;
            worst_i = i;
        }
        if (!ok) {
            if (bad < 5)
                fprintf(stderr, "  %s[%lld]: got %.9g want %.9g (diff %.3g)\n", what,
                        (long long)i, got[i], want[i], diff);
            bad++;
        }
    }
    if (bad) {
        n_failed++;
        fprintf(stderr, "FAIL %s: %lld of %lld values differ (tol abs %.3g rel %.3g); worst "
                "diff %.3g at %lld\n", what, (long long)bad, (long long)n, abs_tol, rel_tol, worst,
                (long long)worst_i);
        return 0;
    }
    fprintf(stderr, "ok   %s: %lld values, worst diff %.3g\n", what, (long long)n, worst);
    return 1;
}

int t2_check_close(const char *what, const float *got, const float *want, int64_t n,
                   double abs_tol, double rel_tol) {
    double *g = t2_alloc_array((size_t)n, sizeof *g), *w = t2_alloc_array((size_t)n, sizeof *w);
    for (int64_t i = 0; i < n; i++) {
        g[i] = got[i];
        w[i] = want[i];
    }
    int ok = t2_check_close_double(what, g, w, n, abs_tol, rel_tol);
    t2_free(g);
    t2_free(w);
    return ok;
}

int t2_check_exit_code(void) {
    if (n_failed) {
        fprintf(stderr, "%d check(s) failed\n", n_failed);
        return 1;
    }
    fprintf(stderr, "all checks passed\n");
    return 0;
}

char *t2_check_temp_dir(const char *tag) {
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0') base = "/tmp";
    size_t n = strlen(base) + strlen(tag) + 32;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/t2-%s-XXXXXX", base, tag);
    if (mkdtemp(path) == NULL) {
        fprintf(stderr, "cannot create temp dir %s\n", path);
        exit(1);
    }
    return path;
}

int t2_check_remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    int status = d != NULL ? 0 : -1;
    for (struct dirent *ent; d != NULL && (ent = readdir(d)) != NULL;) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
        size_t n = strlen(dir) + strlen(ent->d_name) + 2;
        char *path = t2_alloc(n);
        snprintf(path, n, "%s/%s", dir, ent->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) status |= t2_check_remove_tree(path);
        else if (unlink(path) != 0) status = -1;
        t2_free(path);
    }
    if (d != NULL) closedir(d);
    return rmdir(dir) == 0 ? status : -1;
}

char *t2_check_source_path(const char *rel) {
    const char *root = getenv("T2_SOURCE_DIR");
    if (root == NULL) root = ".";
    size_t n = strlen(root) + strlen(rel) + 2;
    char *path = t2_alloc(n);
    snprintf(path, n, "%s/%s", root, rel);
    return path;
}

int t2_check_count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *ent; d != NULL && (ent = readdir(d)) != NULL;)
        n += strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0;
    if (d != NULL) closedir(d);
    return n;
}

int t2_check_local_server(int *port) {
    int server = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int ok = server >= 0 && bind(server, (struct sockaddr *)&addr, sizeof addr) == 0 &&
             listen(server, 4) == 0 && getsockname(server, (struct sockaddr *)&addr, &len) == 0;
    CHECK(ok, "cannot open a local server: %s", strerror(errno));
    if (!ok) {
        if (server >= 0) close(server);
        return -1;
    }
    *port = ntohs(addr.sin_port);
    return server;
}

int t2_check_local_server_reached(int server) {
    int conn = accept(server, NULL, NULL);
    int reached = conn >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    if (conn >= 0) close(conn);
    close(server);
    return reached;
}
