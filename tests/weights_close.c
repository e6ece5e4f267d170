/* weights_close A B ATOL RTOL: exit 0 when two safetensors files (or model folders) hold the
 * same tensors with values equal to |a - b| <= ATOL + RTOL |b|; prints the worst difference
 * and, on failure, the first tensor that differs. For shell tests that compare models trained
 * on different rank counts (same maths, sums in another order). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "model/safetensors.h"

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: weights_close A B ATOL RTOL\n");
        return 2;
    }
    double atol = atof(argv[3]), rtol = atof(argv[4]);
    t2_safetensors a, b;
    t2_error err = {{0}};
    if (t2_safetensors_open(&a, argv[1], &err) != 0 || t2_safetensors_open(&b, argv[2], &err) != 0) {
        fprintf(stderr, "weights_close: %s\n", err.msg);
        return 1;
    }
    int ok = a.n_tensors == b.n_tensors;
    double worst = 0.0;
    const char *worst_name = "";
    for (int i = 0; ok && i < a.n_tensors; i++) {
        const t2_tensor_info *ta = &a.tensors[i];
        const t2_tensor_info *tb = t2_safetensors_find(&b, ta->name);
        if (tb == NULL || tb->n_elements != ta->n_elements) {
            fprintf(stderr, "weights_close: tensor %s missing or misshapen in %s\n", ta->name, argv[2]);
            ok = 0;
            break;
        }
        float *va = t2_alloc_array((size_t)ta->n_elements, sizeof *va);
        float *vb = t2_alloc_array((size_t)ta->n_elements, sizeof *vb);
        t2_safetensors_read_f32(ta, 0, ta->n_elements, va, &err);
        t2_safetensors_read_f32(tb, 0, tb->n_elements, vb, &err);
        for (int64_t j = 0; j < ta->n_elements; j++) {
            double d = fabs((double)va[j] - vb[j]);
            if (d > worst) {
                worst = d;
                worst_name = ta->name;
            }
            if (d > atol + rtol * fabs(vb[j]) && ok) {
                fprintf(stderr, "weights_close: %s[%lld] = %.9g vs %.9g\n", ta->name,
                        (long long)j, va[j], vb[j]);
                ok = 0;
            }
        }
        t2_free(va);
        t2_free(vb);
    }
    printf("weights_close: worst |a - b| = %.3g (%s)\n", worst, worst_name);
    t2_safetensors_close(&a);
    t2_safetensors_close(&b);
    return ok ? 0 : 1;
}
