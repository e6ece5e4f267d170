/* `t2 decompose` across ranks (see decompose.h): open the model and select the targets on
 * every rank, fingerprint the targets (each rank hashes a share), decide on an existing
 * store (rank 0), create the temporary store with its header (rank 0) and open it
 * everywhere, run the plan (rounds of rank groups, then the single-rank matrices handed out
 * as ranks finish), collect progress reports on rank 0, agree, commit.
 * Messages: a rank group's leader sends rank 0 one small report per matrix (eager, so no
 * rank waits on rank 0); rank 0 takes them whenever it is between two matrices of its own,
 * and all the remaining ones at the end. A single-rank matrix's report rides on its rank's
 * next request to the hand-out (dist/handout.h). Per-matrix work is in decompose_matrix.c,
 * the plan in decompose_plan.c. */
#include "dist/decompose.h"

#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/progress.h"
#include "dist/decompose_matrix.h"
#include "dist/handout.h"

enum { TAG_REPORT = 7341, REPORT_FIELDS = 9 };

typedef struct run {
    const t2_runtime *rt;
    const t2_decompose_options *opts;
    MPI_Comm world;               /* a duplicate of MPI_COMM_WORLD for this run's messages */
    t2_safetensors st;
    t2_target_list targets;
    char options[64];             /* the result-changing options, as recorded in the store */
    t2_decomposition_layout layout;
    t2_decomposition_writer writer;
    int writer_open;
    t2_decompose_plan plan;
    t2_progress progress;         /* rank 0 */
    int reported;                 /* rank 0: reports recorded */
    t2_decompose_result *result;
} run;

void t2_decompose_result_free(t2_decompose_result *result) {
    for (int i = 0; result->names != NULL && i < result->matrices; i++) t2_free(result->names[i]);
    t2_free(result->names);
    t2_free(result->rows);
    t2_free(result->cols);
    t2_free(result->reports);
    memset(result, 0, sizeof *result);
}

static int open_inputs(run *r, t2_error *err) {
    int status = t2_safetensors_open(&r->st, r->opts->model, err);
    if (t2_decompose_agree(r->world, status, err) != 0) return -1;
    status = t2_targets_select(&r->targets, &r->st, r->opts->model, &r->opts->targets, err);
    return t2_decompose_agree(r->world, status, err);
}

/* Each rank hashes every size-th target; the XOR of the zero-padded arrays is the list. */
static uint64_t source_fingerprint(run *r) {
    int n = r->targets.n;
    uint64_t *hashes = t2_alloc_array((size_t)n, sizeof *hashes);
    for (int i = r->rt->rank; i < n; i += r->rt->size)
        hashes[i] = t2_decomposition_tensor_hash(r->targets.items[i].tensor);
    MPI_Allreduce(MPI_IN_PLACE, hashes, n, MPI_UINT64_T, MPI_BXOR, r->world);
    uint64_t fp = t2_decomposition_source_fingerprint(&r->targets, hashes);
    t2_free(hashes);
    return fp;
}

/* Rank 0's verdict on what is at --out: 0 decompose, 1 re-use, -1 refuse (err). */
static int judge_existing(run *r, uint64_t source, t2_error *err) {
    const char *out = r->opts->out;
    struct stat sb;
    if (stat(out, &sb) != 0) {
        if (errno == ENOENT) return 0;
        return t2_error_set(err, "%s: cannot access: %s; expected a path for the store", out,
                            strerror(errno));
    }
    if (S_ISDIR(sb.st_mode))
        return t2_error_set(err, "%s: is a folder; expected the path of a store file", out);
    if (r->opts->force) return 0;
    t2_decomposition_store store;
    int verdict = 0;
    char want[T2_FINGERPRINT_CHARS], have[T2_FINGERPRINT_CHARS];
    if (t2_decomposition_store_open(&store, out, err) != 0) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, " (the file at --out is not a store "
                 "t2 can re-use; --force replaces it)");
        verdict = -1;
    } else if (store.fingerprint == t2_decomposition_fingerprint(source, r->options)) {
        verdict = 1;
    } else if (store.source_fingerprint != source) {
        t2_fingerprint_format(store.source_fingerprint, have);
        t2_fingerprint_format(source, want);
        verdict = t2_error_set(err, "%s: holds the decomposition of other weights or targets "
                               "(source fingerprint %s, made from %s); expected %s for %s "
                               "(--force replaces it)", out, have,
                               store.model_path[0] ? store.model_path : "an unknown model",
                               want, r->opts->model);
    } else {
        verdict = t2_error_set(err, "%s: was made with other options (%s); expected %s "
                               "(--force replaces it)", out, store.options, r->options);
    }
    t2_decomposition_store_close(&store);
    return verdict;
}

/* Rank 0 judges, every rank learns the verdict (and the message). */
static int existing_store(run *r, uint64_t source, t2_error *err) {
    int verdict = r->rt->rank == 0 ? judge_existing(r, source, err) : 0;
    MPI_Bcast(&verdict, 1, MPI_INT, 0, r->world);
    if (verdict < 0) MPI_Bcast(err->msg, T2_ERROR_MAX, MPI_CHAR, 0, r->world);
    return verdict;
}

static int open_writer(run *r, t2_error *err) {
    long id = (long)getpid();
    MPI_Bcast(&id, 1, MPI_LONG, 0, r->world);
    char *temp = t2_decomposition_temp_path(r->opts->out, id);
    int status = 0;
    if (r->rt->rank == 0)
        status = t2_decomposition_writer_create(&r->writer, r->opts->out, temp, &r->layout, err);
    status = t2_decompose_agree(r->world, status, err);
    if (status == 0 && r->rt->rank != 0)
        status = t2_decomposition_writer_attach(&r->writer, r->opts->out, temp, err);
    status = t2_decompose_agree(r->world, status, err);
    if (status != 0) {
        if (r->rt->rank == 0) t2_decomposition_writer_discard(&r->writer);
        else t2_decomposition_writer_free(&r->writer);
    }
    r->writer_open = status == 0;
    t2_free(temp);
    return status;
}

/* Rank 0: files one report {target, ok, ranks, seconds, residual, u_orth, v_orth,
 * descending, unused} and shows progress. */
static void record(run *r, const double *msg) {
    int target = (int)msg[0];
    t2_decompose_report *rep = &r->result->reports[target];
    rep->done = 1;
    rep->ok = msg[1] != 0.0;
    rep->ranks = (int)msg[2];
    rep->seconds = msg[3];
    rep->check = (t2_svd_check){msg[4], msg[5], msg[6], msg[7] != 0.0};
    r->reported++;
    const t2_target *t = &r->targets.items[target];
    char note[320];
    snprintf(note, sizeof note, "%s %lldx%lld on %d rank%s %.2fs%s", t->name, (long long)t->rows,
             (long long)t->cols, rep->ranks, rep->ranks > 1 ? "s" : "", rep->seconds,
             rep->ok ? "" : " FAILED");
    t2_progress_update(&r->progress, r->reported, note);
}

/* Rank 0: records the reports that have arrived (all of them when wait). */
static void collect(run *r, int wait) {
    while (r->reported < r->targets.n) {
        MPI_Status st;
        int flag = 1;
        if (!wait) MPI_Iprobe(MPI_ANY_SOURCE, TAG_REPORT, r->world, &flag, &st);
        if (!flag) return;
        double msg[REPORT_FIELDS];
        MPI_Recv(msg, REPORT_FIELDS, MPI_DOUBLE, MPI_ANY_SOURCE, TAG_REPORT, r->world, &st);
        record(r, msg);
    }
}

static void report_fields(double *msg, int target, int ok, int ranks,
                          const t2_decompose_outcome *o) {
    const double fields[REPORT_FIELDS] = {target, ok, ranks, o->seconds, o->check.residual,
                                          o->check.u_orth, o->check.v_orth, o->check.descending,
                                          0};
    memcpy(msg, fields, sizeof fields);
}

static void report(run *r, int target, int ok, int ranks, const t2_decompose_outcome *o) {
    double msg[REPORT_FIELDS];
    report_fields(msg, target, ok, ranks, o);
    if (r->rt->rank == 0) record(r, msg);
    else MPI_Send(msg, REPORT_FIELDS, MPI_DOUBLE, 0, TAG_REPORT, r->world);
}

static void record_note(void *ctx, const double *note) { record(ctx, note); }

/* One matrix on this rank alone, skipped (-1) once this rank has failed; the first error
 * kept in err. */
static int decompose_single(const t2_decompose_work *work, int target, int *failed,
                            t2_decompose_outcome *o, t2_error *err) {
    t2_error local = {{0}};
    int status = *failed ? -1 : t2_decompose_matrix_local(work, target, o, &local);
    if (status != 0 && !*failed) *err = local;
    *failed |= status != 0;
    return status;
}

/* The single-rank matrices, largest first, each to whichever rank asks next: measured times
 * differ from the nominal flops a static plan goes by (rank 1's share took 38 % longer than
 * rank 0's on the default model). Each rank's report rides on its next request, so rank 0
 * records it even while it decomposes. Without a thread-capable MPI, the plan's static
 * assignment. */
static void run_singles(run *r, const t2_decompose_work *work, int *failed, t2_error *err) {
    const t2_decompose_plan *plan = &r->plan;
    if (!r->rt->threads_ok) {
        for (int i = 0; i < plan->n_singles; i++) {
            const t2_decompose_job *job = &plan->singles[i];
            if (job->first_rank != r->rt->rank) continue;
            t2_decompose_outcome o = {0};
            int status = decompose_single(work, job->target, failed, &o, err);
            report(r, job->target, status == 0, 1, &o);
            if (r->rt->rank == 0) collect(r, 0);
        }
        return;
    }
    t2_handout handout;
    t2_handout_start_noted(&handout, r->rt, plan->n_singles, REPORT_FIELDS, record_note, r);
    double msg[REPORT_FIELDS];
    const double *note = NULL;
    for (int64_t i; (i = t2_handout_next_noted(&handout, note)) >= 0; note = msg) {
        int target = plan->singles[i].target;
        t2_decompose_outcome o = {0};
        int status = decompose_single(work, target, failed, &o, err);
        report_fields(msg, target, status == 0, 1, &o);
    }
    t2_handout_finish(&handout);
}

/* Runs this rank's part of the plan; 0, or -1 with the first local error in err. */
static int execute(run *r, t2_error *err) {
    const t2_decompose_plan *plan = &r->plan;
    t2_decompose_work work = {r->opts, &r->targets, &r->layout, &r->writer};
    int me = r->rt->rank, failed = 0;
    /* Every round's group communicator, split up front so that no round waits for ranks
     * still busy in an earlier one. */
    MPI_Comm *comms = t2_alloc_array((size_t)(plan->n_rounds + 1), sizeof *comms);
    const t2_decompose_job **mine = t2_alloc_array((size_t)(plan->n_rounds + 1), sizeof *mine);
    for (int k = 0; k < plan->n_rounds; k++) {
        for (int j = plan->round_start[k]; j < plan->round_start[k + 1]; j++) {
            const t2_decompose_job *job = &plan->grouped[j];
            if (me >= job->first_rank && me < job->first_rank + job->ranks) mine[k] = job;
        }
        MPI_Comm_split(r->world, (int)(mine[k] - plan->grouped), me, &comms[k]);
    }
    for (int k = 0; k < plan->n_rounds; k++) {
        const t2_decompose_job *job = mine[k];
        t2_decompose_outcome o = {0};
        int status;
        if (job->ranks == 1) {
            status = decompose_single(&work, job->target, &failed, &o, err);
        } else { /* collective over the group: run even after a failure here */
            t2_error local = {{0}};
            t2_blacs_grid bg;
            t2_blacs_grid_init(&bg, comms[k]);
            status = t2_decompose_matrix_group(&work, job->target, comms[k], &bg, &o, &local);
            t2_blacs_grid_free(&bg);
            if (status != 0 && !failed) *err = local;
            failed |= status != 0;
        }
        if (me == job->first_rank) report(r, job->target, status == 0, job->ranks, &o);
        if (me == 0) collect(r, 0);
        MPI_Comm_free(&comms[k]);
    }
    run_singles(r, &work, &failed, err);
    if (me == 0) collect(r, 1);
    t2_free(mine);
    t2_free(comms);
    return failed ? -1 : 0;
}

/* Agrees on the outcome, closes every handle and commits (or removes) the file. */
static int finish(run *r, int status, t2_error *err) {
    status = t2_decompose_agree(r->world, status, err);
    t2_error close_err = {{0}};
    int closed = t2_decomposition_writer_close(&r->writer, &close_err);
    if (status == 0) {
        status = t2_decompose_agree(r->world, closed, &close_err);
        if (status != 0) *err = close_err;
    }
    int committed = 0;
    if (r->rt->rank == 0) {
        if (status == 0) committed = t2_decomposition_writer_commit(&r->writer, err);
        else t2_decomposition_writer_discard(&r->writer);
    } else {
        t2_decomposition_writer_free(&r->writer);
    }
    r->writer_open = 0;
    if (status == 0) {
        MPI_Bcast(&committed, 1, MPI_INT, 0, r->world);
        if (committed != 0) MPI_Bcast(err->msg, T2_ERROR_MAX, MPI_CHAR, 0, r->world);
        status = committed;
    }
    return status;
}

static int64_t default_memory(const run *r) {
    int64_t bytes = (int64_t)sysconf(_SC_PHYS_PAGES) * (int64_t)sysconf(_SC_PAGE_SIZE);
    int per_node = r->rt->ranks_on_node > 0 ? r->rt->ranks_on_node : 1;
    int64_t mine = bytes / per_node / 2, least = 0;
    MPI_Allreduce(&mine, &least, 1, MPI_INT64_T, MPI_MIN, r->world);
    return least;
}

/* Result bookkeeping on rank 0 (names and shapes of the targets). */
static void describe_targets(run *r) {
    t2_decompose_result *res = r->result;
    res->matrices = r->targets.n;
    for (int i = 0; i < r->targets.n; i++)
        res->flops += t2_svd_flops(r->targets.items[i].rows, r->targets.items[i].cols);
    if (r->rt->rank != 0) return;
    size_t n = (size_t)r->targets.n;
    res->names = t2_alloc_array(n, sizeof *res->names);
    res->rows = t2_alloc_array(n, sizeof *res->rows);
    res->cols = t2_alloc_array(n, sizeof *res->cols);
    res->reports = t2_alloc_array(n, sizeof *res->reports);
    for (size_t i = 0; i < n; i++) {
        res->names[i] = t2_strdup(r->targets.items[i].name);
        res->rows[i] = r->targets.items[i].rows;
        res->cols[i] = r->targets.items[i].cols;
    }
}

static int decompose(run *r, t2_error *err) {
    if (open_inputs(r, err) != 0) return -1;
    describe_targets(r);
    snprintf(r->options, sizeof r->options, "precision=%s", t2_precision_name(r->opts->precision));
    uint64_t source = source_fingerprint(r);
    t2_fingerprint_format(t2_decomposition_fingerprint(source, r->options), r->result->fingerprint);
    int verdict = existing_store(r, source, err);
    if (verdict != 0) {
        r->result->reused = verdict > 0;
        return verdict > 0 ? 0 : -1;
    }
    t2_decomposition_layout_init(&r->layout, &r->targets, source, r->options, r->opts->model);
    r->result->store_bytes = r->layout.file_bytes;
    if (open_writer(r, err) != 0) return -1;

    int n = r->targets.n;
    int64_t *rows = t2_alloc_array((size_t)n, sizeof *rows),
            *cols = t2_alloc_array((size_t)n, sizeof *cols);
    for (int i = 0; i < n; i++) {
        rows[i] = r->targets.items[i].rows;
        cols[i] = r->targets.items[i].cols;
    }
    int64_t budget = r->opts->memory_per_rank > 0 ? r->opts->memory_per_rank : default_memory(r);
    t2_decompose_plan_make(&r->plan, rows, cols, n, r->rt->size, budget, r->opts->precision);
    t2_free(rows);
    t2_free(cols);
    for (int j = 0; j < r->plan.n_grouped; j++) r->result->grouped += r->plan.grouped[j].ranks > 1;
    t2_log(T2_LOG_INFO, "decompose: %d matrices over %d rank%s (%d on rank groups, the rest "
           "whole on one rank each), %s precision, store %.1f MB", n, r->rt->size,
           r->rt->size > 1 ? "s" : "", r->result->grouped, t2_precision_name(r->opts->precision),
           (double)r->layout.file_bytes / 1e6);

    double start = t2_time_now();
    t2_progress_init(&r->progress, "decompose", n);
    int status = execute(r, err);
    status = finish(r, status, err);
    t2_progress_finish(&r->progress);
    r->result->seconds = t2_time_now() - start;
    MPI_Bcast(&r->result->seconds, 1, MPI_DOUBLE, 0, r->world);
    return status;
}

int t2_decompose_run(const t2_runtime *rt, const t2_decompose_options *opts,
                     t2_decompose_result *result, t2_error *err) {
    memset(result, 0, sizeof *result);
    run r;
    memset(&r, 0, sizeof r);
    r.rt = rt;
    r.opts = opts;
    r.result = result;
    r.writer.fd = -1;
    MPI_Comm_dup(MPI_COMM_WORLD, &r.world);
    int status = decompose(&r, err);
    if (r.writer_open) {
        if (rt->rank == 0) t2_decomposition_writer_discard(&r.writer);
        else t2_decomposition_writer_free(&r.writer);
    }
    t2_decompose_plan_free(&r.plan);
    t2_decomposition_layout_free(&r.layout);
    t2_target_list_free(&r.targets);
    t2_safetensors_close(&r.st);
    MPI_Comm_free(&r.world);
    return status;
}
