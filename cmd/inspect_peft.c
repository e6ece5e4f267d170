/* `t2 inspect` on a PEFT LoRA adapter folder (cmd/inspect_expert.h; model/peft.h reads and
 * checks it): its config, the t2 metadata it records, every adapted matrix with its two LoRA
 * tensors' shapes, and the parameter count. Output only. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "cmd/cli.h"
#include "cmd/inspect_expert.h"
#include "model/peft.h"

int t2_inspect_peft_folder(const char *cmd, const char *path) {
    t2_peft p;
    t2_error err = {{0}};
    if (t2_peft_read(&p, path, &err) != 0) return t2_cli_fail_error(cmd, &err);
    printf("peft adapter: %s\n", path);
    printf("  %-26s %s\n", "peft_type", "LORA");
    printf("  %-26s %s\n", "task_type", p.task_type ? p.task_type : "(none)");
    printf("  %-26s %s\n", "base_model_name_or_path", p.base_model ? p.base_model : "(none)");
    printf("  %-26s %lld\n", "r", (long long)p.r);
    printf("  %-26s %.9g (scale lora_alpha / r = %.9g)\n", "lora_alpha", p.lora_alpha,
           p.lora_alpha / (double)p.r);
    printf("  %-26s %g\n", "lora_dropout", p.lora_dropout);
    printf("  %-26s", "target_modules");
    if (p.target_regex != NULL) printf(" regex '%s'", p.target_regex);
    for (int i = 0; i < p.n_modules; i++) printf("%s%s", i ? ", " : " ", p.target_modules[i]);
    printf("\n");
    if (p.layers_to_transform != NULL) {
        printf("  %-26s", "layers_to_transform");
        for (int i = 0; i < p.n_layers; i++)
            printf("%s%lld", i ? ", " : " ", (long long)p.layers_to_transform[i]);
        printf("\n");
    }
    if (p.name != NULL) printf("  %-26s %s\n", "t2 expert name", p.name);
    if (p.task != NULL) printf("  %-26s %s\n", "t2 task", p.task);
    if (p.model_fingerprint != NULL)
        printf("  %-26s %s\n", "model fingerprint", p.model_fingerprint);
    int width = 4;
    for (int i = 0; i < p.n; i++)
        if ((int)strlen(p.tensors[i]) > width) width = (int)strlen(p.tensors[i]);
    printf("matrices: %d (%s)\n", p.n, t2_dtype_name(p.dtype));
    for (int i = 0; i < p.n; i++) {
        char shape[48], a[48], b[48];
        snprintf(shape, sizeof shape, "[%lld, %lld]", (long long)p.rows[i], (long long)p.cols[i]);
        snprintf(a, sizeof a, "[%lld, %lld]", (long long)p.r, (long long)p.cols[i]);
        snprintf(b, sizeof b, "[%lld, %lld]", (long long)p.rows[i], (long long)p.r);
        printf("  %-*s  %-12s  lora_A %-12s  lora_B %-12s  %lld parameters\n", width,
               p.tensors[i], shape, a, b, (long long)(p.r * (p.rows[i] + p.cols[i])));
    }
    printf("parameters: %lld\n", (long long)p.n_params);
    t2_peft_free(&p);
    return T2_EXIT_OK;
}
