/* A model made of some of another's layers (see weights.h, t2_model_weights_keep_layers). */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "model/weights.h"

typedef struct named_tensor {
    char name[128];
    int64_t count;
    float *data;
} named_tensor;

typedef struct tensor_list {
    named_tensor *items;
    int n;
} tensor_list;

static void collect(void *ctx, const char *name, int n_dims, const int64_t *shape, float *data) {
    tensor_list *list = ctx;
    int64_t count = 1;
    for (int d = 0; d < n_dims; d++) count *= shape[d];
    list->items = t2_realloc(list->items, sizeof *list->items * (size_t)(list->n + 1));
    named_tensor *t = &list->items[list->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->count = count;
    t->data = data;
}

/* The src name of a dst tensor: layer J of dst is layer layers[J] of src. */
static void source_name(char *out, size_t size, const char *name, const int64_t *layers) {
    long long j;
    int used = 0;
    if (sscanf(name, "model.layers.%lld.%n", &j, &used) == 1 && used > 0)
        snprintf(out, size, "model.layers.%lld.%s", (long long)layers[j], name + used);
    else
        snprintf(out, size, "%s", name);
}

void t2_model_weights_keep_layers(t2_model_weights *dst, const t2_model_config *dst_cfg,
                                  const t2_model_weights *src, const t2_model_config *src_cfg,
                                  const int64_t *layers) {
    tensor_list from = {0}, to = {0};
    t2_model_weights_visit(src, src_cfg, collect, &from);
    t2_model_weights_visit(dst, dst_cfg, collect, &to);
    for (int i = 0; i < to.n; i++) {
        char name[160];
        source_name(name, sizeof name, to.items[i].name, layers);
        int found = 0;
        for (int k = 0; k < from.n && !found; k++) {
            if (strcmp(from.items[k].name, name) != 0) continue;
            T2_ASSERT(from.items[k].count == to.items[i].count);
            memcpy(to.items[i].data, from.items[k].data,
                   sizeof(float) * (size_t)to.items[i].count);
            found = 1;
        }
        T2_ASSERT(found);
    }
    t2_free(from.items);
    t2_free(to.items);
}
