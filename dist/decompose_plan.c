/* The decomposition schedule (see decompose.h): big matrices in rounds of rank groups,
 * everything else longest-processing-time-first over single ranks. Pure and deterministic
 * (no MPI): every rank computes the same plan from the same shapes. */
#include "dist/decompose.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"

typedef struct item {
    int index;
    double cost;       /* nominal flops */
    int64_t bytes;     /* single-process working set */
    int64_t replicated; /* per-rank bytes a group cannot split (bidiagonal vectors, work) */
} item;

static int by_cost_desc(const void *a, const void *b) {
    const item *x = a, *y = b;
    if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
    return x->index - y->index;
}

/* Ranks a group needs so that each holds at most budget bytes (at least 1, at most ranks). */
static int ranks_needed(const item *it, int64_t budget, int ranks) {
    if (it->bytes <= budget) return 1;
    for (int g = 2; g < ranks; g++)
        if (it->bytes / g + it->replicated <= budget) return g;
    return ranks;
}

/* Splits `ranks` over the round's jobs: each gets its memory minimum, then the rest go one
 * at a time to the job furthest below its share of ranks by work. */
static void size_groups(t2_decompose_job *jobs, const item *items, const int *need, int n,
                        int ranks) {
    double total = 0.0;
    int used = 0;
    for (int j = 0; j < n; j++) {
        total += items[j].cost;
        jobs[j].ranks = need[j];
        used += need[j];
    }
    for (; used < ranks; used++) {
        int best = 0;
        double best_deficit = -1e300;
        for (int j = 0; j < n; j++) {
            double share = total > 0.0 ? ranks * items[j].cost / total : (double)ranks / n;
            double deficit = share - jobs[j].ranks;
            if (deficit > best_deficit) {
                best_deficit = deficit;
                best = j;
            }
        }
        jobs[best].ranks++;
    }
    int first = 0;
    for (int j = 0; j < n; j++) {
        jobs[j].first_rank = first;
        first += jobs[j].ranks;
    }
}

void t2_decompose_plan_make(t2_decompose_plan *plan, const int64_t *rows, const int64_t *cols,
                            int n, int ranks, int64_t memory_per_rank, t2_precision p) {
    T2_ASSERT(n >= 0 && ranks >= 1);
    memset(plan, 0, sizeof *plan);
    size_t cap = (size_t)(n > 0 ? n : 1);
    item *items = t2_alloc_array(cap, sizeof *items);
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        int64_t r = rows[i] < cols[i] ? rows[i] : cols[i];
        items[i].index = i;
        items[i].cost = t2_svd_flops(rows[i], cols[i]);
        items[i].bytes = t2_svd_lapack_bytes(p, rows[i], cols[i]);
        items[i].replicated = 5 * r * r * (int64_t)t2_precision_size(p);
        total += items[i].cost;
    }
    qsort(items, (size_t)n, sizeof *items, by_cost_desc);
    double fair = total / ranks;
    int n_big = 0;
    while (ranks > 1 && n_big < n &&
           (items[n_big].cost > fair || items[n_big].bytes > memory_per_rank))
        n_big++;

    plan->grouped = t2_alloc_array(cap, sizeof *plan->grouped);
    plan->singles = t2_alloc_array(cap, sizeof *plan->singles);
    plan->round_start = t2_alloc_array(cap + 1, sizeof *plan->round_start);
    int *need = t2_alloc_array(cap, sizeof *need);
    double *load = t2_alloc_array((size_t)ranks, sizeof *load);
    double clock = 0.0; /* estimated time when the rounds end (work units per rank) */
    for (int i = 0; i < n_big;) {
        int k = 0, used = 0;
        while (i + k < n_big && k < ranks) {
            int g = ranks_needed(&items[i + k], memory_per_rank, ranks);
            if (k > 0 && used + g > ranks) break;
            need[k++] = g;
            used += g;
        }
        t2_decompose_job *jobs = &plan->grouped[plan->n_grouped];
        size_groups(jobs, &items[i], need, k, ranks);
        double longest = 0.0;
        for (int j = 0; j < k; j++) {
            jobs[j].target = items[i + j].index;
            double t = items[i + j].cost / jobs[j].ranks;
            longest = t > longest ? t : longest;
        }
        clock += longest;
        plan->round_start[plan->n_rounds++] = plan->n_grouped;
        plan->n_grouped += k;
        i += k;
    }
    plan->round_start[plan->n_rounds] = plan->n_grouped;
    for (int r = 0; r < ranks; r++) load[r] = clock;
    for (int i = n_big; i < n; i++) {
        int best = 0;
        for (int r = 1; r < ranks; r++)
            if (load[r] < load[best]) best = r;
        load[best] += items[i].cost;
        plan->singles[plan->n_singles++] = (t2_decompose_job){items[i].index, best, 1};
    }
    t2_free(load);
    t2_free(need);
    t2_free(items);
}

void t2_decompose_plan_free(t2_decompose_plan *plan) {
    t2_free(plan->round_start);
    t2_free(plan->grouped);
    t2_free(plan->singles);
    memset(plan, 0, sizeof *plan);
}
