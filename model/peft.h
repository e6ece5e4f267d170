/* PEFT LoRA adapter folders: the form Hugging Face peft saves a LoRA adapter in
 * (PeftModel.save_pretrained), so a t2 LoRA expert runs in transformers, vLLM and the other
 * tools that load PEFT adapters, and an adapter trained there can be read by t2.
 *
 * A folder holds two files:
 *   adapter_config.json        {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": k,
 *                               "lora_alpha": alpha, "target_modules": ["q_proj", ...],
 *                               "layers_to_transform": [0, 1, ...], "layers_pattern": "layers",
 *                               "base_model_name_or_path": ..., "bias": "none",
 *                               "fan_in_fan_out": false, "lora_dropout": 0.0,
 *                               "use_rslora": false, "use_dora": false, ...}
 *   adapter_model.safetensors  per adapted module M (e.g. model.layers.3.self_attn.q_proj):
 *                               "base_model.model.M.lora_A.weight"  [r, in]
 *                               "base_model.model.M.lora_B.weight"  [out, r]
 *                               (F32 when t2 writes; F32, F16, BF16 or F64 read), metadata
 *                               "format": "pt" and, from t2, name, task, method and
 *                               model_fingerprint.
 * PEFT computes W x + (alpha / r) B A x (use_rslora false), which is t2's LoRA
 * (model/adapter_lora.c: W' = W + (alpha / k) B A) with r = k: alpha is written exactly (the
 * float t2 holds, as an integer when it is one), so both scales are the same float.
 *
 * Which modules: t2 adapts model.layers.<L>.(self_attn|mlp).<x>_proj.weight. The writer lists
 * the short names (q_proj, ...) in target_modules and the layers in layers_to_transform when
 * the targets are every named kind in every listed layer; otherwise target_modules lists the
 * full module names, which PEFT matches exactly. The reader accepts either form, or a regular
 * expression (kept as text, not evaluated), and checks each tensor pair against the config.
 *
 * Not supported (the reader refuses them, one line each): other peft_types, use_rslora or
 * use_dora true, fan_in_fan_out true, bias other than "none", modules_to_save,
 * rank_pattern / alpha_pattern entries, modules other than a block's linear weights.
 * lora_dropout is read and shown (it only matters in training). Single-process; no MPI.
 * Reference: huggingface/peft (LoraConfig, get_peft_model_state_dict), Hu et al. 2021. */
#ifndef T2_MODEL_PEFT_H
#define T2_MODEL_PEFT_H

#include <stdint.h>

#include "base/error.h"
#include "model/safetensors.h"

typedef struct t2_peft {
    char *base_model;          /* base_model_name_or_path, or NULL (owned) */
    char *task_type;           /* e.g. "CAUSAL_LM", or NULL (owned) */
    int64_t r;                 /* rank, >= 1 */
    double lora_alpha;         /* scale = lora_alpha / r */
    double lora_dropout;       /* read and shown; t2 writes 0 */
    int n_modules;             /* target_modules as a list ... */
    char **target_modules;     /* [n_modules] (owned), NULL when a string */
    char *target_regex;        /* ... or as one string (owned), else NULL */
    int n_layers;              /* layers_to_transform: [n_layers] (owned), NULL when absent */
    int64_t *layers_to_transform;
    int n;                     /* adapted matrices */
    char **tensors;            /* [n] their weight names, model.layers.L.<..>_proj.weight,
                                  in name order (owned) */
    int64_t *rows, *cols;      /* [n] each matrix's out x in */
    t2_dtype dtype;            /* the dtype of the file's LoRA tensors (reader) */
    float *params;             /* [n_params]: per matrix A (r x cols) then B (rows x r),
                                  row-major: t2's LoRA layout (model/adapter.h) */
    int64_t n_params;
    char *name, *task, *model_fingerprint; /* t2's metadata, NULL when absent (owned) */
} t2_peft;

/* 1 when dir is a folder holding adapter_config.json, else 0 (for `t2 inspect`). */
int t2_peft_is_folder(const char *dir);

/* Reads and checks the folder dir: 0, or -1 with err naming the file and what is wrong
 * ("<dir>: no adapter_config.json; expected a PEFT adapter folder ...", "<file>: peft_type
 * 'IA3' is not supported; expected LORA", "<file>: tensor '<key>' has shape [..]; expected
 * [r, in] = [..]", a lora_A without its lora_B, a module the config does not target, ...)
 * and p zeroed. */
int t2_peft_read(t2_peft *p, const char *dir, t2_error *err);

/* Writes p's matrices (tensors, rows, cols, r, lora_alpha, params; base_model, name, task and
 * model_fingerprint when set) as a PEFT folder dir, created if missing (its parent must
 * exist). target_modules and layers_to_transform are derived from the tensor names (above);
 * p's own fields for them, dtype and lora_dropout are ignored. Each file is written
 * atomically, the safetensors first. 0, or -1 with err (a tensor name that is not a block's
 * linear weight, an unwritable folder). */
int t2_peft_write(const t2_peft *p, const char *dir, t2_error *err);

/* Accepts a zeroed or half-built struct; may run twice. */
void t2_peft_free(t2_peft *p);

#endif
