/* info.c - `alphanet info CHECKPOINT`: a human summary of a checkpoint (step, epoch, who wrote
 * it, config, parameter count, sizes, last metrics) after verifying it: every tensor is read,
 * which checks its Fletcher-32 checksum, and its names and shapes are checked against the
 * search space of the config stored inside. Exit status 0 if the checkpoint is sound, 1 if not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alphanet/io/config.h"
#include "alphanet/io/h5.h"
#include "alphanet/nn/supernet.h"
#include "cli.h"

static const char info_usage[] =
    "usage: alphanet info CHECKPOINT [--config]\n"
    "\n"
    "Verifies a checkpoint (checksums of every tensor, names and shapes against its own config's search\n"
    "space) and prints a summary. --config also prints the config stored in it.\n"
    "Exit status: 0 sound, 1 damaged or unreadable, 2 bad command line.\n";

/* the last line of `text` that contains `needle` */
static void last_line_with(const char *text, const char *needle, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        const size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *hit = strstr(line, needle);
        if (hit && hit < line + len) snprintf(out, cap, "%.*s", (int)len, line);
        line = end ? end + 1 : NULL;
    }
}

int cli_info(int argc, char **argv)
{
    const char *path = NULL;
    int show_config = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(info_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--config")) {
            show_config = 1;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "alphanet info: unexpected argument '%s'\n\n%s", argv[i], info_usage);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "alphanet info: no checkpoint given\n\n%s", info_usage);
        return 2;
    }
    an_ckpt_state s;
    if (an_h5_read_checkpoint_state(path, &s)) {
        fprintf(stderr, "alphanet info: %s\n", an_error_message());
        return 1;
    }
    int rc = 1;
    an_config cfg;
    an_supernet net = {0};
    float *mom = NULL;
    char where[AN_PATH_MAX + 32];
    snprintf(where, sizeof where, "%s:/config", path);
    if (an_config_parse(&cfg, s.config_text, strlen(s.config_text), where, 0, NULL)) {
        fprintf(stderr, "alphanet info: the config stored in the checkpoint does not load: %s\n", an_error_message());
        goto out;
    }
    if (an_supernet_create(&net, &cfg.space) || !(mom = an_alloc(net.total * sizeof(float)))) {
        fprintf(stderr, "alphanet info: %s\n", an_error_message());
        goto out;
    }
    if (an_h5_read_checkpoint_tensors(path, &net, mom)) {
        fprintf(stderr, "alphanet info: %s\n", an_error_message());
        goto out;
    }
    struct stat sb;
    const double mb = stat(path, &sb) == 0 ? sb.st_size / 1e6 : 0;
    an_arch amax, amin;
    an_arch_largest(&cfg.space, &amax);
    an_arch_smallest(&cfg.space, &amin);
    printf("checkpoint  %s (%.2f MB)\n", path, mb);
    printf("written     %s by %s\n", s.created, s.software);
    printf("step        %ld (epoch %.2f) of a %ld-step schedule, %ld steps per epoch\n", s.step,
           (double)s.step / (double)s.steps_per_epoch, s.schedule_steps, s.steps_per_epoch);
    printf("ranks       %d x %d micro-batch(es); seed %ld; %.0f s of training so far\n", s.world_size, s.micro_batches,
           s.seed, s.train_seconds);
    printf("training    batch %d, distillation %s, lr %g, %g epochs\n", cfg.train.batch,
           an_distill_name(cfg.train.distill), cfg.train.lr, cfg.train.epochs);
    printf("supernet    %zu parameters in %d tensors (+ momentum, + %zu BN running statistics); %d classes, "
           "%d input channel(s)\n",
           net.total, net.nparams, 2 * net.bn_total, cfg.space.classes, cfg.space.in_channels);
    printf("subnets     largest %.2f MFLOPs, smallest %.2f MFLOPs\n", an_arch_flops(&cfg.space, &amax) / 1e6,
           an_arch_flops(&cfg.space, &amin) / 1e6);
    char line[2048];
    last_line_with(s.metrics_text, "\"kind\":\"train\"", line, sizeof line);
    printf("last train  %s\n", line[0] ? line : "(none)");
    last_line_with(s.metrics_text, "\"kind\":\"eval\"", line, sizeof line);
    printf("last eval   %s\n", line[0] ? line : "(none)");
    printf("integrity   OK: %d parameter, %d momentum and %d buffer tensors read and checksummed\n", net.nparams,
           net.nparams, 2 * net.nbn);
    /* FNV-1a over the parameter bytes: equal digests = bit-identical parameters */
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *bytes = (const unsigned char *)net.w;
    for (size_t i = 0; i < net.total * sizeof(float); i++) h = (h ^ bytes[i]) * 0x100000001b3ull;
    printf("digest      %016llx (FNV-1a of the parameters)\n", (unsigned long long)h);
    if (show_config) printf("\n# config stored in the checkpoint\n%s", s.config_text);
    rc = 0;
out:
    an_free(mom);
    an_supernet_free(&net);
    an_ckpt_state_free(&s);
    return rc;
}
