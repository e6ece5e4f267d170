/* `t2 export --format peft` / `--format expert` (cmd/export_peft.h): converts between a t2 LoRA
 * expert and a PEFT adapter folder, both ways without changing a value: the matrices are the
 * same floats (F32), r = the expert's rank k, lora_alpha = its alpha, so PEFT's scale
 * lora_alpha / r is t2's alpha / k (model/peft.h). Does not convert SVF experts (PEFT has no
 * singular-value adapter: `--format hf` merges them into a model) or merge weights. */
#include "cmd/export_peft.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "model/fingerprint.h"
#include "model/peft.h"
#include "model/safetensors.h"
#include "rl/expert.h"

const char t2_export_peft_usage[] =
    "       t2 export --format peft --out DIR [--base-model NAME] LORA_EXPERT\n"
    "       t2 export --format expert --out FILE [--base-model DIR] PEFT_DIR\n";

const char t2_export_peft_help[] =
    "peft writes a LoRA expert as a PEFT adapter folder (adapter_config.json and\n"
    "adapter_model.safetensors with PEFT's tensor names; r and lora_alpha are the expert's\n"
    "rank and alpha, so PEFT's scale lora_alpha / r is t2's); expert reads such a folder\n"
    "back into a t2 LoRA expert file, bit for bit:\n"
    "  --base-model NAME  peft: written as base_model_name_or_path; expert: the base model\n"
    "                     folder, whose tensors each matrix is checked against and whose\n"
    "                     fingerprint the expert records (needed for a folder t2 did not\n"
    "                     write: it records no fingerprint)\n"
    "Details: docs/cli.md (t2 export).\n";

int t2_export_peft(const char *cmd, const char *expert_path, const char *out,
                   const char *base_model) {
    t2_expert e;
    t2_error err = {{0}};
    if (t2_expert_read(&e, expert_path, &err) != 0) return t2_cli_fail_error(cmd, &err);
    if (e.options.method != T2_ADAPTER_LORA) {
        t2_expert_free(&e);
        return t2_cli_fail(cmd, "%s: method %s; expected a LoRA expert (a PEFT adapter holds "
                           "LoRA matrices; --format hf merges an svf expert into a model)",
                           expert_path, t2_adapter_method_name(e.options.method));
    }
    /* Borrowed views of the expert: its parameters are already PEFT's A then B per matrix. */
    t2_peft p = {.r = e.options.lora_rank, .lora_alpha = e.options.lora_alpha, .n = e.n,
                 .tensors = e.tensors, .rows = e.rows, .cols = e.cols, .params = e.params,
                 .n_params = e.n_params, .base_model = (char *)base_model, .name = e.name,
                 .task = e.task[0] != '\0' ? e.task : NULL,
                 .model_fingerprint = e.model_fingerprint};
    int status = t2_peft_write(&p, out, &err);
    if (status == 0)
        fprintf(stderr, "t2 export: wrote %s (PEFT LoRA adapter: %d matrices, r %lld, "
                "lora_alpha %g, %lld parameters of expert '%s')\n", out, e.n,
                (long long)p.r, p.lora_alpha, (long long)e.n_params, e.name);
    t2_expert_free(&e);
    return status == 0 ? T2_EXIT_OK : t2_cli_fail_error(cmd, &err);
}

/* The last path component of dir, without trailing slashes (heap). */
static char *folder_name(const char *dir) {
    size_t end = strlen(dir);
    while (end > 1 && dir[end - 1] == '/') end--;
    size_t start = end;
    while (start > 0 && dir[start - 1] != '/') start--;
    return t2_strdup_printf("%.*s", (int)(end - start), dir + start);
}

/* The fingerprint the expert is made for into fp: model_dir's (each matrix checked against
 * its tensors), else the folder's recorded one. 0, or -1 with err. */
static int target_model(const t2_peft *p, const char *peft_dir, const char *model_dir,
                        char fp[T2_FINGERPRINT_CHARS], t2_error *err) {
    if (model_dir == NULL) {
        if (p->model_fingerprint == NULL ||
            strlen(p->model_fingerprint) != T2_FINGERPRINT_CHARS - 1)
            return t2_error_set(err, "%s: records no t2 model fingerprint; expected --base-model "
                                "DIR, the base model the adapter was trained on", peft_dir);
        snprintf(fp, T2_FINGERPRINT_CHARS, "%s", p->model_fingerprint);
        return 0;
    }
    t2_safetensors st;
    if (t2_safetensors_open(&st, model_dir, err) != 0) return -1;
    int status = 0;
    for (int i = 0; status == 0 && i < p->n; i++) {
        const t2_tensor_info *t = t2_safetensors_find(&st, p->tensors[i]);
        if (t == NULL)
            status = t2_error_set(err, "%s: adapts %s, which %s does not hold; expected the "
                                  "adapter's base model", peft_dir, p->tensors[i], model_dir);
        else if (t->n_dims != 2 || t->shape[0] != p->rows[i] || t->shape[1] != p->cols[i])
            status = t2_error_set(err, "%s: adapts %s as [%lld, %lld] (out x in); expected "
                                  "[%lld, %lld], its shape in %s", peft_dir, p->tensors[i],
                                  (long long)p->rows[i], (long long)p->cols[i],
                                  (long long)t->shape[0],
                                  (long long)(t->n_dims > 1 ? t->shape[1] : 0), model_dir);
    }
    if (status == 0) t2_model_fingerprint(&st, fp);
    t2_safetensors_close(&st);
    if (status == 0 && p->model_fingerprint != NULL && strcmp(p->model_fingerprint, fp) != 0)
        status = t2_error_set(err, "%s: made for another base model (fingerprint %s); expected "
                              "%s (%s)", peft_dir, p->model_fingerprint, fp, model_dir);
    return status;
}

int t2_export_peft_to_expert(const char *cmd, const char *peft_dir, const char *out,
                             const char *model_dir) {
    t2_peft p;
    t2_error err = {{0}};
    if (t2_peft_read(&p, peft_dir, &err) != 0) return t2_cli_fail_error(cmd, &err);
    t2_expert e;
    memset(&e, 0, sizeof e);
    int status = target_model(&p, peft_dir, model_dir, e.model_fingerprint, &err);
    if (status == 0 && (float)p.lora_alpha != p.lora_alpha)
        fprintf(stderr, "t2 %s: note: lora_alpha %.17g is stored as the float %.9g\n", cmd,
                p.lora_alpha, (double)(float)p.lora_alpha);
    if (status == 0) {
        e.name = p.name != NULL ? t2_strdup(p.name) : folder_name(peft_dir);
        e.task = t2_strdup(p.task != NULL ? p.task : "");
        e.config = t2_strdup("");
        e.options = (t2_adapter_options){.method = T2_ADAPTER_LORA, .lora_rank = p.r,
                                         .lora_alpha = (float)p.lora_alpha};
        e.n = p.n;
        e.tensors = p.tensors;
        e.rows = p.rows;
        e.cols = p.cols;
        e.params = p.params;
        e.n_params = p.n_params;
        p.tensors = NULL; /* the expert owns them now */
        p.rows = p.cols = NULL;
        p.params = NULL;
        e.offsets = t2_alloc_array((size_t)e.n, sizeof *e.offsets);
        e.lengths = t2_alloc_array((size_t)e.n, sizeof *e.lengths);
        int64_t offset = 0;
        for (int i = 0; i < e.n; i++) {
            e.offsets[i] = offset;
            e.lengths[i] = p.r * (e.rows[i] + e.cols[i]);
            offset += e.lengths[i];
        }
        status = t2_expert_write(&e, out, &err);
    }
    if (status == 0)
        fprintf(stderr, "t2 %s: wrote %s (LoRA expert '%s': %d matrices, rank %lld, alpha %g, "
                "%lld parameters, for model %s)\n", cmd, out, e.name, e.n,
                (long long)e.options.lora_rank, (double)e.options.lora_alpha,
                (long long)e.n_params, e.model_fingerprint);
    t2_expert_free(&e);
    t2_peft_free(&p);
    return status == 0 ? T2_EXIT_OK : t2_cli_fail_error(cmd, &err);
}
