/* Target selection (see targets.h): the block linear weights by their Hugging Face names,
 * or a glob (fnmatch) / POSIX extended regex over every tensor name. Reads only the
 * safetensors headers. */
#include "model/targets.h"

#include <ctype.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

static const char *const attn_suffixes[] = {"self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                            "self_attn.v_proj.weight", "self_attn.o_proj.weight"};
static const char *const mlp_suffixes[] = {"mlp.gate_proj.weight", "mlp.up_proj.weight",
                                           "mlp.down_proj.weight"};

int t2_target_set_from_name(const char *name, t2_target_set *out) {
    if (strcmp(name, "all") == 0) *out = T2_TARGET_SET_ALL;
    else if (strcmp(name, "mlp") == 0) *out = T2_TARGET_SET_MLP;
    else if (strcmp(name, "attn") == 0) *out = T2_TARGET_SET_ATTN;
    else return -1;
    return 0;
}

const char *t2_target_set_name(t2_target_set set) {
    return set == T2_TARGET_SET_MLP ? "mlp" : set == T2_TARGET_SET_ATTN ? "attn" : "all";
}

void t2_target_selector_describe(const t2_target_selector *selector, char *buf, size_t size) {
    if (selector->glob != NULL) snprintf(buf, size, "glob '%s'", selector->glob);
    else if (selector->regex != NULL) snprintf(buf, size, "regex '%s'", selector->regex);
    else snprintf(buf, size, "set %s", t2_target_set_name(selector->set));
}

static int suffix_in(const char *rest, const char *const *suffixes, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(rest, suffixes[i]) == 0) return 1;
    return 0;
}

/* 1 when name is "model.layers.<L>.<suffix>" with a suffix of the set. */
static int in_set(const char *name, t2_target_set set) {
    static const char prefix[] = "model.layers.";
    size_t plen = sizeof prefix - 1;
    if (strncmp(name, prefix, plen) != 0) return 0;
    const char *p = name + plen;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    if (*p++ != '.') return 0;
    int attn = suffix_in(p, attn_suffixes, sizeof attn_suffixes / sizeof attn_suffixes[0]);
    int mlp = suffix_in(p, mlp_suffixes, sizeof mlp_suffixes / sizeof mlp_suffixes[0]);
    if (set == T2_TARGET_SET_MLP) return mlp;
    if (set == T2_TARGET_SET_ATTN) return attn;
    return attn || mlp;
}

/* A selected tensor must be a non-empty float matrix. */
static int check_tensor(const t2_tensor_info *t, const char *model_path, t2_error *err) {
    char shape[96];
    t2_safetensors_shape_string(shape, sizeof shape, t->n_dims, t->shape);
    if (t->n_dims != 2 || t->shape[0] < 1 || t->shape[1] < 1)
        return t2_error_set(err, "%s: target tensor '%s' has shape %s; expected a non-empty "
                            "matrix (2 dimensions)", model_path, t->name, shape);
    if (t->dtype != T2_DTYPE_F32 && t->dtype != T2_DTYPE_F16 && t->dtype != T2_DTYPE_BF16 &&
        t->dtype != T2_DTYPE_F64)
        return t2_error_set(err, "%s: target tensor '%s' has dtype %s; expected F32, F16, BF16 "
                            "or F64", model_path, t->name, t2_dtype_name(t->dtype));
    return 0;
}

int t2_targets_select(t2_target_list *list, const t2_safetensors *st, const char *model_path,
                      const t2_target_selector *selector, t2_error *err) {
    memset(list, 0, sizeof *list);
    regex_t re;
    int use_regex = selector->glob == NULL && selector->regex != NULL;
    if (use_regex) {
        int rc = regcomp(&re, selector->regex, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[256];
            regerror(rc, &re, why, sizeof why);
            return t2_error_set(err, "regex '%s': %s; expected a POSIX extended regular "
                                "expression", selector->regex, why);
        }
    }
    list->items = t2_alloc_array((size_t)(st->n_tensors > 0 ? st->n_tensors : 1),
                                 sizeof *list->items);
    int status = 0;
    for (int i = 0; i < st->n_tensors && status == 0; i++) {
        const t2_tensor_info *t = &st->tensors[i];
        int selected;
        if (selector->glob != NULL)
            selected = t->n_dims == 2 && fnmatch(selector->glob, t->name, 0) == 0;
        else if (use_regex)
            selected = t->n_dims == 2 && regexec(&re, t->name, 0, NULL, 0) == 0;
        else
            selected = in_set(t->name, selector->set);
        if (!selected) continue;
        status = check_tensor(t, model_path, err);
        if (status != 0) break;
        t2_target *target = &list->items[list->n++];
        target->name = t2_strdup(t->name);
        target->rows = t->shape[0];
        target->cols = t->shape[1];
        target->tensor = t;
    }
    if (use_regex) regfree(&re);
    if (status == 0 && list->n == 0) {
        char what[300];
        t2_target_selector_describe(selector, what, sizeof what);
        status = t2_error_set(err, "%s: the target selection (%s) matches no matrix; expected "
                             "a selection matching tensors such as "
                             "'model.layers.0.mlp.up_proj.weight'", model_path, what);
    }
    if (status != 0) t2_target_list_free(list);
    return status;
}

void t2_target_list_free(t2_target_list *list) {
    for (int i = 0; i < list->n; i++) t2_free(list->items[i].name);
    t2_free(list->items);
    memset(list, 0, sizeof *list);
}
