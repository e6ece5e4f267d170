/* `t2 inspect` for expert files and bundles (cmd/inspect_expert.h): what an expert holds —
 * name, task, method and settings, targets with their parameter counts (and for SVF the
 * mean, min and max of each vector), the training summary — printed whole for an expert
 * file, and for each member of a bundle after the bundle's model fingerprint, categories,
 * classifier and transfer record. The same printers serve both. Output only: reading and
 * validation are rl/expert.c and rl/bundle.c. */
#include "cmd/inspect_expert.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "model/adapter.h"
#include "rl/bundle.h"
#include "rl/expert.h"

/* Mean, min and max of n floats (n >= 1). */
static void vector_stats(const float *x, int64_t n, double *mean, double *min, double *max) {
    double sum = 0;
    *min = *max = x[0];
    for (int64_t i = 0; i < n; i++) {
        sum += x[i];
        if (x[i] < *min) *min = x[i];
        if (x[i] > *max) *max = x[i];
    }
    *mean = sum / (double)n;
}

/* Name, task and method, as "  <key> <value>" lines. */
static void print_head(const t2_expert *e) {
    char options[256];
    printf("  %-26s %s\n", "name", e->name);
    printf("  %-26s %s\n", "task", e->task[0] != '\0' ? e->task : "(none)");
    printf("  %-26s %s (%s)\n", "method", t2_adapter_method_name(e->options.method),
           t2_expert_options_string(&e->options, options, sizeof options));
}

/* "targets: N", one aligned line per target, "parameters: N trainable"; indented by indent
 * (the target lines by two more). */
static void print_targets(const t2_expert *e, int indent) {
    int name_width = 4, shape_width = 0, count_width = 0;
    char (*shapes)[48] = t2_alloc_array((size_t)e->n, sizeof *shapes);
    for (int i = 0; i < e->n; i++) {
        int len = (int)strlen(e->tensors[i]);
        if (len > name_width) name_width = len;
        len = snprintf(shapes[i], sizeof shapes[i], "[%lld, %lld]", (long long)e->rows[i],
                       (long long)e->cols[i]);
        if (len > shape_width) shape_width = len;
        len = snprintf(NULL, 0, "%lld", (long long)e->lengths[i]);
        if (len > count_width) count_width = len;
    }
    printf("%*stargets: %d\n", indent, "", e->n);
    for (int i = 0; i < e->n; i++) {
        printf("%*s  %-*s  %-*s  %*lld parameters", indent, "", name_width, e->tensors[i],
               shape_width, shapes[i], count_width, (long long)e->lengths[i]);
        if (e->options.method == T2_ADAPTER_SVF) {
            double mean, min, max;
            vector_stats(e->params + e->offsets[i], e->lengths[i], &mean, &min, &max);
            printf("  mean %-11.6g min %-11.6g max %.6g", mean, min, max);
        }
        printf("\n");
    }
    t2_free(shapes);
    printf("%*sparameters: %lld trainable\n", indent, "", (long long)e->n_params);
}

static void print_summary(const t2_expert_summary *s) {
    printf("training summary:\n");
    printf("  %-26s %lld\n", "steps", (long long)s->steps);
    printf("  %-26s %lld\n", "best step", (long long)s->best_step);
    printf("  %-26s %.4f (%lld samples)\n", "best validation accuracy", s->best_val_accuracy,
           (long long)s->val_samples);
    printf("  %-26s %.1f s\n", "wall time", s->wall_seconds);
    printf("  %-26s %lld\n", "tokens", (long long)s->tokens);
    printf("  %-26s %lld\n", "ranks", (long long)s->ranks);
}

/* The summary on one line, for the members of a bundle. */
static void print_summary_line(const t2_expert_summary *s) {
    printf("  %-26s %lld steps, best step %lld, best validation accuracy %.4f (%lld samples), "
           "%.1f s, %lld tokens, %lld ranks\n", "training", (long long)s->steps,
           (long long)s->best_step, s->best_val_accuracy, (long long)s->val_samples,
           s->wall_seconds, (long long)s->tokens, (long long)s->ranks);
}

static void print_training_config(const char *config) {
    if (config[0] == '\0') {
        printf("training config: (none)\n");
        return;
    }
    printf("training config:\n");
    for (const char *line = config; *line != '\0';) {
        const char *end = strchr(line, '\n');
        int len = end != NULL ? (int)(end - line) : (int)strlen(line);
        printf("  %.*s\n", len, line);
        line += len + (end != NULL);
    }
}

int t2_inspect_expert_file(const char *cmd, const char *path) {
    t2_expert e;
    t2_error err = {{0}};
    if (t2_expert_read(&e, path, &err) != 0) return t2_cli_fail_error(cmd, &err);
    printf("expert: %s\n", path);
    print_head(&e);
    printf("  %-26s %s\n", "model fingerprint", e.model_fingerprint);
    print_targets(&e, 0);
    print_summary(&e.summary);
    print_training_config(e.config);
    t2_expert_free(&e);
    return T2_EXIT_OK;
}

/* One member of a bundle: its head line, then its fields indented (the bundle states the
 * model fingerprint once). */
static void print_member(const t2_expert *e, const char *title) {
    printf("%s: %s\n", title, e->name);
    print_head(e);
    print_targets(e, 2);
    print_summary_line(&e->summary);
}

int t2_inspect_expert_bundle(const char *cmd, const char *path) {
    t2_bundle b;
    t2_error err = {{0}};
    if (t2_bundle_read(&b, path, &err) != 0) return t2_cli_fail_error(cmd, &err);
    printf("bundle: %s\n", path);
    printf("  %-26s %s\n", "model fingerprint", b.model_fingerprint);
    printf("  %-26s", "categories");
    for (int i = 0; i < b.n; i++) printf("%s%s", i > 0 ? ", " : " ", b.categories[i]);
    printf("\n");
    printf("  %-26s %s\n", "classifier", b.has_classifier ? b.classifier.name : "(none)");
    if (b.has_transfer) {
        printf("  %-26s from %s (%lld layers) to this model (%lld layers)\n", "transfer",
               b.source_fingerprint, (long long)b.source_layers, (long long)b.target_layers);
        if (b.note != NULL && b.note[0] != '\0') printf("  %-26s %s\n", "transfer note", b.note);
    } else {
        printf("  %-26s (none: trained on this model)\n", "transfer");
    }
    char title[64];
    for (int i = 0; i < b.n; i++) {
        snprintf(title, sizeof title, "expert %d of %d", i + 1, b.n);
        print_member(&b.experts[i], title);
    }
    if (b.has_classifier) print_member(&b.classifier, "classifier");
    t2_bundle_free(&b);
    return T2_EXIT_OK;
}
