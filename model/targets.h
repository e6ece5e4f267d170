/* Which weight matrices of a model are decomposed (and later adapted): the targets.
 *
 * A target is a 2-D tensor of a model's safetensors, W (out x in, y = W x). The selection:
 *   set all   every linear weight of the transformer blocks (default):
 *             model.layers.<L>.self_attn.{q,k,v,o}_proj.weight and
 *             model.layers.<L>.mlp.{gate,up,down}_proj.weight;
 *   set mlp   the three MLP weights of every block;
 *   set attn  the four attention weights of every block;
 *   glob      instead of a set: every 2-D tensor whose whole name matches a shell pattern
 *             (fnmatch(3) without flags: '*' and '?' also match '.', [...] classes work),
 *             e.g. "model.layers.*.mlp.down_proj.weight" or "lm_head.weight";
 *   regex     instead of a set: every 2-D tensor whose name contains a match of a POSIX
 *             extended regular expression (regcomp(3), REG_EXTENDED; anchor with ^ and $),
 *             e.g. "layers\.(0|1)\..*_proj\.weight$".
 * Targets are listed in the safetensors' name order, each once. */
#ifndef T2_MODEL_TARGETS_H
#define T2_MODEL_TARGETS_H

#include <stdint.h>

#include "base/error.h"
#include "model/safetensors.h"

typedef enum t2_target_set {
    T2_TARGET_SET_ALL = 0,
    T2_TARGET_SET_MLP = 1,
    T2_TARGET_SET_ATTN = 2,
} t2_target_set;

typedef struct t2_target_selector {
    t2_target_set set;
    const char *glob;  /* borrowed; when not NULL, replaces the set */
    const char *regex; /* borrowed; when not NULL, replaces the set (not with glob) */
} t2_target_selector;

typedef struct t2_target {
    char *name;              /* owned copy of the tensor name */
    int64_t rows, cols;      /* out x in */
    const t2_tensor_info *tensor; /* borrowed from the safetensors the list was made from */
} t2_target;

typedef struct t2_target_list {
    int n;
    t2_target *items; /* [n] */
} t2_target_list;

/* "all", "mlp", "attn" -> set: 0, or -1 for any other name. */
int t2_target_set_from_name(const char *name, t2_target_set *out);
const char *t2_target_set_name(t2_target_set set);

/* Selects the targets of st (model_path names it in errors). Fails (-1, err set, list
 * empty) when a regex does not compile, when nothing matches ("<model>: the target
 * selection <...> matches no tensor; expected ..."), or when a selected tensor is not a
 * non-empty matrix of a float dtype (F32, F16, BF16, F64). */
int t2_targets_select(t2_target_list *list, const t2_safetensors *st, const char *model_path,
                      const t2_target_selector *selector, t2_error *err);
/* A human-readable description of the selection ("set mlp", "glob 'x'", "regex 'y'"). */
void t2_target_selector_describe(const t2_target_selector *selector, char *buf, size_t size);
void t2_target_list_free(t2_target_list *list); /* accepts a zeroed list; may run twice */

#endif
