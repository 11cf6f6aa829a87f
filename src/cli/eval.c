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
    "Calibrates batch norm on eval.calib_batches training batches (ALGORITHM.md section 5) and\n"
    "evaluates each subnet (default: min and max) on the test set (or the validation split):\n"
    "top-1, top-5 (more than 5 classes) and loss. --logits writes the per-sample logits of the\n"
    "(first) subnet to an HDF5 file. --set overrides the checkpoint's config (e.g. data.dir).\n";

static const char search_usage[] =
    "usage: alphanet search CHECKPOINT --flops MIN:MAX [--out FILE.csv] [--no-test] [--set section.key=value]...\n"
    "\n"
    "Evolutionary search (ALGORITHM.md section 6; search.* keys of docs/config.md) for the most\n"
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

/* Loads a checkpoint, or an exported subnet (then *exported = 1 and `arch` is its arch: the
 * supernet holds only its slices and calibrated statistics), and the data, on every rank;
 * failures agreed. */
static an_status open_all(const an_comm *c, const common_args *a, an_config *cfg, an_supernet *net, an_dataset *train,
                          an_dataset *val, an_dataset *test, int *exported, char *arch, size_t cap, long *step)
{
    an_status st;
    *exported = an_h5_is_subnet(a->ckpt);
    if (*exported) {
        char *text = NULL, where[AN_PATH_MAX + 32];
        an_subnet_slices sl = {0};
        an_arch ar;
        snprintf(where, sizeof where, "%s:/config", a->ckpt);
        st = an_h5_read_subnet_header(a->ckpt, &text, arch, cap);
        if (!st) st = an_config_parse(cfg, text, strlen(text), where, a->nset, a->sets);
        if (!st) st = an_supernet_create(net, &cfg->space);
        if (!st) st = an_arch_parse(&cfg->space, arch, &ar);
        if (!st) st = an_subnet_slices_make(net, &ar, &sl);
        if (!st) st = an_h5_read_subnet_tensors(a->ckpt, net, &sl);
        an_subnet_slices_free(&sl);
        free(text);
        if (step) *step = 0;
    } else {
        an_ckpt_state state;
        st = an_ckpt_load(a->ckpt, a->nset, a->sets, cfg, net, &state);
        if (!st) {
            if (step) *step = state.step;
            an_ckpt_state_free(&state);
        }
    }
    if (!st) st = an_data_load(cfg, train, val, test);
    return an_comm_agree(c, st);
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
    an_comm c;
    if (an_comm_init(&c, NULL, NULL)) {
        fprintf(stderr, "alphanet eval: %s\n", an_error_message());
        return 1;
    }
    an_group g = an_comm_group(&c);
    an_config cfg;
    an_supernet net = {0};
    an_dataset train = {0}, val = {0}, test = {0};
    an_net_ws *ws = NULL;
    float *logits = NULL;
    int rc = 1;
    int exported = 0;
    char exported_arch[AN_ARCH_TEXT_MAX] = "";
    an_status st = open_all(&c, &a, &cfg, &net, &train, &val, &test, &exported, exported_arch, sizeof exported_arch, NULL);
    if (st) {
        if (c.rank == 0) fprintf(stderr, "alphanet eval: %s\n", an_error_message());
        rc = st == AN_ERR_ARG ? 2 : 1;
        goto out;
    }
    if (exported) {
        /* an exported subnet: its own arch, its own calibrated statistics unless --calib-batches */
        narch = 1;
        archs[0] = exported_arch;
        cfg.eval.calib_batches = calib > 0 ? calib : 0;
    } else if (calib > 0) {
        cfg.eval.calib_batches = calib;
    }
    an_arch parsed[32];
    for (int i = 0; i < narch; i++)
        if ((st = an_arch_parse(&cfg.space, archs[i], &parsed[i]))) {
            if (c.rank == 0) fprintf(stderr, "alphanet eval: %s\n", an_error_message());
            rc = 2;
            goto out;
        }
    const an_dataset *data = !strcmp(split, "val") ? &val : &test;
    if (data->n == 0) {
        if (c.rank == 0) fprintf(stderr, "alphanet eval: the %s split is empty (data.validation is 0?)\n", split);
        goto out;
    }
    if ((st = an_net_ws_create(&ws))) goto fail;
    if (logits_path && !(logits = an_alloc((size_t)data->n * cfg.space.classes * sizeof(float)))) {
        st = AN_ERR_NOMEM;
        goto fail;
    }
    if (c.rank == 0) {
        if (cfg.eval.calib_batches > 0)
            printf("%s: %ld %s images, BN calibrated on %d batches of %d training images, %d rank(s)\n", a.ckpt, data->n,
                   split, cfg.eval.calib_batches, cfg.eval.batch, c.size);
        else
            printf("%s: %ld %s images, the exported subnet's calibrated BN statistics, %d rank(s)\n", a.ckpt, data->n,
                   split, c.size);
    }
    for (int i = 0; i < narch; i++) {
        const an_arch arch = parsed[i];
        an_eval_result r;
        if ((st = an_evaluate(&net, ws, &cfg, &arch, &train, data, &g, &r, i == 0 ? logits : NULL))) goto fail;
        char txt[AN_ARCH_TEXT_MAX];
        an_arch_format(&arch, txt, sizeof txt);
        if (c.rank == 0) {
            printf("  %-6s top1 %6.2f%%", exported ? "subnet" : archs[i], 100 * r.top1);
            if (cfg.space.classes > 5) printf("  top5 %6.2f%%", 100 * r.top5);
            printf("  loss %.4f  %7.2f MFLOPs %6.2f M params  %s\n", r.loss, an_arch_flops(&cfg.space, &arch) / 1e6,
                   an_arch_params(&cfg.space, &arch) / 1e6, txt);
        }
        if (i == 0 && logits && c.rank == 0) {
            if ((st = an_h5_write_logits(logits_path, logits, data->labels, data->n, cfg.space.classes, txt, split,
                                         r.top1)))
                goto fail;
            printf("  logits of %s written to %s\n", archs[i], logits_path);
        }
    }
    rc = 0;
    goto out;
fail:
    if (c.rank == 0) fprintf(stderr, "alphanet eval: %s\n", an_error_message());
out:
    an_free(logits);
    an_net_ws_free(ws);
    an_dataset_free(&train);
    an_dataset_free(&val);
    an_dataset_free(&test);
    an_supernet_free(&net);
    an_comm_finalize(&c);
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
    an_comm c;
    if (an_comm_init(&c, NULL, NULL)) {
        fprintf(stderr, "alphanet search: %s\n", an_error_message());
        return 1;
    }
    an_group g = an_comm_group(&c);
    an_config cfg;
    an_supernet net = {0};
    an_dataset train = {0}, val = {0}, test = {0};
    an_search_result res = {0};
    int rc = 1;
    int exported = 0;
    char earch[AN_ARCH_TEXT_MAX];
    an_status st = open_all(&c, &a, &cfg, &net, &train, &val, &test, &exported, earch, sizeof earch, NULL);
    if (!st && exported) {
        st = AN_ERR_ARG;
        if (c.rank == 0) fprintf(stderr, "alphanet search: '%s' is an exported subnet; search needs a supernet checkpoint\n", a.ckpt);
        rc = 2;
        goto out;
    }
    if (st) {
        if (c.rank == 0) fprintf(stderr, "alphanet search: %s\n", an_error_message());
        rc = st == AN_ERR_ARG ? 2 : 1;
        goto out;
    }
    const an_dataset *rank_on = val.n > 0 ? &val : &test;
    if (c.rank == 0) {
        if (val.n == 0)
            fprintf(stderr, "warning: data.validation is 0: candidates are ranked on the TEST set, so the winners' "
                            "test accuracy is optimistic\n");
        const an_search_cfg *sc = &cfg.search;
        printf("search %s for %g..%g MFLOPs: population %d, %d generation(s) of %d mutants + %d crossovers from the "
               "best %d; BN calibration on %d x %d images, ranked on %ld %s images; %d rank(s)\n",
               a.ckpt, lo, hi, sc->population, sc->generations, sc->mutations, sc->crossovers, sc->parents,
               sc->calib_batches, cfg.eval.batch, sc->val_images > 0 && sc->val_images < rank_on->n ? sc->val_images : rank_on->n,
               val.n > 0 ? "validation" : "test", c.size);
        fflush(stdout);
    }
    if ((st = an_search_run(&cfg, &net, &train, rank_on, with_test ? &test : NULL, &g, lo, hi, &res, stdout))) {
        if (c.rank == 0) fprintf(stderr, "alphanet search: %s\n", an_error_message());
        goto out;
    }
    if (c.rank == 0) {
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
        const int nr = an_search_pareto(&res, cfg.search.bucket_mflops, rows, 256);
        printf("\nPareto table (best %s top-1 per %g-MFLOP bucket):\n%8s %8s %9s %9s  %s\n",
               val.n > 0 ? "validation" : "test", cfg.search.bucket_mflops, "MFLOPs", "Mparams", "val top1",
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
    an_dataset_free(&train);
    an_dataset_free(&val);
    an_dataset_free(&test);
    an_supernet_free(&net);
    an_comm_finalize(&c);
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
    an_comm c;
    if (an_comm_init(&c, NULL, NULL)) {
        fprintf(stderr, "alphanet export: %s\n", an_error_message());
        return 1;
    }
    an_group g = an_comm_group(&c);
    an_config cfg;
    an_supernet net = {0};
    an_dataset train = {0}, val = {0}, test = {0};
    an_net_ws *ws = NULL;
    an_subnet_slices sl = {0};
    int rc = 1, exported = 0;
    long step = 0;
    char earch[AN_ARCH_TEXT_MAX];
    an_status st = open_all(&c, &a, &cfg, &net, &train, &val, &test, &exported, earch, sizeof earch, &step);
    if (!st && exported) {
        if (c.rank == 0) fprintf(stderr, "alphanet export: '%s' is already an exported subnet\n", a.ckpt);
        rc = 2;
        goto out;
    }
    if (st) {
        if (c.rank == 0) fprintf(stderr, "alphanet export: %s\n", an_error_message());
        rc = st == AN_ERR_ARG ? 2 : 1;
        goto out;
    }
    if (calib > 0) cfg.eval.calib_batches = calib;
    an_arch arch;
    if ((st = an_arch_parse(&cfg.space, arch_text, &arch))) {
        if (c.rank == 0) fprintf(stderr, "alphanet export: %s\n", an_error_message());
        rc = 2;
        goto out;
    }
    an_eval_result r;
    if ((st = an_net_ws_create(&ws)) || (st = an_evaluate(&net, ws, &cfg, &arch, &train, &test, &g, &r, NULL)) ||
        (st = an_subnet_slices_make(&net, &arch, &sl)))
        goto fail;
    char txt[AN_ARCH_TEXT_MAX];
    an_arch_format(&arch, txt, sizeof txt);
    const double mf = an_arch_flops(&cfg.space, &arch) / 1e6, mp = an_arch_params(&cfg.space, &arch) / 1e6;
    st = AN_OK;
    if (c.rank == 0) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m) st = an_error(AN_ERR_NOMEM, "out of memory");
        else {
            an_config_dump(&cfg, m);
            fclose(m);
            st = an_h5_write_subnet(out_path, &net, &sl, txt, text, mf, mp, a.ckpt, step);
        }
        free(text);
    }
    if ((st = an_comm_agree(&c, st))) goto fail;
    if (c.rank == 0)
        printf("exported %s (%.2f MFLOPs, %.3f M parameters, BN calibrated on %d batches) to %s: test top-1 %.2f%%\n",
               txt, mf, mp, cfg.eval.calib_batches, out_path, 100 * r.top1);
    rc = 0;
    goto out;
fail:
    if (c.rank == 0) fprintf(stderr, "alphanet export: %s\n", an_error_message());
out:
    an_subnet_slices_free(&sl);
    an_net_ws_free(ws);
    an_dataset_free(&train);
    an_dataset_free(&val);
    an_dataset_free(&test);
    an_supernet_free(&net);
    an_comm_finalize(&c);
    return rc;
}
