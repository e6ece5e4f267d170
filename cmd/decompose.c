/* `t2 decompose`: the SVD of every target matrix of a model across all ranks into one
 * decomposition store (dist/decompose.h does the work; docs/decompose.md is the manual).
 * Here: flags and the libconfig file (every flag has a key and the reverse; flags win),
 * validation, and what rank 0 prints: progress comes from dist/, the --verify table goes to
 * stdout, the summary and errors to stderr. Every rank returns the same exit status. */
#include <getopt.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "dist/decompose.h"
#include "dist/runtime.h"

static const char *const cmd = "decompose";

/* The settings, by flag name and config key. */
typedef enum key {
    KEY_MODEL, KEY_OUT, KEY_TARGETS, KEY_MATCH, KEY_REGEX, KEY_PRECISION, KEY_METHOD,
    KEY_BLOCK_SIZE, KEY_MEMORY, KEY_VERIFY, KEY_FORCE, N_KEYS
} key;

typedef enum kind { KIND_STRING, KIND_INT, KIND_BOOL } kind;

static const struct {
    const char *flag, *config;
    kind kind;
} keys[N_KEYS] = {
    {"model", "model", KIND_STRING},         {"out", "out", KIND_STRING},
    {"targets", "targets", KIND_STRING},     {"match", "match", KIND_STRING},
    {"regex", "regex", KIND_STRING},         {"precision", "precision", KIND_STRING},
    {"method", "method", KIND_STRING},       {"block-size", "block_size", KIND_INT},
    {"memory-per-rank", "memory_per_rank", KIND_INT}, {"verify", "verify", KIND_BOOL},
    {"force", "force", KIND_BOOL},
};

typedef struct settings {
    const char *value[N_KEYS];  /* text of each setting, or NULL when unset */
    int from_config[N_KEYS];
    char numbers[N_KEYS][32];   /* storage for config integers and booleans as text */
    const char *config_path;
    config_t config;
    int config_loaded;
} settings;

static void print_usage(FILE *out) {
    fprintf(out,
            "usage: [mpirun -n N] t2 decompose --model DIR --out STORE [options]\n\n"
            "Decomposes every target matrix W (out x in) of a model as W = U diag(S) V^T across\n"
            "all ranks and writes one store (safetensors: <tensor>.U, .S, .V in float). A store\n"
            "already at STORE with the same fingerprint (weights, targets, options) is re-used;\n"
            "one with another fingerprint is refused unless --force.\n\n"
            "  --model DIR            Hugging Face model folder (or one .safetensors file)\n"
            "  --out STORE            the store file to write\n"
            "  --targets SET          all (default: every attention and MLP weight of the\n"
            "                         blocks), mlp or attn\n"
            "  --match GLOB           instead of a set: 2-D tensors whose names match a shell\n"
            "                         pattern (fnmatch; '*' also matches '.')\n"
            "  --regex RE             instead of a set: 2-D tensors whose names contain a match\n"
            "                         of a POSIX extended regular expression\n"
            "  --precision P          double (default) or float for the computation; the store\n"
            "                         holds float either way\n"
            "  --method M             fast (default: t2's distributed route) or scalapack\n"
            "                         (ScaLAPACK's p?gesvd, the slow reference) for rank groups\n"
            "  --block-size N         ScaLAPACK block size (default 64)\n"
            "  --memory-per-rank MB   memory one rank may use for one matrix before it is\n"
            "                         distributed (default: half the node's memory per rank)\n"
            "  --verify               print ||W - U diag(S) V^T||_F / ||W||_F, max|U^T U - I|,\n"
            "                         max|V^T V - I| and whether S descends, per matrix\n"
            "  --force                replace a store that does not match\n"
            "  --config FILE          libconfig file with these settings as keys (model, out,\n"
            "                         targets, match, regex, precision, method, block_size,\n"
            "                         memory_per_rank, verify, force); flags override it\n"
            "  --help                 this text\n");
}

/* Parses argv into s. 0, or T2_EXIT_USAGE with msg filled. */
static int parse_flags(settings *s, int argc, char **argv, int *help, t2_error *msg) {
    /* getopt values: KEY + OPT_BASE (never 0, which getopt reserves for "unknown"). */
    enum { OPT_BASE = 256, OPT_CONFIG = OPT_BASE + N_KEYS, OPT_HELP };
    static const struct option options[] = {
        {"model", required_argument, NULL, OPT_BASE + KEY_MODEL},
        {"out", required_argument, NULL, OPT_BASE + KEY_OUT},
        {"targets", required_argument, NULL, OPT_BASE + KEY_TARGETS},
        {"match", required_argument, NULL, OPT_BASE + KEY_MATCH},
        {"regex", required_argument, NULL, OPT_BASE + KEY_REGEX},
        {"precision", required_argument, NULL, OPT_BASE + KEY_PRECISION},
        {"method", required_argument, NULL, OPT_BASE + KEY_METHOD},
        {"block-size", required_argument, NULL, OPT_BASE + KEY_BLOCK_SIZE},
        {"memory-per-rank", required_argument, NULL, OPT_BASE + KEY_MEMORY},
        {"verify", no_argument, NULL, OPT_BASE + KEY_VERIFY},
        {"force", no_argument, NULL, OPT_BASE + KEY_FORCE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == OPT_HELP) *help = 1;
        else if (opt == OPT_CONFIG) s->config_path = optarg;
        else if (opt >= OPT_BASE && opt < OPT_BASE + N_KEYS)
            s->value[opt - OPT_BASE] = keys[opt - OPT_BASE].kind == KIND_BOOL ? "true" : optarg;
        else {
            /* '?': optopt names a known option missing its value, 0 an unknown option */
            t2_error_set(msg, optopt != 0 ? "option '%s' needs a value" : "unknown option '%s'",
                         argv[optind - 1]);
            return T2_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        t2_error_set(msg, "unexpected argument '%s'", argv[optind]);
        return T2_EXIT_USAGE;
    }
    return 0;
}

/* Takes every key of the config file that no flag set. 0 or -1 with err. */
static int load_config(settings *s, const t2_runtime *rt, t2_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (t2_runtime_broadcast_file(rt, s->config_path, &text, &len, err) != 0) return -1;
    config_init(&s->config);
    s->config_loaded = 1;
    int ok = config_read_string(&s->config, text) == CONFIG_TRUE;
    t2_free(text);
    if (!ok)
        return t2_error_set(err, "%s:%d: %s; expected a libconfig file", s->config_path,
                            config_error_line(&s->config), config_error_text(&s->config));
    config_setting_t *root = config_root_setting(&s->config);
    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *item = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(item);
        int k = 0;
        while (k < N_KEYS && strcmp(keys[k].config, name) != 0) k++;
        if (k == N_KEYS)
            return t2_error_set(err, "%s: unknown key '%s'; expected model, out, targets, match, "
                                "regex, precision, method, block_size, memory_per_rank, verify "
                                "or force", s->config_path, name);
        int type = config_setting_type(item);
        static const char *const wanted[] = {"a string", "an integer", "a boolean"};
        int fits =
            (keys[k].kind == KIND_STRING && type == CONFIG_TYPE_STRING) ||
            (keys[k].kind == KIND_INT && (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)) ||
            (keys[k].kind == KIND_BOOL && type == CONFIG_TYPE_BOOL);
        if (!fits)
            return t2_error_set(err, "%s: key '%s' has the wrong type; expected %s",
                                s->config_path, name, wanted[keys[k].kind]);
        if (s->value[k] != NULL) continue; /* the flag wins */
        s->from_config[k] = 1;
        if (keys[k].kind == KIND_STRING) {
            s->value[k] = config_setting_get_string(item);
        } else if (keys[k].kind == KIND_INT) {
            snprintf(s->numbers[k], sizeof s->numbers[k], "%lld",
                     (long long)config_setting_get_int64(item));
            s->value[k] = s->numbers[k];
        } else if (config_setting_get_bool(item)) {
            s->value[k] = "true";
        }
    }
    return 0;
}

/* Where a setting came from, for messages: "--flag" or "<config>: key". */
static const char *origin(const settings *s, key k, char *buf, size_t size) {
    if (s->from_config[k]) snprintf(buf, size, "%s: key %s", s->config_path, keys[k].config);
    else snprintf(buf, size, "--%s", keys[k].flag);
    return buf;
}

/* The integer setting k, if set, into *out (range [min, max]). 0 or -1 with err. */
static int parse_int(const settings *s, key k, int64_t min, int64_t max, int64_t *out,
                     t2_error *err) {
    if (s->value[k] == NULL) return 0;
    char where[512];
    if (t2_cli_parse_int(keys[k].flag, s->value[k], min, max, out, err) == 0) return 0;
    return t2_error_set(err, "%s: '%s' is not valid; expected an integer in [%lld, %lld]",
                        origin(s, k, where, sizeof where), s->value[k], (long long)min,
                        (long long)max);
}

/* Turns the settings into options. 0 or -1 with err. */
static int make_options(const settings *s, t2_decompose_options *o, t2_error *err) {
    char where[512];
    memset(o, 0, sizeof *o);
    o->model = s->value[KEY_MODEL];
    o->out = s->value[KEY_OUT];
    o->targets.glob = s->value[KEY_MATCH];
    o->targets.regex = s->value[KEY_REGEX];
    o->verify = s->value[KEY_VERIFY] != NULL;
    o->force = s->value[KEY_FORCE] != NULL;
    o->block_size = 64;
    if (o->model == NULL || o->out == NULL)
        return t2_error_set(err, "%s is required",
                            o->model == NULL ? "--model DIR" : "--out STORE");
    if (o->targets.glob != NULL && o->targets.regex != NULL)
        return t2_error_set(err, "--match and --regex both given; expected one of them");
    const char *set = s->value[KEY_TARGETS];
    if (set != NULL && (o->targets.glob != NULL || o->targets.regex != NULL))
        return t2_error_set(err, "--targets and --%s both given; expected a set or a pattern",
                            o->targets.glob ? "match" : "regex");
    if (set != NULL && t2_target_set_from_name(set, &o->targets.set) != 0)
        return t2_error_set(err, "%s: '%s' is not valid; expected all, mlp or attn",
                            origin(s, KEY_TARGETS, where, sizeof where), set);
    const char *precision = s->value[KEY_PRECISION];
    if (precision == NULL || strcmp(precision, "double") == 0) o->precision = T2_PRECISION_DOUBLE;
    else if (strcmp(precision, "float") == 0) o->precision = T2_PRECISION_FLOAT;
    else return t2_error_set(err, "%s: '%s' is not valid; expected double or float",
                             origin(s, KEY_PRECISION, where, sizeof where), precision);
    const char *method = s->value[KEY_METHOD];
    if (method == NULL || strcmp(method, "fast") == 0) o->method = T2_SVD_METHOD_FAST;
    else if (strcmp(method, "scalapack") == 0) o->method = T2_SVD_METHOD_PGESVD;
    else return t2_error_set(err, "%s: '%s' is not valid; expected fast or scalapack",
                             origin(s, KEY_METHOD, where, sizeof where), method);
    int64_t mb = 0;
    if (parse_int(s, KEY_BLOCK_SIZE, 1, 4096, &o->block_size, err) != 0 ||
        parse_int(s, KEY_MEMORY, 1, (int64_t)1 << 30, &mb, err) != 0)
        return -1;
    o->memory_per_rank = mb << 20;
    return 0;
}

static void print_verify(const t2_decompose_result *res, t2_precision p) {
    int width = 6;
    for (int i = 0; i < res->matrices; i++) {
        int len = (int)strlen(res->names[i]);
        width = len > width ? len : width;
    }
    printf("%-*s  %11s  %9s  %9s  %9s  %s\n", width, "matrix", "shape", "residual",
           "|UtU-I|", "|VtV-I|", "descending");
    double worst[3] = {0, 0, 0};
    int all_descending = 1;
    for (int i = 0; i < res->matrices; i++) {
        const t2_decompose_report *rep = &res->reports[i];
        char shape[32];
        snprintf(shape, sizeof shape, "%lldx%lld", (long long)res->rows[i],
                 (long long)res->cols[i]);
        printf("%-*s  %11s  %9.2e  %9.2e  %9.2e  %s\n", width, res->names[i], shape,
               rep->check.residual, rep->check.u_orth, rep->check.v_orth,
               rep->check.descending ? "yes" : "NO");
        double v[3] = {rep->check.residual, rep->check.u_orth, rep->check.v_orth};
        for (int k = 0; k < 3; k++) worst[k] = v[k] > worst[k] ? v[k] : worst[k];
        all_descending &= rep->check.descending;
    }
    printf("worst (%s): residual %.2e, |UtU-I| %.2e, |VtV-I| %.2e; S descending in %s\n",
           t2_precision_name(p), worst[0], worst[1], worst[2],
           all_descending ? "every matrix" : "NOT every matrix");
}

static int run(const t2_runtime *rt, settings *s, t2_error *err) {
    t2_decompose_options opts;
    if (s->config_path != NULL && load_config(s, rt, err) != 0) return T2_EXIT_FAILURE;
    if (make_options(s, &opts, err) != 0)
        return s->config_path != NULL ? T2_EXIT_FAILURE : T2_EXIT_USAGE;
    t2_decompose_result res;
    int status = t2_decompose_run(rt, &opts, &res, err);
    if (status == 0 && rt->rank == 0) {
        if (res.reused) {
            fprintf(stderr, "t2 decompose: %s already holds this decomposition (%d matrices, "
                    "fingerprint %s); re-used it\n", opts.out, res.matrices, res.fingerprint);
        } else {
            if (opts.verify) print_verify(&res, opts.precision);
            fprintf(stderr, "t2 decompose: %d matri%s (%d on rank groups) in %.3f s, %.1f "
                    "GFLOP/s (nominal SVD work %.1f GFLOP); wrote %s (%.1f MB, fingerprint %s)\n",
                    res.matrices, res.matrices == 1 ? "x" : "ces", res.grouped, res.seconds,
                    res.seconds > 0 ? res.flops / res.seconds / 1e9 : 0.0, res.flops / 1e9,
                    opts.out, (double)res.store_bytes / 1e6, res.fingerprint);
        }
    }
    t2_decompose_result_free(&res);
    return status == 0 ? T2_EXIT_OK : T2_EXIT_FAILURE;
}

int t2_cmd_decompose(int argc, char **argv) {
    settings s;
    memset(&s, 0, sizeof s);
    int help = 0;
    t2_error err = {{0}};
    int parsed = parse_flags(&s, argc, argv, &help, &err);
    t2_runtime rt;
    t2_runtime_init(&rt, &argc, &argv);
    int exit_code;
    if (parsed != 0) {
        exit_code = rt.rank == 0 ? t2_cli_usage(cmd, "%s", err.msg) : parsed;
    } else if (help) {
        if (rt.rank == 0) print_usage(stdout);
        exit_code = T2_EXIT_OK;
    } else {
        exit_code = run(&rt, &s, &err);
        if (exit_code == T2_EXIT_USAGE && rt.rank == 0) t2_cli_usage(cmd, "%s", err.msg);
        else if (exit_code != T2_EXIT_OK && rt.rank == 0) t2_cli_fail_error(cmd, &err);
    }
    if (s.config_loaded) config_destroy(&s.config);
    t2_runtime_finalize(&rt);
    return exit_code;
}
