/* `t2 export --format hf` and `--format gguf`: loads the model folder, merges the expert
 * (an expert file, or a bundle's member by name) into its weights exactly as a run applies
 * it (rl/expert_apply.h: W' = U diag(c s ⊙ m) Vᵀ for SVF, W + alpha/k B A for LoRA), and
 * writes the result as a Hugging Face folder (model/hf_export.h) or a GGUF file
 * (model/gguf_export.h). Option parsing, loading and messages only. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "cmd/export_model.h"
#include "linalg/blis_setup.h"
#include "model/gguf_export.h"
#include "model/hf_export.h"
#include "model/model_dir.h"
#include "rl/bundle.h"
#include "rl/expert_apply.h"

static const char *const cmd = "export";

enum { DEFAULT_SHARD_MB = 4096, BYTES_PER_MB = 1000000 };

const char t2_export_model_usage[] =
    "       t2 export --format hf --model DIR --out DIR [--expert FILE | --bundle FILE --name\n"
    "                 NAME] [--store S] [--dtype F32|BF16|F16] [--shard-size MB]\n"
    "       t2 export --format gguf --model DIR --out FILE.gguf [--expert FILE | --bundle\n"
    "                 FILE --name NAME] [--store S] [--dtype F32|BF16|F16]\n";

const char t2_export_model_help[] =
    "hf and gguf write the model of --model with the expert merged into its weights, as a\n"
    "run applies it (SVF: W' = U diag(s * m) V^T with the expert's renormalisation; LoRA:\n"
    "W + alpha/k B A); without an expert, the base model:\n"
    "  hf    a Hugging Face folder: config.json, generation_config.json, the tokenizer\n"
    "        files, model.safetensors (or shards and model.safetensors.index.json past\n"
    "        --shard-size); written under a temporary name and renamed: never half-written\n"
    "  gguf  one GGUF file for llama.cpp (llama, mistral and qwen2 models)\n"
    "  --model DIR       the base model folder\n"
    "  --expert FILE     the expert to merge (t2 train, t2 adapt --save_expert)\n"
    "  --bundle FILE     an expert bundle (t2 bundle create) ...\n"
    "  --name NAME       ... and the name of its expert to merge\n"
    "  --store S         the model's decomposition store (t2 decompose; SVF experts)\n"
    "  --dtype D         F32, BF16 or F16 (default: the model's own); gguf writes norm\n"
    "                    weights and biases F32 whatever the dtype\n"
    "  --shard-size MB   hf: the most megabytes (10^6 bytes) of one safetensors file\n"
    "                    (default 4096)\n"
    "Details: docs/export.md.\n";

typedef struct options {
    const char *format, *model, *out, *expert, *bundle, *name, *store;
    int has_dtype;
    t2_dtype dtype;
    int64_t shard_mb;
} options;

/* 0 to run, else the exit status (a usage error) in *status. */
static int parse(int argc, char **argv, options *o, int *status) {
    enum { FORMAT = 256, MODEL, OUT, EXPERT, BUNDLE, NAME, STORE, DTYPE, SHARD };
    static const struct option longs[] = {
        {"format", required_argument, NULL, FORMAT}, {"model", required_argument, NULL, MODEL},
        {"out", required_argument, NULL, OUT},       {"expert", required_argument, NULL, EXPERT},
        {"bundle", required_argument, NULL, BUNDLE}, {"name", required_argument, NULL, NAME},
        {"store", required_argument, NULL, STORE},   {"dtype", required_argument, NULL, DTYPE},
        {"shard-size", required_argument, NULL, SHARD}, {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->shard_mb = -1;
    optind = 1;
    opterr = 0;
    t2_error err = {{0}};
    int c;
    while ((c = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
        switch (c) {
        case FORMAT: o->format = optarg; break;
        case MODEL: o->model = optarg; break;
        case OUT: o->out = optarg; break;
        case EXPERT: o->expert = optarg; break;
        case BUNDLE: o->bundle = optarg; break;
        case NAME: o->name = optarg; break;
        case STORE: o->store = optarg; break;
        case DTYPE:
            if (t2_dtype_from_name(optarg, &o->dtype) != 0 ||
                (o->dtype != T2_DTYPE_F32 && o->dtype != T2_DTYPE_BF16 &&
                 o->dtype != T2_DTYPE_F16))
                return *status = t2_cli_usage(cmd, "--dtype: '%s' is not a dtype t2 writes; "
                                              "expected F32, BF16 or F16", optarg), -1;
            o->has_dtype = 1;
            break;
        case SHARD:
            if (t2_cli_parse_int("shard-size", optarg, 1, INT64_MAX / BYTES_PER_MB,
                                 &o->shard_mb, &err) != 0)
                return *status = t2_cli_usage(cmd, "%s", err.msg), -1;
            break;
        case ':':
            return *status = t2_cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]), -1;
        default:
            return *status = t2_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]), -1;
        }
    }
    const char *problem = NULL;
    if (optind < argc)
        return *status = t2_cli_usage(cmd, "unexpected argument '%s'; --format %s takes the "
                                      "model from --model", argv[optind], o->format), -1;
    if (o->model == NULL) problem = "--model DIR is required";
    else if (o->out == NULL) problem = "--out is required";
    else if (o->expert != NULL && o->bundle != NULL)
        problem = "--expert and --bundle both given; expected one expert to merge";
    else if (o->bundle != NULL && o->name == NULL)
        problem = "--bundle needs --name NAME, the expert of the bundle to merge";
    else if (o->name != NULL && o->bundle == NULL)
        problem = "--name is set without --bundle; expected --bundle FILE --name NAME";
    else if (o->shard_mb >= 0 && strcmp(o->format, "hf") != 0)
        problem = "--shard-size applies to --format hf only";
    if (problem != NULL) return *status = t2_cli_usage(cmd, "%s", problem), -1;
    if (o->shard_mb < 0) o->shard_mb = DEFAULT_SHARD_MB;
    return 0;
}

/* Merges the expert the options name into m. Its name goes to *expert_name (heap, t2_free;
 * NULL without an expert). 0, or -1 with err. */
static int merge_expert(const options *o, t2_model_dir *m, char **expert_name, t2_error *err) {
    *expert_name = NULL;
    if (o->expert == NULL && o->bundle == NULL) return 0;
    t2_expert e;
    memset(&e, 0, sizeof e);
    t2_bundle b;
    memset(&b, 0, sizeof b);
    const t2_expert *chosen = &e;
    const char *source = o->expert != NULL ? o->expert : o->bundle;
    int status = 0;
    if (o->expert != NULL) {
        status = t2_expert_read(&e, o->expert, err);
    } else {
        status = t2_bundle_read(&b, o->bundle, err);
        int i = status == 0 ? t2_bundle_find(&b, o->name) : 0;
        if (status == 0 && i < 0) {
            char names[512] = "";
            for (int k = 0; k < b.n && strlen(names) < sizeof names - 64; k++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         k ? ", " : "", b.categories[k]);
            status = t2_error_set(err, "%s: no expert '%s'; expected one of %s", o->bundle,
                                  o->name, names);
        }
        if (status == 0) chosen = &b.experts[i];
    }
    if (status == 0) status = t2_expert_apply(chosen, source, m, o->model, o->store, err);
    if (status == 0) *expert_name = t2_strdup(chosen->name);
    t2_bundle_free(&b);
    t2_expert_free(&e);
    return status;
}

/* The last component of a path ("dir/" counts as "dir"), into buf. */
static const char *base_name(const char *path, char *buf, size_t size) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/') start--;
    snprintf(buf, size, "%.*s", (int)(len - start), path + start);
    return buf;
}

static int write_export(const options *o, const t2_model_dir *m, t2_dtype dtype,
                        const char *expert, t2_error *err) {
    if (strcmp(o->format, "hf") == 0) {
        const char *keys[1] = {"t2_expert"}, *values[1] = {expert};
        t2_hf_export_options ho = {dtype, o->shard_mb * BYTES_PER_MB, expert != NULL, keys,
                                   values};
        return t2_hf_export_write(o->model, &m->cfg, &m->weights, &ho, o->out, err);
    }
    char base[256], name[512];
    base_name(o->model, base, sizeof base);
    if (expert != NULL)
        snprintf(name, sizeof name, "%s-%s", base, expert);
    else
        snprintf(name, sizeof name, "%s", base);
    t2_gguf_export_options go = {dtype, name, expert};
    return t2_gguf_export_write(o->model, m, &go, o->out, err);
}

int t2_export_model_run(int argc, char **argv) {
    options o;
    int status = 0;
    if (parse(argc, argv, &o, &status) != 0) return status;
    t2_blis_setup(0, 1); /* the kernels and threads a run composes the expert with */
    t2_error err = {{0}};
    t2_model_dir m;
    char *expert = NULL;
    if (t2_model_dir_load(&m, o.model, &err) != 0) {
        t2_model_dir_free(&m);
        return t2_cli_fail_error(cmd, &err);
    }
    /* the dtype of the files, read before the expert turns its targets to float32 */
    t2_dtype dtype = o.has_dtype ? o.dtype : t2_hf_export_source_dtype(&m.cfg, &m.weights);
    status = merge_expert(&o, &m, &expert, &err);
    if (status == 0) status = write_export(&o, &m, dtype, expert, &err);
    if (status == 0) {
        if (expert != NULL)
            fprintf(stderr, "t2 export: wrote %s (%s, %s, expert '%s' merged)\n", o.out,
                    o.format, t2_dtype_name(dtype), expert);
        else
            fprintf(stderr, "t2 export: wrote %s (%s, %s, the base model)\n", o.out, o.format,
                    t2_dtype_name(dtype));
    }
    t2_free(expert);
    t2_model_dir_free(&m);
    return status == 0 ? T2_EXIT_OK : t2_cli_fail_error(cmd, &err);
}
