/* `t2 export`: writes an expert file's parameters (rl/expert.h) in a format other tools read,
 * or (--format hf / gguf, cmd/export_model.c) a whole model with an expert merged.
 * The parameters alone are safetensors keyed by the target tensor names:
 *   svf   "<tensor>"                          F32 [r]     the trained vector
 *   lora  "<tensor minus .weight>.lora_A.weight"  F32 [k, in]
 *         "<tensor minus .weight>.lora_B.weight"  F32 [out, k]   (PEFT's key names)
 * with metadata name, task, method, options and model_fingerprint; the write is atomic
 * (model/safetensors.h). Here no weights are composed: that is --format hf / gguf. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/export_model.h"
#include "cmd/export_peft.h"
#include "model/safetensors.h"
#include "model/adapter.h"
#include "rl/expert.h"

static const char *const cmd = "export";

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: t2 export [--format safetensors] --out FILE EXPERT\n"
            "%s%s\n"
            "Writes the parameters of an expert file as a safetensors file keyed by the target\n"
            "tensor names, with the expert's name, task, method, options and model_fingerprint\n"
            "as metadata:\n"
            "  svf   <tensor>                       F32 [r]       the trained vector (p for the\n"
            "                                                     sigmoid parametrization, z for\n"
            "                                                     linear), r = min(out, in)\n"
            "  lora  <tensor minus .weight>.lora_A.weight  F32 [k, in]   (PEFT's names)\n"
            "        <tensor minus .weight>.lora_B.weight  F32 [out, k]\n"
            "The file is written atomically: on failure nothing is left at FILE.\n\n"
            "  --format FORMAT   safetensors (the default), hf, gguf, peft or expert\n"
            "  --out FILE        the file to write (replaced if it exists)\n"
            "  -h, --help        this text\n\n"
            "%s\n%s",
            t2_export_model_usage, t2_export_peft_usage, t2_export_model_help,
            t2_export_peft_help);
}

/* "<tensor minus .weight><suffix>" as a heap string (t2_free). */
static char *lora_key(const char *tensor, const char *suffix) {
    size_t n = strlen(tensor), weight = strlen(".weight");
    if (n >= weight && strcmp(tensor + n - weight, ".weight") == 0) n -= weight;
    size_t size = n + strlen(suffix) + 1;
    char *key = t2_alloc(size);
    snprintf(key, size, "%.*s%s", (int)n, tensor, suffix);
    return key;
}

static int export_safetensors(const t2_expert *e, const char *out, t2_error *err) {
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    char **keys = t2_alloc_array((size_t)(2 * e->n), sizeof *keys); /* alive until the write */
    for (int i = 0; i < e->n; i++) {
        const float *values = e->params + e->offsets[i];
        if (e->options.method == T2_ADAPTER_SVF) {
            int64_t shape[1] = {e->lengths[i]};
            t2_safetensors_writer_add(&w, e->tensors[i], T2_DTYPE_F32, 1, shape, values);
            continue;
        }
        int64_t k = e->options.lora_rank;
        int64_t a_shape[2] = {k, e->cols[i]}, b_shape[2] = {e->rows[i], k};
        keys[2 * i] = lora_key(e->tensors[i], ".lora_A.weight");
        keys[2 * i + 1] = lora_key(e->tensors[i], ".lora_B.weight");
        t2_safetensors_writer_add(&w, keys[2 * i], T2_DTYPE_F32, 2, a_shape, values);
        t2_safetensors_writer_add(&w, keys[2 * i + 1], T2_DTYPE_F32, 2, b_shape,
                                  values + k * e->cols[i]);
    }
    char options[256];
    t2_safetensors_writer_add_metadata(&w, "name", e->name);
    t2_safetensors_writer_add_metadata(&w, "task", e->task);
    t2_safetensors_writer_add_metadata(&w, "method", t2_adapter_method_name(e->options.method));
    t2_safetensors_writer_add_metadata(
        &w, "options", t2_expert_options_string(&e->options, options, sizeof options));
    t2_safetensors_writer_add_metadata(&w, "model_fingerprint", e->model_fingerprint);
    int status = t2_safetensors_writer_write(&w, out, err);
    t2_safetensors_writer_free(&w);
    for (int i = 0; i < 2 * e->n; i++) t2_free(keys[i]);
    t2_free(keys);
    return status;
}

/* The value of --format in argv (either spelling), or NULL; NULL too when help is asked for
 * (the help of every format is here). */
static const char *find_format(int argc, char **argv) {
    const char *format = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return NULL;
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) format = argv[++i];
        else if (strncmp(argv[i], "--format=", 9) == 0) format = argv[i] + 9;
    }
    return format;
}

int t2_cmd_export(int argc, char **argv) {
    const char *model_format = find_format(argc, argv);
    if (model_format != NULL &&
        (strcmp(model_format, "hf") == 0 || strcmp(model_format, "gguf") == 0))
        return t2_export_model_run(argc, argv);
    enum { OPT_FORMAT = 256, OPT_OUT, OPT_BASE_MODEL };
    static const struct option options[] = {{"format", required_argument, NULL, OPT_FORMAT},
                                            {"out", required_argument, NULL, OPT_OUT},
                                            {"base-model", required_argument, NULL, OPT_BASE_MODEL},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *format = "safetensors", *out = NULL, *base_model = NULL; /* peft, expert */
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_FORMAT: format = optarg; break;
        case OPT_OUT: out = optarg; break;
        case OPT_BASE_MODEL: base_model = optarg; break;
        case 'h': print_usage(stdout); return T2_EXIT_OK;
        case ':': return t2_cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return t2_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind == 0) return t2_cli_usage(cmd, "expected the EXPERT file to export");
    if (argc - optind > 1)
        return t2_cli_usage(cmd, "unexpected argument '%s'; expected one EXPERT file",
                            argv[optind + 1]);
    if (out == NULL) return t2_cli_usage(cmd, "--out FILE is required");
    if (strcmp(format, "peft") == 0) /* cmd/export_peft.c */
        return t2_export_peft(cmd, argv[optind], out, base_model);
    if (strcmp(format, "expert") == 0)
        return t2_export_peft_to_expert(cmd, argv[optind], out, base_model);
    if (strcmp(format, "safetensors") != 0)
        return t2_cli_fail(cmd, "--format: '%s' is not a known format; expected safetensors, "
                           "hf, gguf, peft or expert", format);
    const char *path = argv[optind];
    t2_expert e;
    t2_error err = {{0}};
    if (t2_expert_read(&e, path, &err) != 0) return t2_cli_fail_error(cmd, &err);
    int status = export_safetensors(&e, out, &err);
    if (status == 0)
        fprintf(stderr, "t2 export: wrote %s (%d targets, %lld parameters of expert '%s')\n", out,
                e.n, (long long)e.n_params, e.name);
    t2_expert_free(&e);
    return status == 0 ? T2_EXIT_OK : t2_cli_fail_error(cmd, &err);
}
