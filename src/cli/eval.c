/* eval.c - `alphanet eval` and `alphanet search`: a trained supernet's subnets, after BN
 * calibration. Both run on one process or under mpirun/srun (rank 0 reports). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/dist/comm.h"
#include "alphanet/io/checkpoint.h"
#include "alphanet/io/dataset.h"
#include "alphanet/io/h5.h"
#include "alphanet/search/search.h"
#include "alphanet/train/eval.h"
#include "cli.h"

static const char eval_usage[] =
    "usage: alphanet eval CHECKPOINT [--arch ARCH|min|max|PRESET]... [--split test|val] [--calib-batches N]\n"
    "                     [--logits FILE.h5] [--set section.key=value]...\n"
    "\n"
    "Calibrates batch norm on eval.calib_batches training batches (docs/algorithm.md section 5) and\n"
    "evaluates each subnet (default: min and max) on the test set (or the validation split):\n"
    "top-1, top-5 (more than 5 classes) and loss. --logits writes the per-sample logits of the\n"
    "(first) subnet to an HDF5 file. --set overrides the checkpoint's config (e.g. data.dir).\n";

static const char search_usage[] =
    "usage: alphanet search CHECKPOINT --flops MIN:MAX [--out FILE.csv] [--no-test] [--set section.key=value]...\n"
    "\n"
    "Evolutionary search (docs/algorithm.md section 6; search.* keys of docs/config.md) for the most\n"
    "accurate subnets with MIN..MAX MFLOPs, ranked on the validation split after BN calibration.\n"
    "Under mpirun -np P, rank 0 hands candidates to ranks 1..P-1 as they become free (use one rank\n"
    "more than cores: the coordinator sleeps). Writes every candidate to FILE.csv (default: the run\n"
    "folder's search-MIN-MAX.csv), prints the Pareto table (best per search.bucket_mflops) and, unless\n"
    "--no-test, the winners' test accuracy. Same seed, same search, whatever the number of ranks.\n";

typedef struct {
    const char *ckpt;
    char *sets[64];
    int nset;
} common_args;

static int take_common(common_args *a, int argc, char **argv, int *i)
{
    if (!strcmp(argv[*i], "--set") && *i + 1 < argc && a->nset < 63) {
        a->sets[a->nset++] = argv[++*i];
        return 1;
    }
    if (argv[*i][0] != '-' && !a->ckpt) {
        a->ckpt = argv[*i];
        return 1;
    }
    return 0;
}

/* What eval, search and export work on: the communicator, and on every rank the config, the
 * supernet and the data of a checkpoint or of an exported subnet. */
typedef struct {
    an_comm c;
    an_group g;
    an_config cfg;
    an_supernet net;
    an_dataset train, val, test;
    int exported;                /* the file is an exported subnet: the supernet holds only its slices */
    char arch[AN_ARCH_TEXT_MAX]; /* and this is its arch */
    long step;                   /* the checkpoint's step (0 for an exported subnet) */
} opened;

/* Loads a checkpoint, or an exported subnet (its arch's slices and calibrated statistics), and
 * the data, on every rank; failures agreed. */
static an_status open_all(opened *o, const common_args *a)
{
    an_status st;
    o->exported = an_h5_is_subnet(a->ckpt);
    if (o->exported) {
        char *text = NULL, where[AN_PATH_MAX + 32];
        an_subnet_slices sl = {0};
        an_arch ar;
        snprintf(where, sizeof where, "%s:/config", a->ckpt);
        st = an_h5_read_subnet_header(a->ckpt, &text, o->arch, sizeof o->arch);
        if (!st) st = an_config_parse(&o->cfg, text, strlen(text), where, a->nset, a->sets);
        if (!st) st = an_supernet_create(&o->net, &o->cfg.space);
        if (!st) st = an_arch_parse(&o->cfg.space, o->arch, &ar);
        if (!st) st = an_subnet_slices_make(&o->net, &ar, &sl);
        if (!st) st = an_h5_read_subnet_tensors(a->ckpt, &o->net, &sl);
        an_subnet_slices_free(&sl);
        free(text);
    } else {
        an_ckpt_state state;
        st = an_ckpt_load(a->ckpt, a->nset, a->sets, &o->cfg, &o->net, &state);
        if (!st) {
            o->step = state.step;
            an_ckpt_state_free(&state);
        }
    }
    if (!st) st = an_data_load(&o->cfg, &o->train, &o->val, &o->test);
    return an_comm_agree(&o->c, st);
}

static void close_cmd(opened *o)
{
    an_dataset_free(&o->train);
    an_dataset_free(&o->val);
    an_dataset_free(&o->test);
    an_supernet_free(&o->net);
    an_comm_finalize(&o->c);
}

/* MPI, then open_all. Returns 0, or the exit status after rank 0 has said why and everything is
 * closed: 1, or 2 for bad input and, when `no_subnet` is given, for an exported subnet (rank 0
 * prints "'FILE' <no_subnet>"). */
static int open_cmd(opened *o, const char *cmd, const common_args *a, const char *no_subnet)
{
    memset(o, 0, sizeof *o);
    if (an_comm_init(&o->c, NULL, NULL)) {
        fprintf(stderr, "alphanet %s: %s\n", cmd, an_error_message());
        return 1;
    }
    o->g = an_comm_group(&o->c);
    const an_status st = open_all(o, a);
    int rc = 0;
    if (st) {
        if (o->c.rank == 0) fprintf(stderr, "alphanet %s: %s\n", cmd, an_error_message());
        rc = st == AN_ERR_ARG ? 2 : 1;
    } else if (o->exported && no_subnet) {
        if (o->c.rank == 0) fprintf(stderr, "alphanet %s: '%s' %s\n", cmd, a->ckpt, no_subnet);
        rc = 2;
    }
    if (rc) close_cmd(o);
    return rc;
}

int cli_eval(int argc, char **argv)
{
    common_args a = {0};
    const char *archs[32], *logits_path = NULL, *split = "test";
    int narch = 0, calib = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(eval_usage, stdout);
            return 0;
        } else if (take_common(&a, argc, argv, &i)) {
        } else if (!strcmp(argv[i], "--arch") && i + 1 < argc && narch < 32) {
            archs[narch++] = argv[++i];
        } else if (!strcmp(argv[i], "--split") && i + 1 < argc) {
            split = argv[++i];
        } else if (!strcmp(argv[i], "--calib-batches") && i + 1 < argc) {
            calib = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--logits") && i + 1 < argc) {
            logits_path = argv[++i];
        } else {
            fprintf(stderr, "alphanet eval: unexpected argument '%s'\n\n%s", argv[i], eval_usage);
            return 2;
        }
    }
    if (!a.ckpt || (strcmp(split, "test") && strcmp(split, "val")) || calib == 0 || calib < -1) {
        fprintf(stderr, "alphanet eval: %s\n\n%s",
                !a.ckpt ? "no checkpoint given" : calib == 0 || calib < -1 ? "--calib-batches must be positive"
                                                                          : "--split must be test or val",
                eval_usage);
        return 2;
    }
    if (narch == 0) archs[narch++] = "min", archs[narch++] = "max";
    opened o;
    int rc = open_cmd(&o, "eval", &a, NULL);
    if (rc) return rc;
    rc = 1;
    an_net_ws *ws = NULL;
    float *logits = NULL;
    an_status st;
    if (o.exported) {
        /* an exported subnet: its own arch, its own calibrated statistics unless --calib-batches */
        narch = 1;
        archs[0] = o.arch;
        o.cfg.eval.calib_batches = calib > 0 ? calib : 0;
    } else if (calib > 0) {
        o.cfg.eval.calib_batches = calib;
    }
    an_arch parsed[32];
    for (int i = 0; i < narch; i++)
        if ((st = an_arch_parse(&o.cfg.space, archs[i], &parsed[i]))) {
            if (o.c.rank == 0) fprintf(stderr, "alphanet eval: %s\n", an_error_message());
            rc = 2;
            goto out;
        }
    const an_dataset *data = !strcmp(split, "val") ? &o.val : &o.test;
    if (data->n == 0) {
        if (o.c.rank == 0) fprintf(stderr, "alphanet eval: the %s split is empty (data.validation is 0?)\n", split);
        goto out;
    }
    if ((st = an_net_ws_create(&ws))) goto fail;
    if (logits_path && !(logits = an_alloc((size_t)data->n * o.cfg.space.classes * sizeof(float)))) {
        st = AN_ERR_NOMEM;
        goto fail;
    }
    if (o.c.rank == 0) {
        if (o.cfg.eval.calib_batches > 0)
            printf("%s: %ld %s images, BN calibrated on %d batches of %d training images, %d rank(s)\n", a.ckpt, data->n,
                   split, o.cfg.eval.calib_batches, o.cfg.eval.batch, o.c.size);
        else
            printf("%s: %ld %s images, the exported subnet's calibrated BN statistics, %d rank(s)\n", a.ckpt, data->n,
                   split, o.c.size);
    }
    for (int i = 0; i < narch; i++) {
        const an_arch arch = parsed[i];
        an_eval_result r;
        if ((st = an_evaluate(&o.net, ws, &o.cfg, &arch, &o.train, data, &o.g, &r, i == 0 ? logits : NULL))) goto fail;
        char txt[AN_ARCH_TEXT_MAX];
        an_arch_format(&arch, txt, sizeof txt);
        if (o.c.rank == 0) {
            printf("  %-6s top1 %6.2f%%", o.exported ? "subnet" : archs[i], 100 * r.top1);
            if (o.cfg.space.classes > 5) printf("  top5 %6.2f%%", 100 * r.top5);
            printf("  loss %.4f  %7.2f MFLOPs %6.2f M params  %s\n", r.loss, an_arch_flops(&o.cfg.space, &arch) / 1e6,
                   an_arch_params(&o.cfg.space, &arch) / 1e6, txt);
        }
        if (i == 0 && logits && o.c.rank == 0) {
            if ((st = an_h5_write_logits(logits_path, logits, data->labels, data->n, o.cfg.space.classes, txt, split,
                                         r.top1)))
                goto fail;
            printf("  logits of %s written to %s\n", archs[i], logits_path);
        }
    }
    rc = 0;
    goto out;
fail:
    if (o.c.rank == 0) fprintf(stderr, "alphanet eval: %s\n", an_error_message());
out:
    an_free(logits);
    an_net_ws_free(ws);
    close_cmd(&o);
    return rc;
}

static void run_folder_of(const char *ckpt, char *out, size_t cap)
{
    /* <run>/checkpoints/ckpt-N.h5 -> <run>; otherwise the checkpoint's folder */
    snprintf(out, cap, "%s", ckpt);
    char *slash = strrchr(out, '/');
    if (!slash) {
        snprintf(out, cap, ".");
        return;
    }
    *slash = '\0';
    slash = strrchr(out, '/');
    const char *last = slash ? slash + 1 : out;
    if (!strcmp(last, "checkpoints")) {
        if (slash) *slash = '\0';
        else snprintf(out, cap, ".");
    }
}

int cli_search(int argc, char **argv)
{
    common_args a = {0};
    const char *flops = NULL, *out_path = NULL;
    int with_test = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(search_usage, stdout);
            return 0;
        } else if (take_common(&a, argc, argv, &i)) {
        } else if (!strcmp(argv[i], "--flops") && i + 1 < argc) {
            flops = argv[++i];
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out_path = argv[++i];
        } else if (!strcmp(argv[i], "--no-test")) {
            with_test = 0;
        } else {
            fprintf(stderr, "alphanet search: unexpected argument '%s'\n\n%s", argv[i], search_usage);
            return 2;
        }
    }
    double lo = 0, hi = 0;
    int n = 0;
    if (!a.ckpt || !flops || sscanf(flops, "%lf:%lf%n", &lo, &hi, &n) != 2 || flops[n] || !(lo >= 0) || !(hi >= lo)) {
        fprintf(stderr, "alphanet search: %s\n\n%s",
                !a.ckpt ? "no checkpoint given" : !flops ? "--flops MIN:MAX is required" : "--flops: expected MIN:MAX in MFLOPs, MIN <= MAX",
                search_usage);
        return 2;
    }
    opened o;
    int rc = open_cmd(&o, "search", &a, "is an exported subnet; search needs a supernet checkpoint");
    if (rc) return rc;
    rc = 1;
    an_search_result res = {0};
    an_status st;
    const an_dataset *rank_on = o.val.n > 0 ? &o.val : &o.test;
    if (o.c.rank == 0) {
        if (o.val.n == 0)
            fprintf(stderr, "warning: data.validation is 0: candidates are ranked on the TEST set, so the winners' "
                            "test accuracy is optimistic\n");
        const an_search_cfg *sc = &o.cfg.search;
        printf("search %s for %g..%g MFLOPs: population %d, %d generation(s) of %d mutants + %d crossovers from the "
               "best %d; BN calibration on %d x %d images, ranked on %ld %s images; %d rank(s)\n",
               a.ckpt, lo, hi, sc->population, sc->generations, sc->mutations, sc->crossovers, sc->parents,
               sc->calib_batches, o.cfg.eval.batch, sc->val_images > 0 && sc->val_images < rank_on->n ? sc->val_images : rank_on->n,
               o.val.n > 0 ? "validation" : "test", o.c.size);
        fflush(stdout);
    }
    if ((st = an_search_run(&o.cfg, &o.net, &o.train, rank_on, with_test ? &o.test : NULL, &o.g, lo, hi, &res, stdout))) {
        if (o.c.rank == 0) fprintf(stderr, "alphanet search: %s\n", an_error_message());
        goto out;
    }
    if (o.c.rank == 0) {
        char path[AN_PATH_MAX + 64];
        if (out_path) snprintf(path, sizeof path, "%s", out_path);
        else {
            char dir[AN_PATH_MAX];
            run_folder_of(a.ckpt, dir, sizeof dir);
            snprintf(path, sizeof path, "%s/search-%g-%g.csv", dir, lo, hi);
        }
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "alphanet search: cannot write '%s'\n", path);
            goto out;
        }
        fprintf(f, "index,generation,mflops,mparams,val_top1,val_loss,test_top1,arch\n");
        for (int i = 0; i < res.n; i++) {
            const an_candidate *k = &res.c[i];
            char txt[AN_ARCH_TEXT_MAX];
            an_arch_format(&k->arch, txt, sizeof txt);
            fprintf(f, "%d,%d,%.4f,%.4f,%.6f,%.6f,%.6f,%s\n", i, k->generation, k->mflops, k->mparams, k->top1, k->loss,
                    k->test_top1, txt);
        }
        fclose(f);
        const double share = res.busy + res.idle > 0 ? res.idle / (res.busy + res.idle) : 0;
        printf("%d candidates in %.1f s (%.2f s each on one rank); working ranks idle %.1f%% of the time; all in %s\n",
               res.n, res.seconds, res.n ? res.busy / res.n : 0, 100 * share, path);
        int rows[256];
        const int nr = an_search_pareto(&res, o.cfg.search.bucket_mflops, rows, 256);
        printf("\nPareto table (best %s top-1 per %g-MFLOP bucket):\n%8s %8s %9s %9s  %s\n",
               o.val.n > 0 ? "validation" : "test", o.cfg.search.bucket_mflops, "MFLOPs", "Mparams", "val top1",
               "test top1", "arch");
        for (int i = 0; i < nr; i++) {
            const an_candidate *k = &res.c[rows[i]];
            char txt[AN_ARCH_TEXT_MAX], tt[32] = "-";
            an_arch_format(&k->arch, txt, sizeof txt);
            if (k->test_top1 >= 0) snprintf(tt, sizeof tt, "%.2f%%", 100 * k->test_top1);
            printf("%8.2f %8.3f %8.2f%% %9s  %s\n", k->mflops, k->mparams, 100 * k->top1, tt, txt);
        }
    }
    rc = 0;
out:
    an_search_result_free(&res);
    close_cmd(&o);
    return rc;
}

static const char export_usage[] =
    "usage: alphanet export CHECKPOINT --arch ARCH|min|max|PRESET -o FILE.h5 [--calib-batches N] [--set k=v]...\n"
    "\n"
    "Writes one subnet as a standalone HDF5 file (docs/formats.md): its slices of the supernet's\n"
    "parameters under the official names, its BN statistics calibrated on eval.calib_batches training\n"
    "batches, the arch and the space's config. Prints its test accuracy. `alphanet eval FILE.h5`\n"
    "evaluates it again; docs/formats.md shows how to load it into PyTorch.\n";

int cli_export(int argc, char **argv)
{
    common_args a = {0};
    const char *arch_text = NULL, *out_path = NULL;
    int calib = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(export_usage, stdout);
            return 0;
        } else if (take_common(&a, argc, argv, &i)) {
        } else if (!strcmp(argv[i], "--arch") && i + 1 < argc) {
            arch_text = argv[++i];
        } else if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && i + 1 < argc) {
            out_path = argv[++i];
        } else if (!strcmp(argv[i], "--calib-batches") && i + 1 < argc) {
            calib = atoi(argv[++i]);
        } else {
            fprintf(stderr, "alphanet export: unexpected argument '%s'\n\n%s", argv[i], export_usage);
            return 2;
        }
    }
    if (!a.ckpt || !arch_text || !out_path || calib == 0 || calib < -1) {
        fprintf(stderr, "alphanet export: %s\n\n%s",
                !a.ckpt ? "no checkpoint given" : !arch_text ? "--arch is required" : !out_path ? "-o FILE is required"
                                                                                       : "--calib-batches must be positive",
                export_usage);
        return 2;
    }
    opened o;
    int rc = open_cmd(&o, "export", &a, "is already an exported subnet");
    if (rc) return rc;
    rc = 1;
    an_net_ws *ws = NULL;
    an_subnet_slices sl = {0};
    an_status st;
    if (calib > 0) o.cfg.eval.calib_batches = calib;
    an_arch arch;
    if ((st = an_arch_parse(&o.cfg.space, arch_text, &arch))) {
        if (o.c.rank == 0) fprintf(stderr, "alphanet export: %s\n", an_error_message());
        rc = 2;
        goto out;
    }
    an_eval_result r;
    if ((st = an_net_ws_create(&ws)) || (st = an_evaluate(&o.net, ws, &o.cfg, &arch, &o.train, &o.test, &o.g, &r, NULL)) ||
        (st = an_subnet_slices_make(&o.net, &arch, &sl)))
        goto fail;
    char txt[AN_ARCH_TEXT_MAX];
    an_arch_format(&arch, txt, sizeof txt);
    const double mf = an_arch_flops(&o.cfg.space, &arch) / 1e6, mp = an_arch_params(&o.cfg.space, &arch) / 1e6;
    st = AN_OK;
    if (o.c.rank == 0) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m) st = an_error(AN_ERR_NOMEM, "out of memory");
        else {
            an_config_dump(&o.cfg, m);
            fclose(m);
            st = an_h5_write_subnet(out_path, &o.net, &sl, txt, text, mf, mp, a.ckpt, o.step);
        }
        free(text);
    }
    if ((st = an_comm_agree(&o.c, st))) goto fail;
    if (o.c.rank == 0)
        printf("exported %s (%.2f MFLOPs, %.3f M parameters, BN calibrated on %d batches) to %s: test top-1 %.2f%%\n",
               txt, mf, mp, o.cfg.eval.calib_batches, out_path, 100 * r.top1);
    rc = 0;
    goto out;
fail:
    if (o.c.rank == 0) fprintf(stderr, "alphanet export: %s\n", an_error_message());
out:
    an_subnet_slices_free(&sl);
    an_net_ws_free(ws);
    close_cmd(&o);
    return rc;
}
