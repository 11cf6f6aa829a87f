/* loop.c - the training run (see loop.h). */
#include "alphanet/common.h"
#include "alphanet/train/loop.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alphanet/io/batch.h"
#include "alphanet/io/prefetch.h"
#include "alphanet/io/checkpoint.h"
#include "alphanet/io/h5.h"
#include "alphanet/io/dataset.h"
#include "alphanet/nn/supernet.h"
#include "alphanet/rng.h"
#include "alphanet/train/step.h"

static an_status mkdir_p(const char *path)
{
    char buf[AN_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return an_error(AN_ERR_IO, "cannot create folder '%s': %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return an_error(AN_ERR_IO, "cannot create run folder '%s': %s", buf, strerror(errno));
    return AN_OK;
}

static void fmt_time(double s, char *buf, size_t cap)
{
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, cap, "%lds", t);
}

/* The coordinator's plan for one step. */
static void make_plan(const an_config *cfg, an_rng *rng, an_plan *p)
{
    const an_space *s = &cfg->space;
    int k = 0;
    an_arch_largest(s, &p->arch[k++]);
    for (int i = 0; i < cfg->train.num_random && k < AN_MAX_SUBNETS - 1; i++) an_arch_sample(s, rng, &p->arch[k++]);
    if (cfg->train.sandwich) an_arch_smallest(s, &p->arch[k++]);
    else an_arch_sample(s, rng, &p->arch[k++]);
    p->nsub = k;
}

static const char *sub_label(int s, int nsub, int sandwich, char *buf)
{
    if (s == 0) return "max";
    if (s == nsub - 1 && sandwich) return "min";
    snprintf(buf, 8, "r%d", s % 100);
    return buf;
}

/* Sum of per-subnet statistics, as doubles, for reduction over ranks. */
#define NSTAT 12
static void pack(const an_substats *st, int nsub, double *v)
{
    for (int s = 0; s < nsub; s++) {
        const an_substats *x = &st[s];
        double *o = v + s * NSTAT;
        o[0] = x->loss_sum, o[1] = x->correct, o[2] = x->samples, o[3] = x->ds.divergence, o[4] = x->ds.surrogate;
        o[5] = (double)x->ds.chose_min, o[6] = (double)x->ds.clipped, o[7] = (double)x->ds.weights;
        o[8] = x->ds.h_teacher, o[9] = x->ds.h_student, o[10] = x->ds.kl, o[11] = (double)x->ds.samples;
    }
}

static void write_eval(FILE *m, FILE *out, long step, double epoch, const char *split, const char *label,
                       const char *arch, double mflops, const an_eval_result *r, int quiet)
{
    if (m) {
        fprintf(m,
                "{\"kind\":\"eval\",\"step\":%ld,\"epoch\":%.4f,\"split\":\"%s\",\"subnet\":\"%s\",\"arch\":\"%s\","
                "\"mflops\":%.3f,\"top1\":%.6f,\"top5\":%.6f,\"loss\":%.6f,\"n\":%ld}\n",
                step, epoch, split, label, arch, mflops, r->top1, r->top5, r->loss, r->n);
        fflush(m);
    }
    if (!quiet)
        fprintf(out, "  eval %-4s %-5s top1 %6.2f%%%s  loss %.4f  (%.2f MFLOPs, %s)\n", split, label, 100 * r->top1,
                "", r->loss, mflops, arch);
}

an_status an_fault_parse(const char *text, an_fault_kind *kind, int *rank, long *step)
{
    static const char *const names[] = {"error", "exit", "kill", "perturb", "stop", "nan"};
    char name[16];
    int r, n = 0;
    long k;
    if (sscanf(text, "%15[a-z]@%d:%ld%n", name, &r, &k, &n) != 3 || text[n] != '\0' || r < 0 || k < 0)
        return an_error(AN_ERR_ARG, "fault '%s': expected KIND@RANK:STEP with KIND error|exit|kill|perturb|stop|nan", text);
    for (int i = 0; i < 6; i++)
        if (!strcmp(name, names[i])) {
            *kind = (an_fault_kind)(i + 1), *rank = r, *step = k;
            return AN_OK;
        }
    return an_error(AN_ERR_ARG, "fault '%s': unknown kind '%s' (error|exit|kill|perturb|stop|nan)", text, name);
}

/* 1 iff no entry is NaN or Inf (0 x v is NaN exactly for those); eight sums for speed */
static int all_finite(const float *v, size_t n)
{
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += 0.0f * v[i + k];
    for (; i < n; i++) acc[0] += 0.0f * v[i];
    float t = 0;
    for (int k = 0; k < 8; k++) t += acc[k];
    return t == 0.0f;
}

/* 64-bit digest of the optimizer state (parameters and momentum), compared between ranks. */
static uint64_t state_hash(const float *w, const float *m, size_t n)
{
    uint64_t h = 0x243F6A8885A308D3ull;
    const uint32_t *a = (const uint32_t *)w, *b = (const uint32_t *)m;
    for (size_t i = 0; i < n; i++) h = (h ^ (((uint64_t)a[i] << 32) | b[i])) * 0x100000001B3ull + (h >> 29);
    return h;
}

/* Checks that every rank holds the coordinator's parameters and momentum. */
static an_status check_replicas(const an_group *g, const an_trainer *tr, long step, double *flags)
{
    uint64_t h = state_hash(tr->net->w, tr->mom, tr->net->total), h0 = h;
    an_status st = g->bcast(g->ctx, &h0, sizeof h0, 0);
    if (st) return st;
    for (int r = 0; r < g->size; r++) flags[r] = 0;
    flags[g->rank] = h != h0;
    if ((st = g->sum_f64(g->ctx, flags, (size_t)g->size))) return st;
    char list[256] = "";
    int bad = 0;
    for (int r = 0; r < g->size; r++)
        if (flags[r] != 0) {
            size_t len = strlen(list);
            if (bad++ < 16) snprintf(list + len, sizeof list - len, "%s%d", len ? ", " : "", r);
        }
    if (!bad) return AN_OK;
    return an_error(AN_ERR_COMM,
                    "after step %ld the parameters of rank(s) %s%s differ from the coordinator's: the replicas have "
                    "diverged (a hardware or software fault); stopping",
                    step, list, bad > 16 ? ", ..." : "");
}

/* Shard weights from the ranks' measured per-sample times (seconds per sample, exponentially
 * averaged); each weight is kept within [1/2, 2] x the mean so that no shard empties or explodes. */
static void balance_weights(const double *sec_per_sample, int P, double *w)
{
    double mean = 0;
    for (int r = 0; r < P; r++) {
        w[r] = sec_per_sample[r] > 0 ? 1.0 / sec_per_sample[r] : 0;
        mean += w[r] / P;
    }
    for (int r = 0; r < P; r++) {
        if (!(mean > 0) || !(w[r] > 0)) w[r] = 1;
        else w[r] = fmin(2.0, fmax(0.5, w[r] / mean));
    }
}

static void inject_fault(const an_run_info *info, const an_group *g, an_trainer *tr, long step, an_status *local)
{
    if (info->fault == AN_FAULT_NONE || info->fault_rank != g->rank || info->fault_step != step) return;
    switch (info->fault) {
    case AN_FAULT_ERROR:
        *local = an_error(AN_ERR_IO, "injected fault at step %ld", step);
        break;
    case AN_FAULT_EXIT:
        fprintf(stderr, "alphanet: rank %d exits at step %ld (injected fault)\n", g->rank, step);
        _exit(3);
    case AN_FAULT_KILL:
        fprintf(stderr, "alphanet: rank %d kills itself at step %ld (injected fault)\n", g->rank, step);
        raise(SIGKILL);
        break;
    case AN_FAULT_PERTURB:
        tr->net->w[tr->net->total / 2] += 1e-3f;
        break;
    case AN_FAULT_STOP:
        if (info->stop_flag) *info->stop_flag = 1;
        break;
    case AN_FAULT_NAN:
        tr->grad[0] = NAN;
        break;
    default:
        break;
    }
}

/* ---- checkpoints and resume (rank 0 does the file work; everyone agrees on the outcome) ---- */

static char *config_text(const an_config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return NULL;
    an_config_dump(cfg, m);
    fclose(m);
    return buf;
}

static char *file_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[65536];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = 2 * (len + n + 1);
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf) buf = calloc(1, 1);
    else buf[len] = '\0';
    return buf;
}

/* The first line that differs between two config dumps, outside the run and dist sections
 * (which may change between a run and its resumption). */
static int config_difference(const char *a, const char *b, char *what, size_t cap)
{
    char sec_a[32] = "", sec_b[32] = "";
    for (;;) {
        /* next lines, skipping run/dist sections */
        const char *ea, *eb;
        for (;;) {
            if (!*a) break;
            ea = strchr(a, '\n');
            if (a[0] != ' ') sscanf(a, "%31[^:]", sec_a);
            if (strcmp(sec_a, "run") && strcmp(sec_a, "dist")) break;
            a = ea ? ea + 1 : a + strlen(a);
        }
        for (;;) {
            if (!*b) break;
            eb = strchr(b, '\n');
            if (b[0] != ' ') sscanf(b, "%31[^:]", sec_b);
            if (strcmp(sec_b, "run") && strcmp(sec_b, "dist")) break;
            b = eb ? eb + 1 : b + strlen(b);
        }
        if (!*a && !*b) return 0;
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || strncmp(a, b, la)) {
            snprintf(what, cap, "section %s: '%.*s' in the checkpoint, '%.*s' now", sec_b[0] ? sec_b : sec_a, (int)la, a,
                     (int)lb, b);
            return 1;
        }
        a += la + (a[la] == '\n'), b += lb + (b[lb] == '\n');
    }
}

/* Rank 0: finds and loads the checkpoint to resume from, according to run.resume. *found = 0
 * means a fresh start. Damaged checkpoints are skipped with a warning under "auto". */
static an_status find_resume(const an_config *cfg, an_supernet *net, float *mom, an_ckpt_state *state, char *used,
                             size_t cap, int *found, FILE *out)
{
    const char *mode = cfg->run.resume;
    long steps[64];
    *found = 0;
    const int n = an_ckpt_list(cfg->run.dir, steps, 64);
    if (!strcmp(mode, "none")) {
        if (n > 0 && cfg->run.checkpoint)
            return an_error(AN_ERR_ARG,
                            "run folder '%s' already holds checkpoints (newest: step %ld): continue that run with "
                            "--resume auto, or choose another run.dir (nothing was changed)",
                            cfg->run.dir, steps[0]);
        return AN_OK;
    }
    if (strcmp(mode, "auto") != 0) { /* an explicit file */
        snprintf(used, cap, "%s", mode);
        an_status st = an_h5_read_checkpoint_state(mode, state);
        if (!st) st = an_h5_read_checkpoint_tensors(mode, net, mom);
        if (st) an_ckpt_state_free(state);
        *found = st == AN_OK;
        return st;
    }
    char first_error[1024] = "";
    for (int i = 0; i < n; i++) {
        an_ckpt_path(cfg->run.dir, steps[i], used, cap);
        an_status st = an_h5_read_checkpoint_state(used, state);
        if (!st) st = an_h5_read_checkpoint_tensors(used, net, mom);
        if (!st) {
            *found = 1;
            return AN_OK;
        }
        an_ckpt_state_free(state);
        if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", an_error_message());
        fprintf(out, "warning: skipping checkpoint %s: %s\n", used, an_error_message());
    }
    if (n > 0)
        return an_error(AN_ERR_FORMAT, "none of the %d checkpoint(s) in '%s/checkpoints' can be resumed (newest: %s)", n,
                        cfg->run.dir, first_error);
    return AN_OK; /* nothing to resume: a fresh start */
}

/* Keeps the plans of the steps before `step` (a resumed run rewrites the rest). */
static an_status truncate_plans(const char *path, long step)
{
    char *text = file_text(path);
    FILE *f = fopen(path, "w");
    if (!f) {
        free(text);
        return an_error(AN_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    }
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        const size_t len = end ? (size_t)(end - line) : strlen(line);
        if (strtol(line, NULL, 10) < step) fprintf(f, "%.*s\n", (int)len, line);
        line += len + (end != NULL);
    }
    free(text);
    fclose(f);
    return AN_OK;
}

typedef struct {
    const an_config *cfg;
    const an_group *g;
    an_trainer *tr;
    long spe, sched;
    FILE *metrics, *out;
    int quiet;
} ckpt_ctx;

/* Every rank: writes the checkpoint of `step` steps done (rank 0 writes, all agree on the result). */
static an_status save_checkpoint(const ckpt_ctx *c, long step, const an_rng *coord, const double *digest,
                                 double t_train, char *path, size_t cap)
{
    const an_group *g = c->g;
    double dg[2] = {digest[0], digest[1]};
    an_status st = g->sum_f64(g->ctx, dg, 2);
    if (st) return st;
    an_ckpt_path(c->cfg->run.dir, step, path, cap);
    if (g->rank == 0) {
        const double t0 = an_now();
        an_ckpt_state s = {.step = step, .steps_per_epoch = c->spe, .schedule_steps = c->sched, .world_size = g->size,
                           .micro_batches = c->cfg->train.micro_batches, .seed = c->cfg->train.seed,
                           .data_digest = {dg[0], dg[1]}, .train_seconds = t_train};
        memcpy(s.coord_rng, coord->s, sizeof s.coord_rng);
        snprintf(s.software, sizeof s.software, "alphanet %s", an_version());
        time_t tt = time(NULL);
        strftime(s.created, sizeof s.created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&tt));
        char mpath[AN_PATH_MAX + 32], dir[AN_PATH_MAX + 32];
        snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", c->cfg->run.dir);
        snprintf(dir, sizeof dir, "%s/checkpoints", c->cfg->run.dir);
        if (c->metrics) fflush(c->metrics);
        s.config_text = config_text(c->cfg);
        s.metrics_text = file_text(mpath);
        if (!s.config_text || !s.metrics_text) st = an_error(AN_ERR_NOMEM, "cannot gather the checkpoint's texts");
        if (!st) st = mkdir_p(dir);
        if (!st) st = an_h5_write_checkpoint(path, &s, c->tr->net, c->tr->mom);
        if (!st) {
            an_ckpt_prune(c->cfg->run.dir, c->cfg->run.keep_checkpoints);
            if (!c->quiet) {
                fprintf(c->out, "  checkpoint %s (step %ld, %.2f s)\n", path, step, an_now() - t0);
                fflush(c->out);
            }
        }
        an_ckpt_state_free(&s);
    }
    return g->agree(g->ctx, st);
}

/* <run.dir>/results.json: the final test results, written (atomically) only when a run has
 * finished; batch scripts take its presence as proof of completion. */
static an_status write_results(const an_config *cfg, const an_run_info *info)
{
    char path[AN_PATH_MAX + 32], tmp[AN_PATH_MAX + 48];
    snprintf(path, sizeof path, "%s/results.json", cfg->run.dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return an_error(AN_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
    fprintf(f, "{\"steps\":%ld,\"train_seconds\":%.1f,\"images_per_s\":%.1f,\"test\":[", info->steps_done, info->seconds,
            info->images_per_s);
    for (int i = 0; i < info->nfinal; i++)
        fprintf(f, "%s\n  {\"subnet\":\"%s\",\"arch\":\"%s\",\"mflops\":%.3f,\"top1\":%.6f,\"top5\":%.6f,\"loss\":%.6f}",
                i ? "," : "", i == 0 ? "min" : i == 1 ? "max" : "arch", info->final_arch[i], info->final_mflops[i],
                info->final[i].top1, info->final[i].top5, info->final[i].loss);
    fprintf(f, "]}\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return an_error(AN_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    }
    return AN_OK;
}

/* micro-batch k of K of this rank's shard [first, first + count) of the global batch that starts
 * at position gb of the epoch order: idx[0..*n), whose first sample is sample *f of the global batch */
static void micro_batch(const long *perm, long gb, int first, int count, int K, int k, long *idx, int *n, int *f)
{
    an_shard(count, K, k, NULL, f, n);
    *f += first;
    for (int j = 0; j < *n; j++) idx[j] = perm[gb + *f + j];
}

an_status an_train_run(const an_config *cfg, const an_group *g, an_run_info *info)
{
    FILE *out = info->out ? info->out : stdout;
    const int root = g->rank == 0, quiet = info->quiet || !root;
    const an_train_cfg *t = &cfg->train;
    an_dataset train = {0}, val = {0}, test = {0};
    an_supernet net = {0};
    an_trainer tr = {0};
    FILE *metrics = NULL, *plans = NULL;
    an_prefetch *pf = NULL;
    long *perm = NULL, *perm_next = NULL, *idx = NULL, *idx_next = NULL;
    an_status st;
    double *red = NULL, *flags = NULL, *weights = NULL, *spp = NULL;
    float *acc = NULL;
    double digest[2] = {0, 0};
    an_ckpt_state resume = {0};
    int resumed = 0;
    char resume_path[AN_PATH_MAX + 64] = "";

    /* Setup. A failure on any rank (a missing file on one node, memory) is agreed on by all
     * ranks before the first collective, so that no rank waits forever for a dead peer. */
    long spe = 0, sched = 0, total = 0, warmup = 0, ramp = 0, eval_every = 0;
    const int P = g->size, K = t->micro_batches;
    int n_max = 0, B = t->batch, H = 0, C = 0, share = 0;
    if ((st = an_data_load(cfg, &train, &val, &test))) goto setup;
    H = train.h, C = train.c;
    spe = train.n / B;
    if (spe < 1) {
        st = an_error(AN_ERR_ARG, "train.batch (%d) is larger than the %ld training images", B, train.n);
        goto setup;
    }
    if (B < P * K) {
        st = an_error(AN_ERR_ARG, "train.batch (%d) must be at least ranks x train.micro_batches (%d x %d)", B, P, K);
        goto setup;
    }
    /* the schedule spans train.epochs; train.max_steps only stops the run earlier */
    sched = (long)llround(t->epochs * (double)spe);
    if (sched < 1) sched = 1;
    total = sched;
    if (t->max_steps > 0 && t->max_steps < total) total = t->max_steps;
    warmup = (long)llround(t->warmup_epochs * (double)spe);
    ramp = (long)llround(t->distill_warmup_epochs * (double)spe);
    eval_every = cfg->eval.every_epochs > 0 ? (long)fmax(1.0, llround(cfg->eval.every_epochs * (double)spe)) : 0;
    /* largest micro-batch: an even share, or up to twice that when shards follow rank speeds */
    share = (B + P - 1) / P;
    n_max = ((cfg->dist.balance && P > 1 ? (2 * share < B ? 2 * share : B) : share) + K - 1) / K;

    if ((st = an_supernet_create(&net, &cfg->space))) goto setup;
    an_supernet_init(&net, (uint64_t)t->seed);
    if ((st = an_trainer_create(&tr, cfg, &net, n_max))) goto setup;
    st = AN_ERR_NOMEM;
    if ((st = an_prefetch_create(&pf, &train, &cfg->data, n_max, cfg->data.prefetch))) goto setup;
    st = AN_ERR_NOMEM;
    if (K > 1 && !(acc = an_alloc(net.total * sizeof(float)))) goto setup;
    flags = calloc((size_t)P, sizeof(double));
    weights = malloc((size_t)P * sizeof(double));
    spp = calloc((size_t)P, sizeof(double));
    perm = malloc((size_t)train.n * sizeof(long));
    perm_next = malloc((size_t)train.n * sizeof(long));
    idx = malloc((size_t)n_max * sizeof(long));
    idx_next = malloc((size_t)n_max * sizeof(long));
    red = malloc(sizeof(double) * NSTAT * AN_MAX_SUBNETS);
    if (!flags || !weights || !spp || !perm || !perm_next || !idx || !idx_next || !red) {
        st = an_error(AN_ERR_NOMEM, "out of memory (batch buffers of %d samples)", n_max);
        goto setup;
    }
    for (int r = 0; r < P; r++) weights[r] = 1;
    st = AN_OK;
    if (root) {
        if ((st = mkdir_p(cfg->run.dir))) goto setup;
        if ((st = find_resume(cfg, &net, tr.mom, &resume, resume_path, sizeof resume_path, &resumed, stderr)))
            goto setup;
        char path[AN_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/config.yaml", cfg->run.dir);
        FILE *fc = fopen(path, "w");
        if (!fc) {
            st = an_error(AN_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
            goto setup;
        }
        fprintf(fc, "# effective configuration of this run (defaults included)\n");
        an_config_dump(cfg, fc);
        fclose(fc);
        snprintf(path, sizeof path, "%s/metrics.jsonl", cfg->run.dir);
        metrics = fopen(path, "w");
        if (metrics && resumed) fputs(resume.metrics_text, metrics); /* the history up to the checkpoint */
        snprintf(path, sizeof path, "%s/plans.log", cfg->run.dir);
        if (resumed && (st = truncate_plans(path, resume.step))) goto setup;
        plans = fopen(path, resumed ? "a" : "w");
        if (!metrics || !plans) {
            st = an_error(AN_ERR_IO, "cannot write in run folder '%s': %s", cfg->run.dir, strerror(errno));
            goto setup;
        }
    }
setup:
    if ((st = g->agree(g->ctx, st))) goto done;
    /* identical start on every rank: the coordinator's parameters (fresh or resumed) */
    struct {
        int resumed, world_size;
        long step, sched;
        uint64_t rng[4];
        double train_seconds;
    } rs = {resumed, resume.world_size, resume.step, resume.schedule_steps, {0}, resume.train_seconds};
    memcpy(rs.rng, resume.coord_rng, sizeof rs.rng);
    if ((st = g->bcast(g->ctx, &rs, sizeof rs, 0))) goto done;
    if ((st = g->bcast(g->ctx, net.w, net.total * sizeof(float), 0))) goto done;
    if (rs.resumed &&
        ((st = g->bcast(g->ctx, tr.mom, net.total * sizeof(float), 0)) ||
         (st = g->bcast(g->ctx, net.bn_mean, net.bn_total * sizeof(float), 0)) ||
         (st = g->bcast(g->ctx, net.bn_var, net.bn_total * sizeof(float), 0))))
        goto done;
    const long start_step = rs.resumed ? rs.step : 0;
    if (root && rs.resumed) {
        digest[0] = resume.data_digest[0], digest[1] = resume.data_digest[1];
        fprintf(stderr, "resuming from %s (step %ld of %ld, written by %d rank(s), %s)\n", resume_path, rs.step, total,
                rs.world_size, resume.software);
        if (rs.world_size != P || resume.micro_batches != K)
            fprintf(stderr,
                    "note: the checkpoint was written by %d rank(s) x %d micro-batch(es), this run has %d x %d: it "
                    "continues correctly but is no longer bit-identical to an uninterrupted run\n",
                    rs.world_size, resume.micro_batches, P, K);
        char *now_text = config_text(cfg), why[600];
        if (now_text && config_difference(resume.config_text, now_text, why, sizeof why))
            fprintf(stderr, "note: the config differs from the checkpoint's (%s); this run uses the new one\n", why);
        free(now_text);
    }
    if (!quiet) {
        an_arch amax, amin;
        an_arch_largest(&cfg->space, &amax);
        an_arch_smallest(&cfg->space, &amin);
        fprintf(out,
                "alphanet train: %ld training / %ld validation / %ld test images of %dx%dx%d; %d rank(s); supernet %zu "
                "parameters\n"
                "  %ld steps (%ld per epoch) of batch %d, distillation %s, subnets per step %d, largest %.2f / smallest "
                "%.2f MFLOPs\n  run folder %s\n",
                train.n, val.n, test.n, H, H, C, P, net.total, total, spe, B, an_distill_name(t->distill),
                1 + t->num_random + 1, an_arch_flops(&cfg->space, &amax) / 1e6, an_arch_flops(&cfg->space, &amin) / 1e6,
                cfg->run.dir);
        if (P > 1 || K > 1)
            fprintf(out, "  shards of %d sample(s) per rank%s, %d micro-batch(es) each\n", share,
                    cfg->dist.balance && P > 1 ? " (sized by rank speed)" : "", K);
        fflush(out);
    }

    an_rng coord;
    an_rng_seed(&coord, (uint64_t)t->seed * 0x9E3779B97F4A7C15ull + 17);
    if (rs.resumed) {
        if (rs.rng[0] | rs.rng[1] | rs.rng[2] | rs.rng[3]) {
            memcpy(coord.s, rs.rng, sizeof coord.s);
        } else {
            /* a checkpoint without a generator state (e.g. converted from a PyTorch state_dict):
             * the all-zero state would draw zeros forever, so derive one from seed and step */
            an_rng_seed(&coord, ((uint64_t)t->seed * 0x9E3779B97F4A7C15ull + 17) ^ ((uint64_t)rs.step * 0xD1B54A32D192ED03ull));
            if (root)
                fprintf(stderr, "note: the checkpoint has no subnet generator state; a new one is drawn from the seed "
                                "and step %ld\n", rs.step);
        }
    }
    const ckpt_ctx cc = {cfg, g, &tr, spe, sched, metrics, out, quiet};
    double t_last_ckpt = an_now();
    long skipped_run = 0;
    char ckpt_path[AN_PATH_MAX + 64];
    an_substats window[AN_MAX_SUBNETS];
    memset(window, 0, sizeof window);
    long cur_epoch = -1, next_epoch = -1, window_steps = 0;
    double t_start = an_now(), t_window = t_start, t_train = rs.resumed ? rs.train_seconds : 0;
    an_plan plan;
    for (long step = start_step; step < total; step++) {
        const long epoch = step / spe;
        if (epoch != cur_epoch) {
            if (epoch == next_epoch) {
                long *tp = perm;
                perm = perm_next, perm_next = tp;
            } else {
                an_epoch_order(perm, train.n, (uint64_t)t->seed, epoch);
            }
            cur_epoch = epoch;
        }
        double t0 = an_now();
        const an_rng coord_prev = coord;
        const double digest_prev[2] = {digest[0], digest[1]};
        if (root) make_plan(cfg, &coord, &plan);
        if ((st = g->bcast(g->ctx, &plan, sizeof plan, 0))) goto done;
        if (cfg->dist.balance && P > 1) {
            if (root) balance_weights(spp, P, weights);
            if ((st = g->bcast(g->ctx, weights, (size_t)P * sizeof(double), 0))) goto done;
        }
        if (root && plans) {
            fprintf(plans, "%ld", step);
            for (int s = 0; s < plan.nsub; s++) {
                char a[AN_ARCH_TEXT_MAX];
                an_arch_format(&plan.arch[s], a, sizeof a);
                fprintf(plans, " | %s", a);
            }
            fputc('\n', plans);
        }
        /* this rank's shard of the global batch, run as K micro-batches */
        int first, count;
        an_shard(B, P, g->rank, cfg->dist.balance && P > 1 ? weights : NULL, &first, &count);
        info->last_shard = count;
        const long gb = (step % spe) * B;
        const double w_distill = an_distill_weight(step, ramp);
        an_substats st_step[AN_MAX_SUBNETS];
        memset(st_step, 0, sizeof st_step);
        an_status local = AN_OK;
        for (int k = 0; k < K && local == AN_OK; k++) {
            int f, n;
            micro_batch(perm, gb, first, count, K, k, idx, &n, &f);
            for (int j = 0; j < n; j++) {
                const uint64_t h = an_hash3((uint64_t)step, (uint64_t)(f + j), (uint64_t)idx[j]);
                digest[0] += (double)(h >> 40), digest[1] += (double)((h >> 16) & 0xFFFFFF);
            }
            float *x;
            int *labels;
            local = an_prefetch_get(pf, idx, n, 1, (uint64_t)t->seed, epoch, &x, &labels);
            if (local) break;
            /* the next micro-batch, made while this one trains: the rest of this shard, or the
             * first part of the next step's (with the shard sizes of this step) */
            if (k + 1 < K || step + 1 < total) {
                const long nstep = k + 1 < K ? step : step + 1, nepoch = nstep / spe;
                if (nepoch != epoch && next_epoch != nepoch) {
                    an_epoch_order(perm_next, train.n, (uint64_t)t->seed, nepoch);
                    next_epoch = nepoch;
                }
                int nf, nn;
                micro_batch(nepoch != epoch ? perm_next : perm, (nstep % spe) * B, first, count, K, (k + 1) % K, idx_next,
                            &nn, &nf);
                an_prefetch_submit(pf, idx_next, nn, 1, (uint64_t)t->seed, nepoch);
            }
            local = an_step_local(&tr, &plan, x, H, H, labels, n, f, B, step, w_distill, st_step);
            if (K > 1 && local == AN_OK) {
                /* each micro-batch's gradient is summed on its own, then added: the same
                 * arithmetic as a sum over ranks */
                if (k == 0) memcpy(acc, tr.grad, net.total * sizeof(float));
                else
                    for (size_t i = 0; i < net.total; i++) acc[i] += tr.grad[i];
            }
        }
        if (K > 1 && local == AN_OK) memcpy(tr.grad, acc, net.total * sizeof(float));
        inject_fault(info, g, &tr, step, &local);
        const double t1 = an_now();
        /* A NaN or Inf: a loss on some rank (agreed), or the summed gradient (the same on every
         * rank), so every rank takes the same decision. */
        char bad[600] = "";
        if ((st = g->agree(g->ctx, local))) {
            if (st != AN_ERR_NUMERIC) goto done;
            snprintf(bad, sizeof bad, "%s", an_error_message());
        }
        const double t2 = an_now();
        if (!bad[0]) {
            if ((st = g->sum_f32(g->ctx, tr.grad, net.total))) goto done;
            if (!all_finite(tr.grad, net.total)) snprintf(bad, sizeof bad, "step %ld: the summed gradient has NaN or Inf entries", step);
        }
        const double t3 = an_now();
        if (bad[0]) {
            skipped_run++;
            info->skipped++;
            if (!t->nonfinite_skip || skipped_run > t->max_skips) {
                /* stop with a checkpoint of the last good state: before this step */
                char path[AN_PATH_MAX + 64] = "";
                if (cfg->run.checkpoint &&
                    (st = save_checkpoint(&cc, step, &coord_prev, digest_prev, t_train, path, sizeof path)))
                    goto done;
                st = an_error(AN_ERR_NUMERIC, "%s; stopped (train.nonfinite: %s)%s%s", bad,
                              t->nonfinite_skip ? "skip, but more than train.max_skips in a row" : "stop",
                              path[0] ? "; the last good state is in " : "", path);
                goto done;
            }
            if (root)
                fprintf(stderr, "warning: %s; step skipped (%ld so far; train.nonfinite: skip)\n", bad, info->skipped);
        } else {
            skipped_run = 0;
            an_step_apply(&tr, an_lr_at(t, step, sched, warmup));
        }
        const double t4 = an_now();
        if (cfg->dist.balance && P > 1) {
            /* every rank's seconds per sample, for the coordinator's next shard sizes */
            for (int r = 0; r < P; r++) flags[r] = 0;
            flags[g->rank] = (t1 - t0) / (count > 0 ? count : 1);
            if ((st = g->sum_f64(g->ctx, flags, (size_t)P))) goto done;
            for (int r = 0; r < P; r++) spp[r] = step == 0 ? flags[r] : 0.8 * spp[r] + 0.2 * flags[r];
        }
        if (cfg->dist.check_every > 0 && P > 1 && ((step + 1) % cfg->dist.check_every == 0 || step + 1 == total))
            if ((st = check_replicas(g, &tr, step + 1, flags))) goto done;
        const double t5 = an_now();
        info->t_compute += (t1 - t0) + (t4 - t3);
        info->t_wait += t2 - t1;
        info->t_comm += (t3 - t2) + (t5 - t4);
        t_train += t5 - t0;
        /* a stop request (signal on any rank) or a checkpoint due by time (rank 0's clock) */
        double ctl[2] = {info->stop_flag && *info->stop_flag ? 1 : 0,
                         root && cfg->run.checkpoint_minutes > 0 && an_now() - t_last_ckpt >= 60 * cfg->run.checkpoint_minutes};
        if ((st = g->sum_f64(g->ctx, ctl, 2))) goto done;
        const int stop = ctl[0] > 0, last_step = step + 1 == total;
        const int by_steps = cfg->run.checkpoint_every > 0 && (step + 1) % cfg->run.checkpoint_every == 0;
        if (cfg->run.checkpoint && !last_step && (stop || by_steps || ctl[1] > 0)) {
            if ((st = save_checkpoint(&cc, step + 1, &coord, digest, t_train, ckpt_path, sizeof ckpt_path))) goto done;
            t_last_ckpt = an_now();
        }
        if (stop) {
            if (cfg->run.checkpoint)
                st = an_error(AN_STOPPED, "stopped by a signal after step %ld of %ld; checkpoint %s written: continue with "
                              "--resume auto", step + 1, total, ckpt_path);
            else
                st = an_error(AN_STOPPED, "stopped by a signal after step %ld of %ld (checkpoints are off: nothing saved)",
                              step + 1, total);
            goto done;
        }
        for (int s = 0; s < plan.nsub; s++) {
            an_substats *w = &window[s], *v = &st_step[s];
            w->loss_sum += v->loss_sum, w->correct += v->correct, w->samples += v->samples;
            w->ds.divergence += v->ds.divergence, w->ds.surrogate += v->ds.surrogate, w->ds.chose_min += v->ds.chose_min;
            w->ds.clipped += v->ds.clipped, w->ds.weights += v->ds.weights, w->ds.h_teacher += v->ds.h_teacher;
            w->ds.h_student += v->ds.h_student, w->ds.kl += v->ds.kl, w->ds.samples += v->ds.samples;
        }
        window_steps++;
        const int last = step + 1 == total;
        if ((step + 1) % cfg->run.log_every == 0 || last) {
            pack(window, plan.nsub, red);
            if ((st = g->sum_f64(g->ctx, red, (size_t)NSTAT * plan.nsub))) goto done;
            const double tn = an_now(), ips = window_steps * (double)B / (tn - t_window);
            const double eta = (tn - t_start) / (double)(step + 1 - start_step) * (double)(total - step - 1);
            if (root) {
                char eta_s[32], lab[8];
                fmt_time(eta, eta_s, sizeof eta_s);
                if (!quiet) {
                    fprintf(out, "epoch %.2f step %ld/%ld | %6.0f img/s | ETA %s | lr %.4f | loss", (double)(step + 1) / spe,
                            step + 1, total, ips, eta_s, an_lr_at(t, step, sched, warmup));
                    for (int s = 0; s < plan.nsub; s++)
                        fprintf(out, " %s %.3f", sub_label(s, plan.nsub, t->sandwich, lab),
                                red[s * NSTAT] / fmax(1, red[s * NSTAT + 2]));
                    fprintf(out, " | acc max %.1f%% min %.1f%%", 100 * red[1] / fmax(1, red[2]),
                            100 * red[(plan.nsub - 1) * NSTAT + 1] / fmax(1, red[(plan.nsub - 1) * NSTAT + 2]));
                    if (t->distill == AN_DISTILL_ALPHA) {
                        double dv = 0, cm = 0, cl = 0, wt = 0, ht = 0, hs = 0, ns = 0;
                        for (int s = 1; s < plan.nsub; s++) {
                            const double *o = red + s * NSTAT;
                            dv += o[3], cm += o[5], cl += o[6], wt += o[7], ht += o[8], hs += o[9], ns += o[11];
                        }
                        fprintf(out, " | alpha D %.3f a_min %.0f%% clip %.1f%% H(T) %.2f H(S) %.2f", dv / fmax(1, ns),
                                100 * cm / fmax(1, ns), 100 * cl / fmax(1, wt), ht / fmax(1, ns), hs / fmax(1, ns));
                    }
                    fputc('\n', out);
                    fflush(out);
                }
                fprintf(metrics, "{\"kind\":\"train\",\"step\":%ld,\"epoch\":%.4f,\"lr\":%.6g,\"img_s\":%.1f,\"subnets\":[",
                        step + 1, (double)(step + 1) / spe, an_lr_at(t, step, sched, warmup), ips);
                for (int s = 0; s < plan.nsub; s++) {
                    const double *o = red + s * NSTAT, n = fmax(1, o[2]), nd = fmax(1, o[11]);
                    fprintf(metrics,
                            "%s{\"name\":\"%s\",\"loss\":%.6f,\"acc\":%.5f,\"div\":%.6f,\"alpha_min_frac\":%.5f,"
                            "\"clip_frac\":%.6f,\"h_teacher\":%.5f,\"h_student\":%.5f,\"kl\":%.6f}",
                            s ? "," : "", sub_label(s, plan.nsub, t->sandwich, lab), o[0] / n, o[1] / n, o[3] / nd,
                            o[5] / nd, o[6] / fmax(1, o[7]), o[8] / nd, o[9] / nd, o[10] / nd);
                }
                fprintf(metrics, "]}\n");
                fflush(metrics);
                if (plans) fflush(plans);
            }
            memset(window, 0, sizeof window);
            window_steps = 0;
            t_window = an_now();
        }
        if (eval_every && (step + 1) % eval_every == 0 && !last) {
            const an_dataset *ev = val.n > 0 ? &val : &test;
            for (int which = 0; which < 2; which++) {
                an_arch a;
                if (which) an_arch_largest(&cfg->space, &a);
                else an_arch_smallest(&cfg->space, &a);
                an_eval_result r;
                if ((st = an_evaluate(&net, tr.ws, cfg, &a, &train, ev, g, &r, NULL))) goto done;
                char txt[AN_ARCH_TEXT_MAX];
                an_arch_format(&a, txt, sizeof txt);
                if (root)
                    write_eval(metrics, out, step + 1, (double)(step + 1) / spe, val.n > 0 ? "val" : "test",
                               which ? "max" : "min", txt, an_arch_flops(&cfg->space, &a) / 1e6, &r, quiet);
            }
            t_window = an_now();
        }
    }
    if (cfg->run.checkpoint &&
        (st = save_checkpoint(&cc, total, &coord, digest, t_train, ckpt_path, sizeof ckpt_path)))
        goto done;
    info->steps_done = total;
    info->bytes_reduced = P > 1 ? (double)net.total * sizeof(float) : 0;
    if ((st = g->sum_f64(g->ctx, digest, 2))) goto done;
    info->data_digest[0] = digest[0], info->data_digest[1] = digest[1];
    info->seconds = t_train;
    info->images_per_s = (total - start_step) * (double)B / fmax(1e-9, t_train - (rs.resumed ? rs.train_seconds : 0));
    /* final evaluation on the test set */
    info->nfinal = 2 + cfg->eval.narchs;
    for (int i = 0; i < info->nfinal; i++) {
        an_arch a;
        if (i == 0) an_arch_smallest(&cfg->space, &a);
        else if (i == 1) an_arch_largest(&cfg->space, &a);
        else an_arch_parse(&cfg->space, cfg->eval.archs[i - 2], &a);
        an_arch_format(&a, info->final_arch[i], AN_ARCH_TEXT_MAX);
        info->final_mflops[i] = an_arch_flops(&cfg->space, &a) / 1e6;
        if ((st = an_evaluate(&net, tr.ws, cfg, &a, &train, &test, g, &info->final[i], NULL))) goto done;
        if (root)
            write_eval(metrics, out, total, (double)total / spe, "test", i == 0 ? "min" : i == 1 ? "max" : "arch",
                       info->final_arch[i], info->final_mflops[i], &info->final[i], quiet);
    }
    if (!quiet) {
        char ts[32];
        fmt_time(t_train, ts, sizeof ts);
        fprintf(out, "done: %ld steps in %s (%.0f img/s); test top-1: smallest %.2f%%, largest %.2f%%\n", total, ts,
                info->images_per_s, 100 * info->final[0].top1, 100 * info->final[1].top1);
        const double per = 1e3 / (double)(total > 0 ? total : 1);
        fprintf(out, "  per step on rank 0: compute %.1f ms, waiting for other ranks %.1f ms, communication %.2f ms",
                info->t_compute * per, info->t_wait * per, info->t_comm * per);
        if (P > 1) fprintf(out, "; %.2f MB of gradients reduced per step", info->bytes_reduced / 1e6);
        fputc('\n', out);
    }
    if (root && (st = write_results(cfg, info))) goto done;
    if (info->want_params) {
        if (!(info->params = an_alloc(net.total * sizeof(float)))) {
            st = AN_ERR_NOMEM;
            goto done;
        }
        memcpy(info->params, net.w, net.total * sizeof(float));
        info->nparams = net.total;
    }
    st = AN_OK;
done:
    an_ckpt_state_free(&resume);
    if (metrics) fclose(metrics);
    if (plans) fclose(plans);
    free(red);
    free(flags);
    free(weights);
    free(spp);
    an_free(acc);
    an_prefetch_free(pf);
    free(perm);
    free(perm_next);
    free(idx);
    free(idx_next);
    an_trainer_free(&tr);
    an_supernet_free(&net);
    an_dataset_free(&train);
    an_dataset_free(&val);
    an_dataset_free(&test);
    return st;
}
