/* test_config.c - configuration loading: the shipped configs load; every kind of bad input
 * gets an error naming where (file:line:col or the --set override), the key, and what is
 * allowed; overrides apply; the dump of a config loads back to the same values. */
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/config.h"
#include "test.h"

static const char *base =
    "space:\n"
    "  in_channels: 1\n"
    "  classes: 10\n"
    "  resolutions: [20, 28]\n"
    "  stem: {width: [8, 16], stride: 1}\n"
    "  stages:\n"
    "    - {name: mb1, width: [8, 16], depth: [1, 2], kernel: [3, 5], expand: [1], stride: 1, se: false}\n"
    "    - {name: mb2, width: [16, 24], depth: [1, 2], kernel: [3, 5], expand: [4, 6], stride: 2, se: true}\n"
    "  head: {expand: 6, mix_width: [64]}\n"
    "train:\n"
    "  epochs: 2\n"
    "  batch: 64\n";

/* Parses base text with `extra` appended and the given overrides; expects failure whose
 * message contains every string in `must` (NULL-terminated). */
static void bad(const char *extra, int nset, char *const *sets, const char *const *must)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s", base, extra);
    an_config c;
    an_status st = an_config_parse(&c, text, strlen(text), "t.yaml", nset, sets);
    const char *msg = an_error_message();
    int ok = st == AN_ERR_ARG;
    for (int i = 0; must[i]; i++) ok &= strstr(msg, must[i]) != NULL;
    CHECK_MSG(ok, "extra '%s': status %d, message '%s' (wanted '%s'...)", extra, st, msg, must[0]);
}

#define MUST(...) (const char *const[]){__VA_ARGS__, NULL}

int main(void)
{
    an_config c;
    CHECK_MSG(an_config_parse(&c, base, strlen(base), "t.yaml", 0, NULL) == AN_OK, "%s", an_error_message());
    CHECK(c.space.nstages == 2 && c.train.epochs == 2 && c.train.batch == 64 && c.space.stage[1].se == 1);
    CHECK(c.train.distill == AN_DISTILL_ALPHA && c.train.alpha_min == -1.0 && c.train.iw_clip == 5.0);

    /* unknown keys, with position and the allowed keys */
    bad("  epoch: 3\n", 0, NULL, MUST("t.yaml:13:3", "unknown key 'train.epoch'", "allowed here:", "epochs"));
    bad("extra: 1\n", 0, NULL, MUST("t.yaml:13:", "unknown key 'extra'", "space, data, train, eval, run"));
    /* wrong types and ranges */
    bad("  dropout: 1.5\n", 0, NULL, MUST("t.yaml:13:12", "train.dropout", "out of range", "0 to 0.95"));
    bad("  seed: abc\n", 0, NULL, MUST("t.yaml:13:9", "train.seed", "expected an integer, got 'abc'"));
    bad("  nesterov: maybe\n", 0, NULL, MUST("train.nesterov", "expected true or false"));
    bad("  distill: kd\n", 0, NULL, MUST("train.distill", "'kd' is not allowed", "alpha | kl | none"));
    bad("  alpha_min: 1.0\n", 0, NULL, MUST("alpha_min (1) must be smaller than alpha_max (1)"));
    bad("  lr: [1, 2]\n", 0, NULL, MUST("train.lr", "expected a number, got a list"));
    bad("data:\n  mean: [0.5, 0.5]\n  std: [0.5, 0.5]\n", 0, NULL,
        MUST("data.mean/std have 2 entries but space.in_channels is 1"));
    bad("data:\n  std: [0]\n", 0, NULL, MUST("data.std", "must be positive"));
    /* a number beyond float range became inf and broke the dump round trip (found by fuzzing) */
    bad("data:\n  std: [2e78]\n", 0, NULL, MUST("t.yaml:14:9", "data.std: entry 1 (2e+78) is out of range"));
    /* YAML syntax */
    bad("  batch: [1, 2\n", 0, NULL, MUST("t.yaml:", "YAML syntax error"));
    bad("  batch: 3\n", 0, NULL, MUST("duplicate key 'batch'", "first at t.yaml:12:"));
    /* space errors */
    {
        const char *t = "space:\n  resolutions: []\n";
        CHECK(an_config_parse(&c, t, strlen(t), "s.yaml", 0, NULL) == AN_ERR_ARG &&
              strstr(an_error_message(), "s.yaml:2:16") && strstr(an_error_message(), "the list is empty"));
        const char *u = "space:\n  resolutions: [28, 20]\n";
        CHECK(an_config_parse(&c, u, strlen(u), "s.yaml", 0, NULL) == AN_ERR_ARG &&
              strstr(an_error_message(), "strictly ascending"));
        /* input widths that are not multiples of 8: the rounded hidden width would exceed the
         * supernet's (mb1's width 10 feeds mb2 with expand 6: make_divisible(60) = 64 > 60) */
        const char *w = "space:\n  in_channels: 1\n  classes: 10\n  resolutions: [20]\n  stem: {width: [8], stride: 1}\n"
                        "  stages:\n    - {name: mb1, width: [8, 10], depth: [1], kernel: [3], expand: [1], stride: 1, se: false}\n"
                        "    - {name: mb2, width: [16], depth: [1], kernel: [3], expand: [4, 6], stride: 2, se: false}\n"
                        "  head: {expand: 6, mix_width: [64]}\n";
        CHECK_MSG(an_config_parse(&c, w, strlen(w), "s.yaml", 0, NULL) == AN_ERR_ARG &&
                      strstr(an_error_message(), "space.stages[1] (mb2): input width 10 with expand 6 needs 64 hidden") &&
                      strstr(an_error_message(), "round(10 x 6) = 60"),
                  "%s", an_error_message());
        const char *v = "train: {epochs: 1}\n";
        CHECK(an_config_parse(&c, v, strlen(v), "s.yaml", 0, NULL) == AN_ERR_ARG &&
              strstr(an_error_message(), "missing section 'space'"));
    }
    /* overrides */
    {
        char *sets[] = {"train.epochs=0.5", "train.distill=kl", "run.dir=runs/x", "space.resolutions=[20]"};
        CHECK_MSG(an_config_parse(&c, base, strlen(base), "t.yaml", 4, sets) == AN_OK, "%s", an_error_message());
        CHECK(c.train.epochs == 0.5 && c.train.distill == AN_DISTILL_KL && !strcmp(c.run.dir, "runs/x") &&
              c.space.resolution.n == 1 && c.space.resolution.v[0] == 20);
        char *s1[] = {"train.batch=x"};
        bad("", 1, s1, MUST("--set train.batch=x", "expected an integer, got 'x'"));
        char *s2[] = {"train.bogus=1"};
        bad("", 1, s2, MUST("--set train.bogus=1", "unknown key 'train.bogus'"));
        char *s3[] = {"nonsense"};
        bad("", 1, s3, MUST("--set 'nonsense'", "expected section.key=value"));
        char *s4[] = {"space.stages=[]"};
        bad("", 1, s4, MUST("--set space.stages=[]", "non-empty list of stages"));
    }
    /* the shipped configs load, and dump -> parse gives the same values */
    const char *files[] = {CONFIG_DIR "/fmnist.yaml", CONFIG_DIR "/alphanet-imagenet.yaml"};
    for (int i = 0; i < 2; i++) {
        an_config a, b;
        CHECK_MSG(an_config_load(&a, files[i], 0, NULL) == AN_OK, "%s", an_error_message());
        char *buf = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);
        an_config_dump(&a, fp);
        fclose(fp);
        CHECK_MSG(an_config_parse(&b, buf, len, "dump", 0, NULL) == AN_OK, "%s", an_error_message());
        memset(a.path, 0, sizeof a.path);
        memset(b.path, 0, sizeof b.path);
        CHECK_MSG(!memcmp(&a.space, &b.space, sizeof a.space) && !memcmp(&a.train, &b.train, sizeof a.train) &&
                      !memcmp(&a.data, &b.data, sizeof a.data) && !memcmp(&a.eval, &b.eval, sizeof a.eval) &&
                      !memcmp(&a.run, &b.run, sizeof a.run),
                  "dump of %s does not load back to the same values", files[i]);
        free(buf);
    }
    CHECK(an_config_load(&c, "/nonexistent/x.yaml", 0, NULL) == AN_ERR_IO &&
          strstr(an_error_message(), "cannot open config '/nonexistent/x.yaml'"));
    /* strings with a quote, a backslash and a tab survive the dump (found by fuzzing) */
    {
        char *sets[] = {"data.dir=\"/data/a\\\"b\\\\c\\td\"", "run.resume=\"x\\\"y\""};
        an_config q, r;
        CHECK_MSG(an_config_parse(&q, base, strlen(base), "t.yaml", 2, sets) == AN_OK, "%s", an_error_message());
        CHECK(!strcmp(q.data.dir, "/data/a\"b\\c\td") && !strcmp(q.run.resume, "x\"y"));
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        an_config_dump(&q, m);
        fclose(m);
        CHECK_MSG(an_config_parse(&r, text, len, "dump.yaml", 0, NULL) == AN_OK, "%s", an_error_message());
        CHECK(!strcmp(r.data.dir, q.data.dir) && !strcmp(r.run.resume, q.run.resume));
        free(text);
    }
    return TEST_SUMMARY();
}
