/* test_export.c - exported subnets: a subnet of a briefly trained tiny supernet, BN calibrated,
 * exported to HDF5 and loaded back into an empty supernet, gives bit-for-bit the logits of the
 * supernet with that arch (using the exported statistics, no recalibration); the file holds
 * exactly the subnet's slices (leading channels, centre-cropped depthwise kernels); bad files
 * give clear errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alphanet/io/config.h"
#include "alphanet/io/dataset.h"
#include "alphanet/io/h5.h"
#include "alphanet/train/eval.h"
#include "alphanet/train/loop.h"
#include "test.h"
#include "tiny.h"

int main(void)
{
    const char *dir = "export_test";
    if (t_toy_run_setup(dir, "run: {log_every: 100, checkpoint: false, dir: export_test/run}\n")) {
        fprintf(stderr, "FIXTURE ERROR: toy setup\n");
        return 1;
    }
    an_config cfg;
    if (an_config_load(&cfg, "export_test/tiny.yaml", 0, NULL)) {
        fprintf(stderr, "FIXTURE ERROR: %s\n", an_error_message());
        return 1;
    }
    an_group one = an_group_single();
    an_run_info info = {.quiet = 1, .want_params = 1};
    CHECK_MSG(an_train_run(&cfg, &one, &info) == AN_OK, "%s", an_error_message());
    an_supernet net, back;
    an_dataset train = {0}, test = {0};
    CHECK(an_supernet_create(&net, &cfg.space) == AN_OK);
    if (info.params) memcpy(net.w, info.params, net.total * sizeof(float));
    CHECK(an_data_load(&cfg, &train, NULL, &test) == AN_OK);
    an_net_ws *ws;
    CHECK(an_net_ws_create(&ws) == AN_OK);

    /* a middle subnet with a 3x3 kernel cut from 5x5, partial widths, SE, a shortcut conv */
    const char *text = "r13 s8 8/2/3/1 16/1/5/2 16/2/3/3 24/1/3/4 h32";
    an_arch arch;
    CHECK_MSG(an_arch_parse(&cfg.space, text, &arch) == AN_OK, "%s", an_error_message());
    const int K = cfg.space.classes;
    float *z1 = malloc(sizeof(float) * test.n * K), *z2 = malloc(sizeof(float) * test.n * K);
    an_eval_result r1, r2;
    CHECK(an_evaluate(&net, ws, &cfg, &arch, &train, &test, &one, &r1, z1) == AN_OK);
    an_subnet_slices sl;
    CHECK(an_subnet_slices_make(&net, &arch, &sl) == AN_OK);
    CHECK(an_h5_write_subnet("export_test/sub.h5", &net, &sl, text, "config text", 1.0, 0.1, "test", 6) == AN_OK);
    CHECK(an_h5_is_subnet("export_test/sub.h5"));
    CHECK(!an_h5_is_subnet("export_test/train.h5"));

    /* load into an empty supernet: no recalibration */
    char *ctext = NULL, atext[AN_ARCH_TEXT_MAX];
    CHECK(an_h5_read_subnet_header("export_test/sub.h5", &ctext, atext, sizeof atext) == AN_OK);
    CHECK(ctext && !strcmp(ctext, "config text") && !strcmp(atext, text));
    free(ctext);
    CHECK(an_supernet_create(&back, &cfg.space) == AN_OK);
    for (size_t i = 0; i < back.total; i++) back.w[i] = NAN; /* everything outside the slices must be unused */
    for (size_t i = 0; i < back.bn_total; i++) back.bn_mean[i] = back.bn_var[i] = NAN;
    CHECK_MSG(an_h5_read_subnet_tensors("export_test/sub.h5", &back, &sl) == AN_OK, "%s", an_error_message());
    an_config c0 = cfg;
    c0.eval.calib_batches = 0;
    CHECK(an_evaluate(&back, ws, &c0, &arch, NULL, &test, &one, &r2, z2) == AN_OK);
    CHECK_MSG(memcmp(z1, z2, sizeof(float) * test.n * K) == 0, "logits of the exported subnet differ");
    CHECK(r1.top1 == r2.top1 && r1.loss == r2.loss);
    int finite = 1;
    for (long i = 0; i < test.n * K; i++) finite &= isfinite(z2[i]);
    CHECK(finite);

    /* the slices: a depthwise 3x3 from a 5x5 is the centre; the classifier is [classes][mix] */
    int found_dw = 0, found_cls = 0;
    for (int i = 0; i < sl.nparams; i++) {
        const an_param *p = &net.params[sl.p[i].param];
        for (int d = 0; d < p->ndim; d++) CHECK(sl.p[i].shape[d] >= 1 && sl.p[i].shape[d] <= p->shape[d]);
        if (p->ndim == 4 && p->shape[1] == 1 && p->shape[2] == 5 && sl.p[i].shape[2] == 3 && !found_dw) {
            found_dw = 1;
            float cut[9 * 64];
            CHECK(sl.p[i].shape[0] <= 64);
            an_slice_extract(p, sl.p[i].shape, net.w + p->offset, cut);
            const float *full = net.w + p->offset;
            CHECK(cut[0] == full[1 * 5 + 1] && cut[4] == full[2 * 5 + 2] && cut[8] == full[3 * 5 + 3]);
            CHECK(cut[9] == full[25 + 1 * 5 + 1]);
        }
        if (sl.p[i].param == net.p_cls_w) {
            found_cls = 1;
            CHECK(sl.p[i].shape[0] == K && sl.p[i].shape[1] == 32);
        }
    }
    CHECK(found_dw && found_cls);
    /* a file of another arch's slices does not load under this arch */
    an_arch other;
    an_arch_largest(&cfg.space, &other);
    an_subnet_slices so;
    CHECK(an_subnet_slices_make(&net, &other, &so) == AN_OK);
    an_status st = an_h5_read_subnet_tensors("export_test/sub.h5", &back, &so);
    CHECK(st == AN_ERR_FORMAT);
    CHECK_MSG(strstr(an_error_message(), "export_test/sub.h5") != NULL, "%s", an_error_message());
    CHECK(an_h5_read_subnet_header("export_test/train.h5", &ctext, atext, sizeof atext) == AN_ERR_FORMAT);
    CHECK(strstr(an_error_message(), "is not an exported subnet") != NULL);
    an_subnet_slices_free(&so);

    an_subnet_slices_free(&sl);
    free(z1);
    free(z2);
    an_free(info.params);
    an_net_ws_free(ws);
    an_dataset_free(&train);
    an_dataset_free(&test);
    an_supernet_free(&net);
    an_supernet_free(&back);
    return TEST_SUMMARY();
}
