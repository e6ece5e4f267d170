/* Scratch files and text copies for the fuzz targets (see harness.h). */
#define _GNU_SOURCE /* nftw's FTW_DEPTH | FTW_PHYS */
#include "harness.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "model/decomposition_store.h"

static char scratch[512];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_scratch(void) {
    if (scratch[0] != '\0') nftw(scratch, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void make_scratch(void) {
    const char *base = getenv("TMPDIR");
    if (access("/dev/shm", W_OK) == 0) base = "/dev/shm";
    else if (base == NULL || base[0] == '\0') base = "/tmp";
    snprintf(scratch, sizeof scratch, "%s/t2-fuzz-%ld-XXXXXX", base, (long)getpid());
    if (mkdtemp(scratch) == NULL) {
        fprintf(stderr, "t2 fuzz: cannot make the scratch folder %s\n", scratch);
        abort();
    }
    atexit(remove_scratch);
}

char *t2_fuzz_path(const char *name) {
    if (scratch[0] == '\0') make_scratch();
    return t2_strdup_printf("%s/%s", scratch, name);
}

enum { SEAL_BYTES = 10 };

/* bytes with the seal made right: a seal already at the end is replaced, else one is
 * appended. A heap copy (t2_free) in *out, *out_len. */
static void reseal(const uint8_t *data, size_t size, unsigned char **out, size_t *out_len) {
    size_t body = size;
    if (size >= SEAL_BYTES && data[size - SEAL_BYTES] == 0xC1 &&
        data[size - SEAL_BYTES + 1] == 0x3E)
        body = size - SEAL_BYTES;
    unsigned char *bytes = t2_alloc(body + SEAL_BYTES);
    if (body > 0) memcpy(bytes, data, body);
    uint64_t sum = t2_decomposition_xxh64(bytes, body, 0);
    bytes[body] = 0xC1;
    bytes[body + 1] = 0x3E;
    for (int b = 0; b < 8; b++) bytes[body + 2 + b] = (unsigned char)(sum >> (8 * b));
    *out = bytes;
    *out_len = body + SEAL_BYTES;
}

void t2_fuzz_try_resealed(const uint8_t *data, size_t size, t2_fuzz_try_fn try_fn) {
    unsigned char *sealed;
    size_t len;
    reseal(data, size, &sealed, &len);
    try_fn(sealed, len);
    t2_free(sealed);
}

void t2_fuzz_require(int ok, const char *what) {
    if (ok) return;
    fprintf(stderr, "t2 fuzz: %s\n", what);
    abort();
}

void t2_fuzz_mkdir(const char *path) {
    if (mkdir(path, 0700) != 0) {
        fprintf(stderr, "t2 fuzz: cannot make the folder %s\n", path);
        abort();
    }
}

void t2_fuzz_write(const char *path, const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "t2 fuzz: cannot write %s\n", path);
        abort();
    }
}

char *t2_fuzz_text(const uint8_t *data, size_t size) {
    return t2_strndup((const char *)data, size);
}
