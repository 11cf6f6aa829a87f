/* checkpoint.c - checkpoint file names, listing and pruning (see checkpoint.h). */
#include "alphanet/io/checkpoint.h"

#include "alphanet/io/h5.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void an_ckpt_state_free(an_ckpt_state *s)
{
    free(s->config_text);
    free(s->metrics_text);
    s->config_text = s->metrics_text = NULL;
}

void an_ckpt_path(const char *run_dir, long step, char *out, size_t cap)
{
    snprintf(out, cap, "%s/checkpoints/ckpt-%09ld.h5", run_dir, step);
}

/* step of a checkpoint file name, or -1 (temporary files end in .h5.tmp.<pid>) */
static long step_of(const char *name)
{
    long step;
    int n = 0;
    if (sscanf(name, "ckpt-%ld.h5%n", &step, &n) == 1 && name[n] == '\0' && step >= 0 && strlen(name) == 17) return step;
    return -1;
}

static int desc(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x < y) - (x > y);
}

int an_ckpt_list(const char *run_dir, long *steps, int max)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/checkpoints", run_dir);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0, cap = 64;
    long *all = malloc(sizeof(long) * (size_t)cap);
    struct dirent *e;
    while (all && (e = readdir(d))) {
        long s = step_of(e->d_name);
        if (s < 0) continue;
        if (n == cap) {
            long *grown = realloc(all, sizeof(long) * (size_t)(cap *= 2));
            if (!grown) break;
            all = grown;
        }
        all[n++] = s;
    }
    closedir(d);
    if (!all) return 0;
    qsort(all, (size_t)n, sizeof(long), desc);
    if (n > max) n = max;
    memcpy(steps, all, sizeof(long) * (size_t)n);
    free(all);
    return n;
}

void an_ckpt_prune(const char *run_dir, int keep)
{
    char dir[4096], path[4400];
    snprintf(dir, sizeof dir, "%s/checkpoints", run_dir);
    long steps[4096];
    int n = an_ckpt_list(run_dir, steps, 4096);
    for (int i = keep; i < n; i++) {
        an_ckpt_path(run_dir, steps[i], path, sizeof path);
        unlink(path);
    }
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "ckpt-", 5) && strstr(e->d_name, ".h5.tmp.")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}

an_status an_ckpt_load(const char *path, int nset, char *const *sets, an_config *cfg, an_supernet *net,
                       an_ckpt_state *state)
{
    memset(net, 0, sizeof *net);
    an_status st = an_h5_read_checkpoint_state(path, state);
    if (st) return st;
    char where[4200];
    snprintf(where, sizeof where, "%s:/config", path);
    if ((st = an_config_parse(cfg, state->config_text, strlen(state->config_text), where, nset, sets))) goto fail;
    if ((st = an_supernet_create(net, &cfg->space))) goto fail;
    if ((st = an_h5_read_checkpoint_tensors(path, net, NULL))) goto fail;
    return AN_OK;
fail:
    an_supernet_free(net);
    an_ckpt_state_free(state);
    return st;
}
