/* Decomposition store: fingerprints, the header layout, and the streaming writer (see
 * decomposition_store.h). Reading is in decomposition_store_read.c.
 * Hash: XXH64 (Yann Collet, xxHash specification v0.8, "XXH64 algorithm description"),
 * written out here so the fingerprint needs no extra library; the unit test checks it
 * against the specification's published values. */
#include "model/decomposition_store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "base/file.h"

/* ---- XXH64 ---- */

static const uint64_t P1 = 0x9E3779B185EBCA87ull, P2 = 0xC2B2AE3D27D4EB4Full,
                      P3 = 0x165667B19E3779F9ull, P4 = 0x85EBCA77C2B2AE63ull,
                      P5 = 0x27D4EB2F165667C5ull;

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t read64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian hosts only (safetensors.c checks) */
    return v;
}

static uint64_t xxh_round(uint64_t acc, uint64_t input) {
    return rotl(acc + input * P2, 31) * P1;
}

static uint64_t xxh_merge(uint64_t acc, uint64_t v) {
    return (acc ^ xxh_round(0, v)) * P1 + P4;
}

uint64_t t2_decomposition_xxh64(const void *data, size_t len, uint64_t seed) {
    const unsigned char *p = data, *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        for (; end - p >= 32; p += 32) {
            v1 = xxh_round(v1, read64(p));
            v2 = xxh_round(v2, read64(p + 8));
            v3 = xxh_round(v3, read64(p + 16));
            v4 = xxh_round(v4, read64(p + 24));
        }
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = xxh_merge(xxh_merge(xxh_merge(xxh_merge(h, v1), v2), v3), v4);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)len;
    for (; end - p >= 8; p += 8) h = rotl(h ^ xxh_round(0, read64(p)), 27) * P1 + P4;
    if (end - p >= 4) {
        uint32_t k;
        memcpy(&k, p, 4);
        h = rotl(h ^ ((uint64_t)k * P1), 23) * P2 + P3;
        p += 4;
    }
    for (; p < end; p++) h = rotl(h ^ (*p * P5), 11) * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

uint64_t t2_decomposition_tensor_hash(const t2_tensor_info *t) {
    char shape[160], desc[512];
    t2_safetensors_shape_string(shape, sizeof shape, t->n_dims, t->shape);
    snprintf(desc, sizeof desc, "%s|%s|%s", t->name, t2_dtype_name(t->dtype), shape);
    uint64_t seed = t2_decomposition_xxh64(desc, strlen(desc), 0);
    return t2_decomposition_xxh64(t->data, t->n_bytes, seed);
}

uint64_t t2_decomposition_source_fingerprint(const t2_target_list *targets,
                                             const uint64_t *hashes) {
    return t2_decomposition_xxh64(hashes, (size_t)targets->n * sizeof *hashes, 0);
}

uint64_t t2_decomposition_fingerprint(uint64_t source_fingerprint, const char *options) {
    return t2_decomposition_xxh64(options, strlen(options), source_fingerprint);
}

void t2_fingerprint_format(uint64_t fingerprint, char out[T2_FINGERPRINT_CHARS]) {
    snprintf(out, T2_FINGERPRINT_CHARS, "%016llx", (unsigned long long)fingerprint);
}

/* ---- the checksum ---- */

/* The value the layout writes for "data_xxh64", replaced by the checksum at the commit; the
 * header text around it, as jansson's compact output writes it. */
#define CHECKSUM_PLACEHOLDER "0000000000000000"
#define CHECKSUM_PATTERN "\"data_xxh64\":\"" CHECKSUM_PLACEHOLDER "\""

size_t t2_decomposition_checksum_find(const unsigned char *header, size_t header_bytes) {
    size_t n = strlen(CHECKSUM_PATTERN), value = n - (T2_FINGERPRINT_CHARS - 1) - 1;
    for (size_t at = 0; at + n <= header_bytes; at++) {
        if (memcmp(header + at, CHECKSUM_PATTERN, value) == 0 &&
            header[at + n - 1] == '"')
            return at + value;
    }
    return 0;
}

uint64_t t2_decomposition_store_checksum(const unsigned char *file, size_t header_bytes,
                                         size_t file_bytes, size_t checksum_at) {
    T2_ASSERT(checksum_at + T2_FINGERPRINT_CHARS - 1 <= header_bytes &&
              header_bytes <= file_bytes);
    unsigned char *header = t2_alloc(header_bytes);
    memcpy(header, file, header_bytes);
    memset(header + checksum_at, '0', T2_FINGERPRINT_CHARS - 1);
    uint64_t seed = t2_decomposition_xxh64(header, header_bytes, 0);
    t2_free(header);
    return t2_decomposition_xxh64(file + header_bytes, file_bytes - header_bytes, seed);
}

/* ---- layout ---- */

static json_t *tensor_entry(int64_t d0, int64_t d1, int n_dims, int64_t begin) {
    json_t *shape = n_dims == 2 ? json_pack("[II]", (json_int_t)d0, (json_int_t)d1)
                                : json_pack("[I]", (json_int_t)d0);
    int64_t bytes = 4 * (n_dims == 2 ? d0 * d1 : d0);
    return json_pack("{s:s, s:o, s:[II]}", "dtype", "F32", "shape", shape, "data_offsets",
                     (json_int_t)begin, (json_int_t)(begin + bytes));
}

static void add_key(json_t *root, const char *target, const char *suffix, json_t *entry) {
    size_t n = strlen(target) + strlen(suffix) + 1;
    char *key = t2_alloc(n);
    snprintf(key, n, "%s%s", target, suffix);
    json_object_set_new(root, key, entry);
    t2_free(key);
}

void t2_decomposition_layout_init(t2_decomposition_layout *layout, const t2_target_list *targets,
                                  uint64_t source_fingerprint, const char *options,
                                  const char *model_path) {
    memset(layout, 0, sizeof *layout);
    layout->n = targets->n;
    layout->slots =
        t2_alloc_array((size_t)(targets->n > 0 ? targets->n : 1), sizeof *layout->slots);
    json_t *root = json_object(), *meta = json_object(), *names = json_array();
    char fp[T2_FINGERPRINT_CHARS];
    json_object_set_new(meta, "format", json_string("t2-decomposition"));
    json_object_set_new(meta, "format_version", json_string("1"));
    t2_fingerprint_format(source_fingerprint, fp);
    json_object_set_new(meta, "source_fingerprint", json_string(fp));
    json_object_set_new(meta, "options", json_string(options));
    t2_fingerprint_format(t2_decomposition_fingerprint(source_fingerprint, options), fp);
    json_object_set_new(meta, "fingerprint", json_string(fp));
    json_object_set_new(meta, "model", json_string(model_path));
    json_object_set_new(meta, "data_xxh64", json_string(CHECKSUM_PLACEHOLDER));

    int64_t offset = 0; /* in the data buffer */
    for (int i = 0; i < targets->n; i++) {
        const t2_target *t = &targets->items[i];
        t2_decomposition_slot *slot = &layout->slots[i];
        slot->rows = t->rows;
        slot->cols = t->cols;
        slot->rank = t->rows < t->cols ? t->rows : t->cols;
        json_array_append_new(names, json_string(t->name));
        add_key(root, t->name, ".S", tensor_entry(slot->rank, 0, 1, offset));
        slot->s_offset = offset;
        offset += 4 * slot->rank;
        add_key(root, t->name, ".U", tensor_entry(slot->rows, slot->rank, 2, offset));
        slot->u_offset = offset;
        offset += 4 * slot->rows * slot->rank;
        add_key(root, t->name, ".V", tensor_entry(slot->cols, slot->rank, 2, offset));
        slot->v_offset = offset;
        offset += 4 * slot->cols * slot->rank;
    }
    char *names_text = json_dumps(names, JSON_COMPACT);
    T2_ASSERT(names_text != NULL);
    json_object_set_new(meta, "targets", json_string(names_text));
    free(names_text);
    json_decref(names);
    json_object_set_new(root, "__metadata__", meta);
    char *text = json_dumps(root, JSON_COMPACT);
    T2_ASSERT(text != NULL);
    json_decref(root);

    size_t json_len = strlen(text), padded = (json_len + 7) / 8 * 8;
    layout->header_bytes = 8 + padded;
    layout->header = t2_alloc(layout->header_bytes);
    uint64_t n = padded; /* little-endian host */
    memcpy(layout->header, &n, 8);
    memcpy(layout->header + 8, text, json_len);
    memset(layout->header + 8 + json_len, ' ', padded - json_len);
    free(text);
    layout->checksum_at = t2_decomposition_checksum_find(layout->header, layout->header_bytes);
    T2_ASSERT(layout->checksum_at > 0);
    for (int i = 0; i < layout->n; i++) {
        layout->slots[i].s_offset += (int64_t)layout->header_bytes;
        layout->slots[i].u_offset += (int64_t)layout->header_bytes;
        layout->slots[i].v_offset += (int64_t)layout->header_bytes;
    }
    layout->file_bytes = (int64_t)layout->header_bytes + offset;
}

void t2_decomposition_layout_free(t2_decomposition_layout *layout) {
    t2_free(layout->slots);
    t2_free(layout->header);
    memset(layout, 0, sizeof *layout);
}

/* ---- writer ---- */

char *t2_decomposition_temp_path(const char *path, long id) {
    size_t n = strlen(path) + 32;
    char *temp = t2_alloc(n);
    snprintf(temp, n, "%s.tmp.%ld", path, id);
    return temp;
}

/* pwrites len bytes at offset, through the write-failure hook (base/file.h) of path.
 * 0, or -1 with errno set. */
static int write_all(int fd, const char *path, const void *data, size_t len, off_t offset) {
    const char *p = data;
    size_t allowed = t2_file_fault_allow(path, len);
    int injected = allowed < len;
    len = allowed;
    while (len > 0) {
        ssize_t done = pwrite(fd, p, len, offset);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) return -1;
        p += done;
        len -= (size_t)done;
        offset += done;
    }
    if (injected) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}

static void set_names(t2_decomposition_writer *w, const char *path, const char *temp_path) {
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->path = t2_strdup(path);
    w->temp_path = t2_strdup(temp_path);
}

int t2_decomposition_writer_create(t2_decomposition_writer *w, const char *path,
                                   const char *temp_path, const t2_decomposition_layout *layout,
                                   t2_error *err) {
    set_names(w, path, temp_path);
    t2_file_remove_stale_temps(path);
    w->fd = open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (w->fd < 0) {
        int e = errno;
        t2_decomposition_writer_free(w);
        return t2_error_set(err, "%s: cannot write: %s; expected a writable location for the "
                            "store", path, strerror(e));
    }
    w->header_bytes = layout->header_bytes;
    w->checksum_at = layout->checksum_at;
    w->file_bytes = layout->file_bytes;
    if (write_all(w->fd, path, layout->header, layout->header_bytes, 0) != 0 ||
        ftruncate(w->fd, (off_t)layout->file_bytes) != 0) {
        int e = errno;
        t2_decomposition_writer_discard(w);
        return t2_error_set(err, "%s: cannot write: %s", path, strerror(e));
    }
    t2_background_flush_start(&w->flush, w->fd);
    return 0;
}

int t2_decomposition_writer_attach(t2_decomposition_writer *w, const char *path,
                                   const char *temp_path, t2_error *err) {
    set_names(w, path, temp_path);
    w->fd = open(temp_path, O_WRONLY | O_CLOEXEC);
    if (w->fd < 0) {
        int e = errno;
        t2_decomposition_writer_free(w);
        return t2_error_set(err, "%s: cannot open the temporary store %s: %s; expected a "
                            "folder every rank can write", path, temp_path, strerror(e));
    }
    t2_background_flush_start(&w->flush, w->fd);
    return 0;
}

int t2_decomposition_writer_put(t2_decomposition_writer *w, int64_t offset, const float *data,
                                int64_t count, t2_error *err) {
    T2_ASSERT(w->fd >= 0 && offset >= 0 && count >= 0);
    size_t bytes = (size_t)count * sizeof *data;
    if (write_all(w->fd, w->path, data, bytes, (off_t)offset) != 0)
        return t2_error_set(err, "%s: write failed: %s", w->path, strerror(errno));
    t2_background_flush_mark(&w->flush); /* to the disk while the next matrix is decomposed */
    return 0;
}

int t2_decomposition_writer_close(t2_decomposition_writer *w, t2_error *err) {
    if (w->fd < 0) return 0;
    int flush_error = t2_background_flush_stop(&w->flush);
    int ok = close(w->fd) == 0;
    int e = flush_error != 0 ? flush_error : errno;
    w->fd = -1;
    if (!ok || flush_error != 0)
        return t2_error_set(err, "%s: write failed: %s", w->path, strerror(e));
    return 0;
}

/* The committer, once every writer has closed: computes the checksum of the whole temporary
 * file (every writer's data, read back through a mapping), writes it into the header, and
 * flushes the file to the disk: one fsync rather than one per writer. */
static int seal_temp(const t2_decomposition_writer *w, t2_error *err) {
    int fd = open(w->temp_path, O_RDWR | O_CLOEXEC);
    int ok = fd >= 0;
    if (ok && w->checksum_at > 0) {
        void *map = mmap(NULL, (size_t)w->file_bytes, PROT_READ, MAP_SHARED, fd, 0);
        ok = map != MAP_FAILED;
        if (ok) {
            uint64_t sum = t2_decomposition_store_checksum(map, w->header_bytes,
                                                           (size_t)w->file_bytes, w->checksum_at);
            munmap(map, (size_t)w->file_bytes);
            char hex[T2_FINGERPRINT_CHARS];
            t2_fingerprint_format(sum, hex);
            ok = write_all(fd, w->path, hex, T2_FINGERPRINT_CHARS - 1,
                           (off_t)w->checksum_at) == 0;
        }
    }
    ok = ok && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0) ok = close(fd) == 0 && ok;
    if (!ok) return t2_error_set(err, "%s: write failed: %s", w->path, strerror(e));
    return 0;
}

/* fsyncs the folder holding path, so the rename survives a crash. */
static void sync_folder(const char *path) {
    char *dir = t2_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) snprintf(dir, strlen(dir) + 1, ".");
    else if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    t2_free(dir);
}

int t2_decomposition_writer_commit(t2_decomposition_writer *w, t2_error *err) {
    if (t2_decomposition_writer_close(w, err) != 0 || seal_temp(w, err) != 0) {
        t2_decomposition_writer_discard(w);
        return -1;
    }
    if (rename(w->temp_path, w->path) != 0) {
        int e = errno;
        t2_error_set(err, "%s: cannot replace the store: %s", w->path, strerror(e));
        t2_decomposition_writer_discard(w);
        return -1;
    }
    sync_folder(w->path);
    t2_decomposition_writer_free(w);
    return 0;
}

void t2_decomposition_writer_discard(t2_decomposition_writer *w) {
    t2_background_flush_stop(&w->flush);
    if (w->temp_path != NULL) {
        if (w->fd >= 0) close(w->fd);
        w->fd = -1;
        unlink(w->temp_path);
    }
    t2_decomposition_writer_free(w);
}

void t2_decomposition_writer_free(t2_decomposition_writer *w) {
    t2_background_flush_stop(&w->flush);
    if (w->path != NULL && w->fd >= 0) close(w->fd);
    t2_free(w->path);
    t2_free(w->temp_path);
    memset(w, 0, sizeof *w);
    w->fd = -1;
}
