/* PEFT LoRA adapter folders (model/peft.h): adapter_config.json through jansson, the LoRA
 * matrices through model/safetensors.h. Does not: know experts (rl/expert.h; cmd/export_peft.c
 * converts), apply an adapter, or evaluate a target_modules regular expression.
 * Reference: huggingface/peft's LoraConfig fields and saved key names. */
#include "model/peft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/file.h"
#include "model/json_util.h"
#include "model/model_dir.h"

static const char config_name[] = "adapter_config.json";
static const char weights_name[] = "adapter_model.safetensors";
static const char key_prefix[] = "base_model.model.";
static const char suffix_a[] = ".lora_A.weight", suffix_b[] = ".lora_B.weight";

/* The linear weights of a transformer block t2 adapts: PEFT's short module name and its
 * group in "model.layers.<L>.<group>.<short>". */
enum { PEFT_KINDS = 7 };
static const char *const kind_groups[PEFT_KINDS] = {"self_attn", "self_attn", "self_attn",
                                                    "self_attn", "mlp",       "mlp", "mlp"};
static const char *const kind_names[PEFT_KINDS] = {"q_proj",    "k_proj",  "v_proj", "o_proj",
                                                   "gate_proj", "up_proj", "down_proj"};

/* "model.layers.<L>.<group>.<short>" followed by tail (e.g. ".weight" or "") -> layer and
 * kind: 0, or -1 for any other name. */
static int parse_module(const char *name, const char *tail, int64_t *layer, int *kind) {
    static const char prefix[] = "model.layers.";
    if (strncmp(name, prefix, sizeof prefix - 1) != 0) return -1;
    const char *p = name + sizeof prefix - 1;
    int64_t l = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 9) return -1;
        l = l * 10 + (*p - '0');
    }
    if (digits == 0 || (digits > 1 && p[-digits] == '0') || *p != '.') return -1;
    p++;
    for (int k = 0; k < PEFT_KINDS; k++) {
        size_t g = strlen(kind_groups[k]), s = strlen(kind_names[k]);
        if (strncmp(p, kind_groups[k], g) == 0 && p[g] == '.' &&
            strncmp(p + g + 1, kind_names[k], s) == 0 && strcmp(p + g + 1 + s, tail) == 0) {
            *layer = l;
            *kind = k;
            return 0;
        }
    }
    return -1;
}

int t2_peft_is_folder(const char *dir) {
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) return 0;
    char *path = t2_model_dir_path(dir, config_name);
    int found = stat(path, &sb) == 0;
    t2_free(path);
    return found;
}

void t2_peft_free(t2_peft *p) {
    t2_free(p->base_model);
    t2_free(p->task_type);
    for (int i = 0; p->target_modules != NULL && i < p->n_modules; i++)
        t2_free(p->target_modules[i]);
    t2_free(p->target_modules);
    t2_free(p->target_regex);
    t2_free(p->layers_to_transform);
    for (int i = 0; p->tensors != NULL && i < p->n; i++) t2_free(p->tensors[i]);
    t2_free(p->tensors);
    t2_free(p->rows);
    t2_free(p->cols);
    t2_free(p->params);
    t2_free(p->name);
    t2_free(p->task);
    t2_free(p->model_fingerprint);
    memset(p, 0, sizeof *p);
}

/* ---- reading ---- */

/* A settings key t2 cannot honour: absent, null, false or its neutral value are fine. */
static int check_unsupported(const json_t *cfg, const char *path, t2_error *err) {
    static const char *const flags[] = {"use_rslora", "use_dora", "fan_in_fan_out"};
    static const char *const why[] = {"scale alpha / sqrt(r) is not t2's alpha / r",
                                      "DoRA's magnitude vector is not t2's LoRA",
                                      "t2's matrices are stored out x in"};
    for (int i = 0; i < 3; i++) {
        int on = 0;
        if (t2_json_util_get_bool(cfg, flags[i], &on, path, "", err) < 0) return -1;
        if (on)
            return t2_error_set(err, "%s: %s is true (%s); expected false", path, flags[i],
                                why[i]);
    }
    const char *bias = NULL;
    if (t2_json_util_get_string(cfg, "bias", &bias, path, "", err) < 0) return -1;
    if (bias != NULL && strcmp(bias, "none") != 0)
        return t2_error_set(err, "%s: bias '%s' trains bias vectors t2 does not hold; expected "
                            "\"none\"", path, bias);
    const json_t *save = json_object_get(cfg, "modules_to_save");
    if (save != NULL && !json_is_null(save) && !(json_is_array(save) && json_array_size(save) == 0))
        return t2_error_set(err, "%s: modules_to_save is set (whole trained modules); expected "
                            "null", path);
    static const char *const patterns[] = {"rank_pattern", "alpha_pattern"};
    for (int i = 0; i < 2; i++) {
        const json_t *v = json_object_get(cfg, patterns[i]);
        if (v != NULL && !json_is_null(v) && !(json_is_object(v) && json_object_size(v) == 0))
            return t2_error_set(err, "%s: %s has entries (a rank or alpha per module); expected "
                                "{} (one r and lora_alpha for all)", path, patterns[i]);
    }
    return 0;
}

/* target_modules (a list of names or one regular expression) and layers_to_transform. */
static int read_targets(t2_peft *p, const json_t *cfg, const char *path, t2_error *err) {
    const json_t *tm = json_object_get(cfg, "target_modules");
    if (json_is_string(tm)) {
        p->target_regex = t2_strdup(json_string_value(tm));
    } else if (json_is_array(tm) && json_array_size(tm) > 0) {
        p->n_modules = (int)json_array_size(tm);
        p->target_modules = t2_alloc_array((size_t)p->n_modules, sizeof *p->target_modules);
        for (int i = 0; i < p->n_modules; i++) {
            const json_t *v = json_array_get(tm, (size_t)i);
            if (!json_is_string(v))
                return t2_error_set(err, "%s: target_modules[%d] is %s; expected a string",
                                    path, i, t2_json_util_type_name(v));
            p->target_modules[i] = t2_strdup(json_string_value(v));
        }
    } else {
        return t2_error_set(err, "%s: target_modules is %s; expected a list of module names "
                            "or a regular expression", path,
                            tm == NULL ? "missing" : t2_json_util_type_name(tm));
    }
    const json_t *lt = json_object_get(cfg, "layers_to_transform");
    int64_t one = 0;
    if (lt == NULL || json_is_null(lt)) return 0;
    if (t2_json_util_as_int(lt, &one)) {
        p->n_layers = 1;
        p->layers_to_transform = t2_alloc_array(1, sizeof *p->layers_to_transform);
        p->layers_to_transform[0] = one;
        return 0;
    }
    if (!json_is_array(lt))
        return t2_error_set(err, "%s: layers_to_transform is %s; expected a list of layer "
                            "numbers or null", path, t2_json_util_type_name(lt));
    p->n_layers = (int)json_array_size(lt);
    p->layers_to_transform = t2_alloc_array((size_t)p->n_layers + 1,
                                            sizeof *p->layers_to_transform);
    for (int i = 0; i < p->n_layers; i++)
        if (!t2_json_util_as_int(json_array_get(lt, (size_t)i), &p->layers_to_transform[i]))
            return t2_error_set(err, "%s: layers_to_transform[%d] is %s; expected an integer",
                                path, i, t2_json_util_type_name(json_array_get(lt, (size_t)i)));
    return 0;
}

static int read_config(t2_peft *p, const char *dir, t2_error *err) {
    char *path = t2_model_dir_path(dir, config_name);
    char *text = NULL;
    size_t len = 0;
    struct stat sb;
    int status = 0;
    if (stat(path, &sb) != 0)
        status = t2_error_set(err, "%s: no %s; expected a PEFT adapter folder (%s and %s)", dir,
                              config_name, config_name, weights_name);
    if (status == 0) status = t2_file_read(path, &text, &len, err);
    json_t *cfg = status == 0 ? t2_json_util_parse_object(text, len, path, "a PEFT adapter "
                                                          "config object", err) : NULL;
    if (status == 0 && cfg == NULL) status = -1;
    const char *type = NULL, *base = NULL, *task = NULL;
    if (status == 0 && t2_json_util_get_string(cfg, "peft_type", &type, path, "", err) < 0)
        status = -1;
    if (status == 0 && type == NULL)
        status = t2_error_set(err, "%s: no peft_type; expected \"LORA\"", path);
    if (status == 0 && strcmp(type, "LORA") != 0)
        status = t2_error_set(err, "%s: peft_type '%s' is not supported; expected LORA", path,
                              type);
    int found = 0;
    if (status == 0 && (found = t2_json_util_get_int(cfg, "r", &p->r, path, "", err)) < 0)
        status = -1;
    if (status == 0 && found == 0)
        status = t2_error_set(err, "%s: no r; expected the LoRA rank", path);
    if (status == 0 && p->r < 1)
        status = t2_error_set(err, "%s: r is %lld; expected at least 1", path, (long long)p->r);
    if (status == 0 &&
        (found = t2_json_util_get_number(cfg, "lora_alpha", &p->lora_alpha, path, "", err)) < 0)
        status = -1;
    if (status == 0 && found == 0)
        status = t2_error_set(err, "%s: no lora_alpha; expected the numerator of the LoRA "
                              "scale lora_alpha / r", path);
    if (status == 0 && t2_json_util_get_number(cfg, "lora_dropout", &p->lora_dropout, path, "",
                                               err) < 0)
        status = -1;
    if (status == 0 && (t2_json_util_get_string(cfg, "base_model_name_or_path", &base, path, "",
                                                err) < 0 ||
                        t2_json_util_get_string(cfg, "task_type", &task, path, "", err) < 0))
        status = -1;
    if (status == 0) status = check_unsupported(cfg, path, err);
    if (status == 0) status = read_targets(p, cfg, path, err);
    if (status == 0) {
        p->base_model = base ? t2_strdup(base) : NULL;
        p->task_type = task ? t2_strdup(task) : NULL;
    }
    if (cfg != NULL) json_decref(cfg);
    t2_free(text);
    t2_free(path);
    return status;
}

/* Whether the config targets module (short name kind, layer): a listed short or full name
 * and, with layers_to_transform, a listed layer. A regular expression is not evaluated. */
static int config_targets(const t2_peft *p, const char *module, int kind, int64_t layer) {
    if (p->target_regex != NULL) return 1;
    int named = 0;
    for (int i = 0; i < p->n_modules && !named; i++)
        named = strcmp(p->target_modules[i], module) == 0;
    if (named) return 1;
    for (int i = 0; i < p->n_modules && !named; i++)
        named = strcmp(p->target_modules[i], kind_names[kind]) == 0;
    if (!named || p->layers_to_transform == NULL) return named;
    for (int i = 0; i < p->n_layers; i++)
        if (p->layers_to_transform[i] == layer) return 1;
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The module of key "base_model.model.<module><suffix>" (heap), or NULL. */
static char *key_module(const char *key, const char *suffix) {
    size_t n = strlen(key), pre = sizeof key_prefix - 1, suf = strlen(suffix);
    if (n <= pre + suf || strncmp(key, key_prefix, pre) != 0 || !ends_with(key, suffix))
        return NULL;
    return t2_strdup_printf("%.*s", (int)(n - pre - suf), key + pre);
}

/* 0 when t is a matrix [d0, d1] (-1: any positive size), else -1 with err. */
static int check_shape(const t2_tensor_info *t, const char *path, int64_t d0, int64_t d1,
                       const char *expected, t2_error *err) {
    if (t->n_dims == 2 && t->shape[0] > 0 && t->shape[1] > 0 && (d0 < 0 || t->shape[0] == d0) &&
        (d1 < 0 || t->shape[1] == d1))
        return 0;
    char got[128];
    t2_safetensors_shape_string(got, sizeof got, t->n_dims, t->shape);
    return t2_error_set(err, "%s: tensor '%s' has shape %s; expected %s", path, t->name, got,
                        expected);
}

/* One module's pair: checks names, config and shapes; fills slot i (params later). */
static int read_pair(t2_peft *p, const t2_safetensors *st, const t2_tensor_info *a,
                     const t2_tensor_info **b_out, const char *path, int i, t2_error *err) {
    char *module = key_module(a->name, suffix_a);
    char *b_key = t2_strdup_printf("%s%s%s", key_prefix, module, suffix_b);
    const t2_tensor_info *b = t2_safetensors_find(st, b_key);
    int64_t layer = 0;
    int kind = 0, status = 0;
    char expected[160];
    if (parse_module(module, "", &layer, &kind) != 0)
        status = t2_error_set(err, "%s: tensor '%s' adapts '%s', not a linear weight of a "
                              "transformer block; expected model.layers.<L>.(self_attn|mlp)."
                              "<x>_proj", path, a->name, module);
    else if (b == NULL)
        status = t2_error_set(err, "%s: tensor '%s' has no '%s'; expected both LoRA matrices "
                              "of each module", path, a->name, b_key);
    else if (!config_targets(p, module, kind, layer))
        status = t2_error_set(err, "%s: module '%s' is not one adapter_config.json targets; "
                              "expected one named in target_modules (and a layer of "
                              "layers_to_transform)", path, module);
    if (status == 0) {
        snprintf(expected, sizeof expected, "[r, in] with r = %lld (%s)", (long long)p->r,
                 config_name);
        status = check_shape(a, path, p->r, -1, expected, err);
    }
    if (status == 0) {
        snprintf(expected, sizeof expected, "[out, r] with r = %lld (%s)", (long long)p->r,
                 config_name);
        status = check_shape(b, path, -1, p->r, expected, err);
    }
    if (status == 0 && b->dtype != a->dtype)
        status = t2_error_set(err, "%s: tensor '%s' is %s and '%s' is %s; expected one dtype",
                              path, a->name, t2_dtype_name(a->dtype), b->name,
                              t2_dtype_name(b->dtype));
    if (status == 0) {
        p->tensors[i] = t2_strdup_printf("%s.weight", module);
        p->rows[i] = b->shape[0];
        p->cols[i] = a->shape[1];
        p->dtype = a->dtype;
        *b_out = b;
    }
    t2_free(module);
    t2_free(b_key);
    return status;
}

/* Every tensor is one of a pair; the pairs, in name order, become the matrices. */
static int read_weights(t2_peft *p, const char *dir, t2_error *err) {
    char *path = t2_model_dir_path(dir, weights_name);
    t2_safetensors st;
    memset(&st, 0, sizeof st);
    int status = t2_safetensors_open(&st, path, err);
    for (int i = 0; status == 0 && i < st.n_tensors; i++) {
        const char *key = st.tensors[i].name;
        char *module = key_module(key, ends_with(key, suffix_a) ? suffix_a : suffix_b);
        if (module == NULL)
            status = t2_error_set(err, "%s: tensor '%s' is not a LoRA matrix; expected "
                                  "base_model.model.<module>.lora_A.weight or .lora_B.weight",
                                  path, key);
        else if (ends_with(key, suffix_b)) {
            char *a_key = t2_strdup_printf("%s%s%s", key_prefix, module, suffix_a);
            if (t2_safetensors_find(&st, a_key) == NULL)
                status = t2_error_set(err, "%s: tensor '%s' has no '%s'; expected both LoRA "
                                      "matrices of each module", path, key, a_key);
            t2_free(a_key);
        } else {
            p->n++;
        }
        t2_free(module);
    }
    if (status == 0 && p->n == 0)
        status = t2_error_set(err, "%s: no LoRA matrices; expected base_model.model.<module>."
                              "lora_A.weight and .lora_B.weight pairs", path);
    if (status == 0) {
        p->tensors = t2_alloc_array((size_t)p->n, sizeof *p->tensors);
        p->rows = t2_alloc_array((size_t)p->n, sizeof *p->rows);
        p->cols = t2_alloc_array((size_t)p->n, sizeof *p->cols);
    }
    const t2_tensor_info **a = t2_alloc_array((size_t)p->n + 1, sizeof *a);
    const t2_tensor_info **b = t2_alloc_array((size_t)p->n + 1, sizeof *b);
    int m = 0; /* st.tensors are in name order, so the A matrices are in module order */
    for (int i = 0; status == 0 && i < st.n_tensors; i++) {
        if (!ends_with(st.tensors[i].name, suffix_a)) continue;
        a[m] = &st.tensors[i];
        status = read_pair(p, &st, a[m], &b[m], path, m, err);
        m++;
    }
    for (int i = 0; status == 0 && i < p->n; i++) p->n_params += p->r * (p->rows[i] + p->cols[i]);
    if (status == 0) p->params = t2_alloc_array((size_t)p->n_params, sizeof *p->params);
    float *dst = p->params;
    for (int i = 0; status == 0 && i < p->n; i++) {
        status = t2_safetensors_read_f32(a[i], 0, a[i]->n_elements, dst, err);
        dst += a[i]->n_elements;
        if (status == 0) status = t2_safetensors_read_f32(b[i], 0, b[i]->n_elements, dst, err);
        dst += b[i]->n_elements;
    }
    static const char *const meta[3] = {"name", "task", "model_fingerprint"};
    char **slots[3] = {&p->name, &p->task, &p->model_fingerprint};
    for (int k = 0; status == 0 && k < 3; k++) {
        const char *v = t2_safetensors_metadata(&st, meta[k]);
        if (v != NULL) *slots[k] = t2_strdup(v);
    }
    t2_free(a);
    t2_free(b);
    t2_safetensors_close(&st);
    t2_free(path);
    return status;
}

int t2_peft_read(t2_peft *p, const char *dir, t2_error *err) {
    memset(p, 0, sizeof *p);
    int status = read_config(p, dir, err);
    if (status == 0) status = read_weights(p, dir, err);
    if (status != 0) t2_peft_free(p);
    return status;
}

/* ---- writing ---- */

static int compare_layers(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* target_modules (and layers_to_transform when the matrices are every listed kind in every
 * listed layer) for p's tensors, added to cfg. */
static int add_targets(json_t *cfg, const t2_peft *p, t2_error *err) {
    int64_t *layers = t2_alloc_array((size_t)p->n, sizeof *layers);
    int kinds[PEFT_KINDS] = {0}, n_kinds = 0, n_layers = 0;
    for (int i = 0; i < p->n; i++) {
        int64_t layer = 0;
        int kind = 0;
        if (parse_module(p->tensors[i], ".weight", &layer, &kind) != 0) {
            t2_free(layers);
            return t2_error_set(err, "%s: not a linear weight of a transformer block; expected "
                                "model.layers.<L>.(self_attn|mlp).<x>_proj.weight",
                                p->tensors[i]);
        }
        for (int j = 0; j < i; j++)
            if (strcmp(p->tensors[j], p->tensors[i]) == 0) {
                t2_free(layers);
                return t2_error_set(err, "%s: listed twice; expected each matrix once",
                                    p->tensors[i]);
            }
        n_kinds += kinds[kind] == 0;
        kinds[kind] = 1;
        int seen = 0;
        for (int j = 0; j < n_layers && !seen; j++) seen = layers[j] == layer;
        if (!seen) layers[n_layers++] = layer;
    }
    qsort(layers, (size_t)n_layers, sizeof *layers, compare_layers);
    json_t *modules = json_array();
    if ((int64_t)n_kinds * n_layers == p->n) {
        for (int k = 0; k < PEFT_KINDS; k++)
            if (kinds[k]) json_array_append_new(modules, json_string(kind_names[k]));
        json_t *list = json_array();
        for (int j = 0; j < n_layers; j++) json_array_append_new(list, json_integer(layers[j]));
        json_object_set_new(cfg, "layers_pattern", json_string("layers"));
        json_object_set_new(cfg, "layers_to_transform", list);
    } else {
        for (int i = 0; i < p->n; i++) {
            size_t len = strlen(p->tensors[i]) - strlen(".weight");
            char *module = t2_strdup_printf("%.*s", (int)len, p->tensors[i]);
            json_array_append_new(modules, json_string(module));
            t2_free(module);
        }
        json_object_set_new(cfg, "layers_pattern", json_null());
        json_object_set_new(cfg, "layers_to_transform", json_null());
    }
    t2_free(layers);
    json_object_set_new(cfg, "target_modules", modules);
    return 0;
}

/* adapter_config.json's text (heap), keys in alphabetical order as PEFT writes them. */
static char *config_text(const t2_peft *p, t2_error *err) {
    json_t *cfg = json_object();
    json_object_set_new(cfg, "alpha_pattern", json_object());
    json_object_set_new(cfg, "auto_mapping", json_null());
    json_object_set_new(cfg, "base_model_name_or_path",
                        p->base_model ? json_string(p->base_model) : json_null());
    json_object_set_new(cfg, "bias", json_string("none"));
    json_object_set_new(cfg, "fan_in_fan_out", json_false());
    json_object_set_new(cfg, "inference_mode", json_true());
    json_object_set_new(cfg, "init_lora_weights", json_true());
    /* layers_pattern, layers_to_transform and target_modules: add_targets */
    double alpha = p->lora_alpha;
    json_object_set_new(cfg, "lora_alpha", alpha == (double)(int64_t)alpha && alpha < 9e15 &&
                                                   alpha > -9e15
                                               ? json_integer((json_int_t)alpha)
                                               : json_real(alpha));
    json_object_set_new(cfg, "lora_dropout", json_real(0.0));
    json_object_set_new(cfg, "modules_to_save", json_null());
    json_object_set_new(cfg, "peft_type", json_string("LORA"));
    json_object_set_new(cfg, "r", json_integer(p->r));
    json_object_set_new(cfg, "rank_pattern", json_object());
    json_object_set_new(cfg, "revision", json_null());
    json_object_set_new(cfg, "task_type", json_string("CAUSAL_LM"));
    json_object_set_new(cfg, "use_dora", json_false());
    json_object_set_new(cfg, "use_rslora", json_false());
    char *text = NULL;
    if (add_targets(cfg, p, err) == 0) {
        char *dumped = json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        text = t2_strdup_printf("%s\n", dumped);
        free(dumped);
    }
    json_decref(cfg);
    return text;
}

int t2_peft_write(const t2_peft *p, const char *dir, t2_error *err) {
    char *config = config_text(p, err);
    if (config == NULL) return -1;
    struct stat sb;
    int status = 0;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        status = t2_error_set(err, "%s: cannot create the folder: %s; expected a writable path",
                              dir, strerror(errno));
    else if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        status = t2_error_set(err, "%s: not a folder; expected a folder or a new path", dir);
    t2_safetensors_writer w;
    t2_safetensors_writer_init(&w);
    char **keys = t2_alloc_array((size_t)(2 * p->n) + 1, sizeof *keys);
    const float *values = p->params;
    for (int i = 0; status == 0 && i < p->n; i++) {
        size_t len = strlen(p->tensors[i]) - strlen(".weight");
        int64_t a_shape[2] = {p->r, p->cols[i]}, b_shape[2] = {p->rows[i], p->r};
        keys[2 * i] = t2_strdup_printf("%s%.*s%s", key_prefix, (int)len, p->tensors[i], suffix_a);
        keys[2 * i + 1] = t2_strdup_printf("%s%.*s%s", key_prefix, (int)len, p->tensors[i],
                                           suffix_b);
        t2_safetensors_writer_add(&w, keys[2 * i], T2_DTYPE_F32, 2, a_shape, values);
        values += p->r * p->cols[i];
        t2_safetensors_writer_add(&w, keys[2 * i + 1], T2_DTYPE_F32, 2, b_shape, values);
        values += p->rows[i] * p->r;
    }
    t2_safetensors_writer_add_metadata(&w, "format", "pt");
    t2_safetensors_writer_add_metadata(&w, "method", "lora");
    if (p->name) t2_safetensors_writer_add_metadata(&w, "name", p->name);
    if (p->task) t2_safetensors_writer_add_metadata(&w, "task", p->task);
    if (p->model_fingerprint)
        t2_safetensors_writer_add_metadata(&w, "model_fingerprint", p->model_fingerprint);
    char *weights_path = t2_model_dir_path(dir, weights_name);
    char *config_path = t2_model_dir_path(dir, config_name);
    if (status == 0) status = t2_safetensors_writer_write(&w, weights_path, err);
    if (status == 0) status = t2_file_write_atomic(config_path, config, strlen(config), err);
    t2_free(config_path);
    t2_free(weights_path);
    for (int i = 0; i < 2 * p->n; i++) t2_free(keys[i]);
    t2_free(keys);
    t2_safetensors_writer_free(&w);
    t2_free(config);
    return status;
}
