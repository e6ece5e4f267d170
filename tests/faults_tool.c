/* Damages files for tests/test_faults.sh, in place:
 *   faults_tool flip FILE         flips the lowest bit of the byte in the middle of the data
 *                                 buffer of a safetensors file (past its 8-byte length and
 *                                 JSON header): a silent change of one number
 *   faults_tool flip-raw FILE     the same for the byte in the middle of any file (protobuf
 *                                 experts, bundles, training checkpoints)
 *   faults_tool strip FILE        turns a safetensors file into what t2 wrote before the
 *                                 "data_xxh64" checksum existed: the metadata entry and one
 *                                 comma next to it become spaces (the header keeps its length
 *                                 and stays valid JSON)
 * Prints what it changed; exits 1 with a line on stderr when the file is not what it expects. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/file.h"

static int fail(const char *path, const char *what) {
    fprintf(stderr, "faults_tool: %s: %s\n", path, what);
    return 1;
}

/* The byte where the data buffer of a safetensors file starts, or 0 when it has none. */
static size_t data_start(const unsigned char *bytes, size_t len) {
    uint64_t n = 0;
    if (len < 8) return 0;
    memcpy(&n, bytes, 8); /* little-endian host */
    return n < len - 8 ? (size_t)(8 + n) : 0;
}

static int strip(unsigned char *bytes, size_t len, const char *path) {
    static const char key[] = "\"data_xxh64\":\"";
    size_t header = data_start(bytes, len), k = strlen(key);
    for (size_t at = 8; header > 0 && at + k + 17 <= header; at++) {
        if (memcmp(bytes + at, key, k) != 0 || bytes[at + k + 16] != '"') continue;
        size_t begin = at, end = at + k + 17; /* the entry: [begin, end) */
        if (bytes[end] == ',') end++;
        else if (bytes[begin - 1] == ',') begin--;
        memset(bytes + begin, ' ', end - begin);
        printf("%s: blanked the checksum entry, bytes %zu-%zu\n", path, begin, end - 1);
        return 0;
    }
    return fail(path, "no \"data_xxh64\" entry in the header; expected a file t2 wrote");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: faults_tool flip|flip-raw|strip FILE\n");
        return 2;
    }
    const char *command = argv[1], *path = argv[2];
    char *text = NULL;
    size_t len = 0;
    t2_error err = {{0}};
    if (t2_file_read(path, &text, &len, &err) != 0) return fail(path, err.msg);
    unsigned char *bytes = (unsigned char *)text;
    int status = 0;
    if (strcmp(command, "strip") == 0) {
        status = strip(bytes, len, path);
    } else if (strcmp(command, "flip") == 0 || strcmp(command, "flip-raw") == 0) {
        size_t start = strcmp(command, "flip") == 0 ? data_start(bytes, len) : 0;
        if (strcmp(command, "flip") == 0 && start == 0) {
            status = fail(path, "no data buffer; expected a safetensors file");
        } else if (len == 0) {
            status = fail(path, "empty");
        } else {
            size_t at = start + (len - start) / 2;
            bytes[at] ^= 1;
            printf("%s: flipped bit 0 of byte %zu of %zu\n", path, at, len);
        }
    } else {
        status = fail(command, "unknown command; expected flip, flip-raw or strip");
    }
    if (status == 0 && t2_file_write_atomic(path, bytes, len, &err) != 0)
        status = fail(path, err.msg);
    t2_free(text);
    return status;
}
