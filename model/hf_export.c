/* A Hugging Face model folder from a model in memory (see hf_export.h): the files written
 * into a temporary folder beside out, which is renamed to out when everything is there. */
#include "model/hf_export.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/file.h"
#include "model/json_util.h"
#include "model/model_dir.h"
#include "model/model_tensors.h"

/* The files copied unchanged when the source folder has them. */
static const char *const copied_files[] = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
    "vocab.json",     "merges.txt",            "added_tokens.json",       "chat_template.jinja",
};

t2_dtype t2_hf_export_source_dtype(const t2_model_config *cfg, const t2_model_weights *w) {
    int type = t2_model_weights_matrix_type(w, cfg);
    return type == T2_WEIGHT_BF16 ? T2_DTYPE_BF16 : type == T2_WEIGHT_F16 ? T2_DTYPE_F16
                                                                           : T2_DTYPE_F32;
}

static const char *torch_dtype_name(t2_dtype dtype) {
    return dtype == T2_DTYPE_BF16 ? "bfloat16" : dtype == T2_DTYPE_F16 ? "float16" : "float32";
}

/* Writes text (NUL-terminated) to dir/name atomically. */
static int write_text(const char *dir, const char *name, const char *text, t2_error *err) {
    char *path = t2_model_dir_path(dir, name);
    int status = t2_file_write_atomic(path, text, strlen(text), err);
    t2_free(path);
    return status;
}

/* Writes a JSON value indented by two spaces, with a final newline, as transformers does. */
static int write_json(const char *dir, const char *name, const json_t *value, t2_error *err) {
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    size_t len = strlen(text);
    char *line = t2_alloc(len + 2);
    memcpy(line, text, len);
    memcpy(line + len, "\n", 2);
    free(text);
    int status = write_text(dir, name, line, err);
    t2_free(line);
    return status;
}

/* config.json: the source's, with its dtype key set to the one written. */
static int write_config(const char *src_dir, const char *dir, t2_dtype dtype, t2_error *err) {
    char *path = t2_model_dir_path(src_dir, "config.json"), *text = NULL;
    size_t len = 0;
    json_t *root = NULL;
    int status = t2_file_read(path, &text, &len, err);
    if (status == 0) {
        root = t2_json_util_parse_object(text, len, path, "a JSON object", err);
        status = root != NULL ? 0 : -1;
    }
    if (status == 0) {
        /* transformers 4 writes torch_dtype, 5 writes dtype: keep whichever the source has */
        int newer = json_object_get(root, "dtype") != NULL &&
                    json_object_get(root, "torch_dtype") == NULL;
        json_object_set_new(root, newer ? "dtype" : "torch_dtype",
                            json_string(torch_dtype_name(dtype)));
        status = write_json(dir, "config.json", root, err);
    }
    json_decref(root);
    t2_free(text);
    t2_free(path);
    return status;
}

/* Copies src_dir/name to dir/name when it exists. */
static int copy_file(const char *src_dir, const char *dir, const char *name, t2_error *err) {
    char *src = t2_model_dir_path(src_dir, name), *dst = t2_model_dir_path(dir, name);
    char *data = NULL;
    size_t len = 0;
    int status = 0;
    if (access(src, F_OK) == 0) {
        status = t2_file_read(src, &data, &len, err);
        if (status == 0) status = t2_file_write_atomic(dst, data, len, err);
    }
    t2_free(data);
    t2_free(dst);
    t2_free(src);
    return status;
}

/* generation_config.json: the source's, else the special ids of cfg. */
static int write_generation_config(const char *src_dir, const char *dir,
                                   const t2_model_config *cfg, t2_error *err) {
    char *src = t2_model_dir_path(src_dir, "generation_config.json");
    int exists = access(src, F_OK) == 0;
    t2_free(src);
    if (exists) return copy_file(src_dir, dir, "generation_config.json", err);
    json_t *root = json_object();
    json_object_set_new(root, "_from_model_config", json_true());
    if (cfg->bos_token_id >= 0)
        json_object_set_new(root, "bos_token_id", json_integer(cfg->bos_token_id));
    if (cfg->n_eos_token_ids == 1) {
        json_object_set_new(root, "eos_token_id", json_integer(cfg->eos_token_ids[0]));
    } else if (cfg->n_eos_token_ids > 1) {
        json_t *ids = json_array();
        for (int i = 0; i < cfg->n_eos_token_ids; i++)
            json_array_append_new(ids, json_integer(cfg->eos_token_ids[i]));
        json_object_set_new(root, "eos_token_id", ids);
    }
    int status = write_json(dir, "generation_config.json", root, err);
    json_decref(root);
    return status;
}

/* Writes tensors [first, end) of the list as one safetensors file dir/name. */
static int write_shard(const char *dir, const char *name, const t2_model_tensor *tensors,
                       int first, int end, const t2_hf_export_options *o, t2_error *err) {
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    for (int i = first; i < end; i++)
        t2_safetensors_writer_add_weight(&w, tensors[i].name, o->dtype, tensors[i].n_dims,
                                         tensors[i].shape, tensors[i].data);
    t2_safetensors_writer_add_metadata(&w, "format", "pt");
    for (int i = 0; i < o->n_metadata; i++)
        t2_safetensors_writer_add_metadata(&w, o->metadata_keys[i], o->metadata_values[i]);
    char *path = t2_model_dir_path(dir, name);
    int status = t2_safetensors_writer_write(&w, path, err);
    t2_free(path);
    t2_safetensors_writer_free(&w);
    return status;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The weights: one file, or shards and their index. */
static int write_weights(const char *dir, const t2_model_config *cfg, const t2_model_weights *w,
                         const t2_hf_export_options *o, t2_error *err) {
    t2_model_tensor *tensors = NULL;
    int n = t2_model_tensors_list(cfg, w, &tensors);
    int64_t size = (int64_t)t2_dtype_size(o->dtype), total = 0, used = 0;
    int *shard_of = t2_alloc_array((size_t)n, sizeof *shard_of), n_shards = 0;
    for (int i = 0; i < n; i++) {
        int64_t bytes = t2_model_tensor_bytes(&tensors[i], size);
        if (i == 0 || (used > 0 && used + bytes > o->shard_bytes)) {
            n_shards++;
            used = 0;
        }
        shard_of[i] = n_shards - 1;
        used += bytes;
        total += bytes;
    }
    int status = 0;
    char name[64];
    if (n_shards == 1) {
        status = write_shard(dir, "model.safetensors", tensors, 0, n, o, err);
    } else {
        json_t *map = json_object();
        const char **names = t2_alloc_array((size_t)n, sizeof *names);
        for (int first = 0, k = 0; k < n_shards && status == 0; k++) {
            int end = first;
            while (end < n && shard_of[end] == k) end++;
            snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", k + 1, n_shards);
            status = write_shard(dir, name, tensors, first, end, o, err);
            for (int i = first; i < end; i++) {
                json_object_set_new(map, tensors[i].name, json_string(name));
                names[i] = tensors[i].name;
            }
            first = end;
        }
        if (status == 0) { /* the weight map in name order, as transformers writes it */
            qsort(names, (size_t)n, sizeof *names, compare_names);
            json_t *sorted = json_object();
            for (int i = 0; i < n; i++)
                json_object_set(sorted, names[i], json_object_get(map, names[i]));
            json_t *index = json_object();
            json_object_set_new(index, "metadata",
                                json_pack("{s:I}", "total_size", (json_int_t)total));
            json_object_set_new(index, "weight_map", sorted);
            status = write_json(dir, "model.safetensors.index.json", index, err);
            json_decref(index);
        }
        t2_free(names);
        json_decref(map);
    }
    t2_free(shard_of);
    t2_free(tensors);
    return status;
}

/* Removes the files of the temporary folder dir (it holds no folders), then dir. */
static void remove_folder(const char *dir) {
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char *path = t2_model_dir_path(dir, e->d_name);
            unlink(path);
            t2_free(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* 0 when out is absent or an empty folder (which the rename may replace). */
static int check_out(const char *out, t2_error *err) {
    struct stat st;
    if (stat(out, &st) != 0) return 0;
    DIR *d = S_ISDIR(st.st_mode) ? opendir(out) : NULL;
    int empty = 0;
    if (d != NULL) {
        struct dirent *e;
        empty = 1;
        while (empty && (e = readdir(d)) != NULL)
            empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        closedir(d);
    }
    if (empty) return 0;
    return t2_error_set(err, "%s: already exists; expected a new folder name (an export never "
                        "replaces a folder or file)", out);
}

int t2_hf_export_write(const char *src_dir, const t2_model_config *cfg,
                       const t2_model_weights *w, const t2_hf_export_options *options,
                       const char *out, t2_error *err) {
    if (check_out(out, err) != 0) return -1;
    size_t len = strlen(out), size = len + 32;
    while (len > 1 && out[len - 1] == '/') len--; /* "dir/" names dir, not a file inside */
    char *temp = t2_alloc(size);
    snprintf(temp, size, "%.*s.tmp.%ld", (int)len, out, (long)getpid());
    remove_folder(temp); /* a folder of this pid's name is a dead writer's */
    if (mkdir(temp, 0777) != 0) {
        int e = errno;
        t2_free(temp);
        return t2_error_set(err, "%s: cannot write: %s", out, strerror(e));
    }
    int status = write_config(src_dir, temp, options->dtype, err);
    if (status == 0) status = write_generation_config(src_dir, temp, cfg, err);
    size_t n_copied = sizeof copied_files / sizeof copied_files[0];
    for (size_t i = 0; i < n_copied && status == 0; i++)
        status = copy_file(src_dir, temp, copied_files[i], err);
    if (status == 0) status = write_weights(temp, cfg, w, options, err);
    if (status == 0 && rename(temp, out) != 0)
        status = t2_error_set(err, "%s: cannot write: %s", out, strerror(errno));
    if (status != 0) remove_folder(temp);
    t2_free(temp);
    return status;
}
