/* The main() of a fuzz target in the normal (gcc) builds: runs LLVMFuzzerTestOneInput once on
 * every file named on the command line and every regular file of every folder named there
 * (in name order), so the suite replays the seed corpora and the crash regressions of
 * tests/fuzz/ under each build's flags (ASan + UBSan in the sanitizer build). A crash, a
 * sanitizer report or a leak fails the test by itself; a file that cannot be read fails it
 * with a message. libFuzzer's own main() replaces this one in the clang fuzz build
 * (-DT2_FUZZ=ON, tests/fuzz.cmake). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/error.h"
#include "base/file.h"
#include "harness.h"

static int run_file(const char *path) {
    char *bytes = NULL;
    size_t len = 0;
    t2_error err = {{0}};
    if (t2_file_read(path, &bytes, &len, &err) != 0) {
        fprintf(stderr, "replay: %s\n", err.msg);
        return -1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)bytes, len);
    t2_free(bytes);
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir in name order; the count run is added to *n. */
static int run_dir(const char *dir, int *n) {
    DIR *d = opendir(dir);
    if (d == NULL && errno == ENOENT) {
        printf("replay: %s: no such folder (no inputs there yet)\n", dir);
        return 0;
    }
    if (d == NULL) {
        fprintf(stderr, "replay: %s: cannot open the folder: %s\n", dir, strerror(errno));
        return -1;
    }
    char **paths = NULL;
    size_t count = 0;
    for (struct dirent *ent; (ent = readdir(d)) != NULL;) {
        char *path = t2_strdup_printf("%s/%s", dir, ent->d_name);
        struct stat sb;
        if (ent->d_name[0] == '.' || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            t2_free(path);
            continue;
        }
        paths = t2_realloc(paths, (count + 1) * sizeof *paths);
        paths[count++] = path;
    }
    closedir(d);
    if (count > 1) qsort(paths, count, sizeof *paths, by_name);
    int status = 0;
    for (size_t i = 0; i < count; i++) {
        if (status == 0 && run_file(paths[i]) != 0) status = -1;
        t2_free(paths[i]);
    }
    t2_free(paths);
    *n += (int)count;
    return status;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
        return 2;
    }
    int n = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0 || S_ISDIR(sb.st_mode)) {
            if (run_dir(argv[i], &n) != 0) return 1;
        } else {
            if (run_file(argv[i]) != 0) return 1;
            n++;
        }
    }
    printf("replay: %d inputs ran\n", n);
    return 0;
}
