#!/usr/bin/python3
"""kernels_ref.py - PyTorch golden reference for the C kernels in src/kernels/.

Writes one .anfx fixture per case into tests/fixtures/kernels/ (format: tests/support/fixture.h).
tests/test_golden_kernels.c loads them, runs the C kernels on the stored inputs and compares the
outputs and every gradient against the stored references.

Conventions (include/alphanet/kernels/layout.h):
  * activations are stored CNHW, x[c][n][h][w]: torch computes in NCHW and the fixture holds
    x.permute(1, 0, 2, 3).contiguous();
  * logits are [n][k]; the linear layer's input is [in][n] and its output [n][out];
  * weights are stored as the FULL supernet tensor in PyTorch layout; the reference uses the slice
    (first output / input channels, centre crop of a depthwise kernel) and the stored weight
    gradient is the gradient w.r.t. the full tensor, i.e. zero outside the active slice;
  * every gradient is that of sum(y * dy) for a stored random upstream gradient dy;
  * the scalar "acc0" is the value the C test pre-fills gradient buffers with before calling a
    backward (backwards accumulate), so the expected buffer is acc0 + stored gradient.

Inputs are drawn in float32 (deterministically, the generator seeded from the case name), the
references are computed in float64 from those exact values and stored rounded to float32.

Regenerate (needs Debian's python3-torch; CI uses the committed fixtures and needs no torch):
    /usr/bin/python3 tests/ref/kernels_ref.py
(`--check-kinks` only prints torch's hardsigmoid derivative at -3, 0, 3; see act.h.)
"""

import os
import sys
import zlib

import numpy as np
import torch

import anfx  # noqa: E402  (this folder)
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "kernels"))
D = torch.float64
EPS_BN = 1e-5

written = []


# ----------------------------------------------------------------------------------------------
# fixture writer

def write(case, tensors):
    """tensors: dict name -> torch tensor or python int/float scalar (insertion order kept)."""
    buf = anfx.encode(tensors)
    path = os.path.join(OUT, case + ".anfx")
    with open(path, "wb") as fp:
        fp.write(buf)
    written.append((case, len(buf)))


def seed(case):
    torch.manual_seed(zlib.crc32(case.encode()))


def rnd(*shape, lo=-1.0, hi=1.0):
    return torch.rand(*shape, dtype=torch.float32) * (hi - lo) + lo


def randn(*shape, scale=1.0):
    return torch.randn(*shape, dtype=torch.float32) * scale


def cnhw(t):
    """NCHW -> CNHW (contiguous)."""
    return t.permute(1, 0, 2, 3).contiguous()


def d64(t):
    return t.detach().to(D).requires_grad_(True)


def grads(y, dy, inputs):
    """Gradients of sum(y * dy) w.r.t. inputs (float64)."""
    return torch.autograd.grad((y * dy.to(D)).sum(), inputs)


# ----------------------------------------------------------------------------------------------
# gemm: C = alpha * A B + beta * C on strided views of flat buffers

def gemm_case(case, m, n, k, alpha, abuf, rsa, csa, bbuf, rsb, csb, cbuf, rsc, csc):
    seed(case)
    a = rnd(abuf)
    b = rnd(bbuf)
    c0 = rnd(cbuf, lo=-2, hi=2)
    A = torch.as_strided(a.to(D), (m, k), (rsa, csa))
    B = torch.as_strided(b.to(D), (k, n), (rsb, csb))
    out = {}
    for beta in (0.0, 1.0):
        c = c0.to(D).clone()
        cv = torch.as_strided(c, (m, n), (rsc, csc))
        cv.copy_(alpha * (A @ B) + beta * cv)
        out[beta] = c
    write(case, dict(m=m, n=n, k=k, alpha=alpha, rsa=rsa, csa=csa, rsb=rsb, csb=csb, rsc=rsc, csc=csc,
                     a=a, b=b, c0=c0, c_beta0=out[0.0], c_beta1=out[1.0]))


def gen_gemm():
    # A transposed through strides (and itself a slice: column stride 8 > m), B a slice of an 11 x 6
    # matrix, C a slice of a 7 x 8 buffer (the untouched columns must survive).
    m, n, k = 7, 5, 9
    gemm_case("gemm_at_bslice", m, n, k, 0.75, k * 8, 1, 8, 11 * 6, 6, 1, m * 8, 8, 1)
    # A a row slice (row stride 5 > k), B transposed, C column-major inside a 7-row buffer.
    m, n, k = 6, 11, 3
    gemm_case("gemm_bt_ccol", m, n, k, -1.5, m * 5, 5, 1, n * k, 1, k, n * 7, 1, 7)
    # matrix-vector, contiguous.
    m, n, k = 17, 1, 33
    gemm_case("gemm_matvec", m, n, k, 2.0, m * k, k, 1, k * n, n, 1, m * n, n, 1)


# ----------------------------------------------------------------------------------------------
# dense convolution

def conv_case(case, cout_full, cin_full, cout, cin, n, h, w, k, s, acc0=0.0):
    seed(case)
    x = randn(n, cin, h, w)
    wf = randn(cout_full, cin_full, k, k, scale=1.0 / np.sqrt(cin * k * k))
    x64, w64 = d64(x), d64(wf)
    y = F.conv2d(x64, w64[:cout, :cin], stride=s, padding=k // 2)
    dy = randn(*y.shape)
    dx, dw = grads(y, dy, [x64, w64])
    write(case, dict(cout_full=cout_full, cin_full=cin_full, cout=cout, cin=cin, n=n, h=h, w=w, k=k, s=s,
                     ho=y.shape[2], wo=y.shape[3], acc0=acc0,
                     x=cnhw(x), wt=wf, y=cnhw(y), dy=cnhw(dy), dx=cnhw(dx), dw=dw))


def gen_conv():
    conv_case("conv1x1_a", 12, 10, 7, 5, 2, 5, 3, 1, 1, acc0=0.5)
    conv_case("conv1x1_n1", 6, 9, 6, 4, 1, 7, 7, 1, 1)
    conv_case("conv2d_k3s1", 8, 4, 5, 3, 2, 7, 9, 3, 1)
    conv_case("conv2d_k3s2_stem", 8, 3, 6, 3, 2, 9, 7, 3, 2, acc0=0.5)
    conv_case("conv2d_k3s2_cin1", 4, 2, 3, 1, 2, 7, 7, 3, 2)
    conv_case("conv2d_k5s2", 7, 6, 5, 4, 1, 9, 9, 5, 2)
    conv_case("conv2d_k1s2", 4, 8, 3, 5, 2, 7, 5, 1, 2)
    # batch 17: kernels that vectorise over the batch (CHWN) run a full vector plus a remainder
    conv_case("conv2d_k3s2_n17", 5, 3, 4, 2, 17, 5, 7, 3, 2, acc0=0.5)
    conv_case("conv1x1_n17", 6, 5, 3, 4, 17, 3, 3, 1, 1)


# ----------------------------------------------------------------------------------------------
# depthwise convolution: stored [C_full][1][K][K], active = first c channels, centre k x k crop

def dw_case(case, c_full, c, n, h, w, K, k, s, acc0=0.0):
    seed(case)
    x = randn(n, c, h, w)
    wf = randn(c_full, 1, K, K, scale=1.0 / k)
    x64, w64 = d64(x), d64(wf)
    o = (K - k) // 2
    y = F.conv2d(x64, w64[:c, :, o:o + k, o:o + k], stride=s, padding=k // 2, groups=c)
    dy = randn(*y.shape)
    dx, dw = grads(y, dy, [x64, w64])
    write(case, dict(c_full=c_full, c=c, n=n, h=h, w=w, K=K, k=k, s=s, ho=y.shape[2], wo=y.shape[3], acc0=acc0,
                     x=cnhw(x), wt=wf, y=cnhw(y), dy=cnhw(dy), dx=cnhw(dx), dw=dw))


def gen_dw():
    dw_case("dw_k3s1_crop5", 6, 5, 2, 7, 9, 5, 3, 1, acc0=0.5)
    dw_case("dw_k3s2_n1", 4, 4, 1, 9, 7, 3, 3, 2)
    dw_case("dw_k5s1_crop7", 5, 3, 2, 7, 7, 7, 5, 1)
    dw_case("dw_k5s2", 5, 4, 2, 9, 11, 5, 5, 2, acc0=0.5)
    dw_case("dw_k7s2_n1", 4, 3, 1, 9, 7, 7, 7, 2)
    dw_case("dw_k7s1_small", 3, 3, 2, 5, 5, 7, 7, 1)
    dw_case("dw_k3s2_crop7", 3, 2, 2, 8, 6, 7, 3, 2)
    # batches of 8 and more take the batch-innermost path; 9 and 19 leave vector remainders
    dw_case("dw_k3s1_crop5_n9", 4, 3, 9, 5, 7, 5, 3, 1, acc0=0.5)
    dw_case("dw_k5s2_crop7_n19", 4, 2, 19, 7, 5, 7, 5, 2)
    dw_case("dw_k7s1_n8", 2, 2, 8, 4, 5, 7, 7, 1)
    # register blocks of 32, 16 and 8 samples plus a remainder (61 = 32 + 16 + 8 + 5), rows wide
    # enough for whole column blocks inside and border columns on both sides, both column phases
    # of stride 2 (odd widths)
    dw_case("dw_k5s1_n61_w14", 3, 2, 61, 3, 14, 5, 5, 1, acc0=0.5)
    dw_case("dw_k3s2_crop5_n24_w17", 3, 2, 24, 6, 17, 5, 3, 2)
    dw_case("dw_k7s2_n16_w13", 2, 2, 16, 7, 13, 7, 7, 2, acc0=0.5)


# ----------------------------------------------------------------------------------------------
# batch normalisation

def bn_train_case(case, c_full, c, n, h, w, offset=0.0, spread=1.0, acc0=0.0):
    seed(case)
    x = randn(n, c, h, w, scale=spread) + rnd(1, c, 1, 1, lo=-1, hi=1) * spread + offset
    gamma = rnd(c_full, lo=0.5, hi=1.5)
    beta = rnd(c_full, lo=-0.5, hi=0.5)
    x64, g64, b64 = d64(x), d64(gamma), d64(beta)
    y = F.batch_norm(x64, None, None, g64[:c], b64[:c], training=True, eps=EPS_BN)
    dy = randn(*y.shape)
    dx, dg, db = grads(y, dy, [x64, g64, b64])
    xd = x.to(D)
    mean = xd.mean(dim=(0, 2, 3))
    var = xd.var(dim=(0, 2, 3), unbiased=False)
    rstd = 1.0 / torch.sqrt(var + EPS_BN)
    write(case, dict(c_full=c_full, c=c, n=n, h=h, w=w, acc0=acc0,
                     x=cnhw(x), gamma=gamma, beta=beta, y=cnhw(y), mean=mean, rstd=rstd,
                     dy=cnhw(dy), dx=cnhw(dx), dgamma=dg, dbeta=db))


def gen_bn():
    bn_train_case("bn_train_a", 7, 5, 2, 3, 5, acc0=0.5)
    bn_train_case("bn_train_n1", 3, 3, 1, 7, 7)
    # a mean that is large against the spread: exposes E[x^2] - E[x]^2 cancellation in float
    bn_train_case("bn_train_offset", 4, 4, 2, 9, 9, offset=20.0, spread=1.0)
    bn_train_case("bn_train_n17", 3, 2, 17, 3, 3)

    case = "bn_infer"
    seed(case)
    c_full, c, n, h, w = 6, 4, 2, 5, 3
    x = randn(n, c, h, w) * 2 + 0.3
    rmean = rnd(c_full, lo=-0.5, hi=0.5)
    rvar = rnd(c_full, lo=0.2, hi=3.0)
    gamma = rnd(c_full, lo=0.5, hi=1.5)
    beta = rnd(c_full, lo=-0.5, hi=0.5)
    y = F.batch_norm(x.to(D), rmean[:c].to(D), rvar[:c].to(D), gamma[:c].to(D), beta[:c].to(D),
                     training=False, eps=EPS_BN)
    write(case, dict(c_full=c_full, c=c, n=n, h=h, w=w, x=cnhw(x), rmean=rmean, rvar=rvar,
                     gamma=gamma, beta=beta, y=cnhw(y)))

    case = "bn_stats"
    seed(case)
    c, n, h, w = 5, 2, 3, 3
    xs = [randn(n, c, h, w, scale=0.5 + i) + rnd(1, c, 1, 1, lo=-2, hi=2) for i in range(3)]
    means = [x.to(D).mean(dim=(0, 2, 3)) for x in xs]
    vars_ = [x.to(D).var(dim=(0, 2, 3), unbiased=True) for x in xs]
    t = dict(c=c, n=n, h=h, w=w, nbatches=3)
    for i, x in enumerate(xs):
        t["x%d" % i] = cnhw(x)
        t["mean%d" % i] = means[i]
        t["var%d" % i] = vars_[i]
    t["rmean"] = sum(means) / 3
    t["rvar"] = sum(vars_) / 3
    write(case, t)


# ----------------------------------------------------------------------------------------------
# activations

def act_refs(x, dy):
    out = {}
    for name, f in (("swish", F.silu), ("relu", F.relu), ("hsig", F.hardsigmoid)):
        x64 = d64(x)
        y = f(x64)
        (dx,) = grads(y, dy, [x64])
        out["y_" + name] = y
        out["dx_" + name] = dx
    return out


def gen_act():
    case = "act_smooth"
    seed(case)
    n = 257
    x = rnd(n, lo=-6, hi=6)
    for kink in (0.0, -3.0, 3.0):  # keep backward away from the kinks
        near = (x - kink).abs() < 1e-2
        x[near] = kink + 2e-2
    dy = randn(n)
    write(case, dict(n=n, acc0=0.5, x=x, dy=dy, **act_refs(x, dy)))

    # exactly at the kinks, and far out (overflow-prone exp in swish / sigmoid)
    case = "act_kinks"
    seed(case)
    x = torch.tensor([0.0, -0.0, 3.0, -3.0, 6.0, -6.0, 2.5, -2.5, 1e-7, -1e-7, 2.9999998, -2.9999998,
                      3.0000002, -3.0000002, 20.0, -20.0, 88.0, -88.0, 100.0, -100.0, 0.5], dtype=torch.float32)
    n = x.numel()
    dy = rnd(n, lo=0.5, hi=1.5)
    write(case, dict(n=n, acc0=0.0, x=x, dy=dy, **act_refs(x, dy)))


# ----------------------------------------------------------------------------------------------
# squeeze-and-excitation

def se_case(case, c_full, r_full, c, r, n, h, w, acc0=0.0):
    seed(case)
    x = randn(n, c, h, w) + 0.2
    w1 = randn(r_full, c_full, 1, 1, scale=2.0 / np.sqrt(c))
    b1 = rnd(r_full, lo=-0.3, hi=0.3)
    w2 = randn(c_full, r_full, 1, 1, scale=3.0 / np.sqrt(r))
    b2 = rnd(c_full, lo=-1, hi=1)
    # choose b1 so that sample 0 has reduce-conv outputs on both sides of relu's kink
    pre = (w1[:r, :c, 0, 0].to(D) @ x.to(D).mean((2, 3))[0, :]).to(torch.float32)
    for j in range(r):
        b1[j] = -pre[j] + (0.4 if j % 2 == 0 else -0.4)
    # and b2 so that the gates of channels 0 and 1 saturate (z2 > 3 and z2 < -3): zero gradient there
    b2[0], b2[1] = 8.0, -8.0
    x64, w164, b164, w264, b264 = d64(x), d64(w1), d64(b1), d64(w2), d64(b2)
    s = x64.mean((2, 3), keepdim=True)
    z1 = F.conv2d(s, w164[:r, :c], b164[:r])
    z2 = F.conv2d(F.relu(z1), w264[:c, :r], b264[:c])
    g = F.hardsigmoid(z2)
    y = x64 * g
    dy = randn(*y.shape)
    dx, dw1, db1, dw2, db2 = grads(y, dy, [x64, w164, b164, w264, b264])
    z1v = z1.detach().reshape(n, r)
    z2v = z2.detach().reshape(n, c)
    # the test needs gates inside the linear ramp and on both flat parts, and z1 on both sides of 0
    assert (z2v.abs() < 3).sum() >= 2 and (z2v > 3).sum() >= 1 and (z2v < -3).sum() >= 1
    assert (z1v > 0).sum() >= 1 and (z1v < 0).sum() >= 1
    write(case, dict(c_full=c_full, r_full=r_full, c=c, r=r, n=n, h=h, w=w, acc0=acc0,
                     x=cnhw(x), w1=w1, b1=b1, w2=w2, b2=b2, y=cnhw(y), dy=cnhw(dy),
                     dx=cnhw(dx), dw1=dw1, db1=db1, dw2=dw2, db2=db2))


def gen_se():
    se_case("se_a", 8, 4, 6, 3, 2, 5, 3, acc0=0.5)
    se_case("se_n1", 5, 3, 5, 2, 1, 7, 7)
    se_case("se_n17", 6, 4, 4, 3, 17, 3, 3)


# ----------------------------------------------------------------------------------------------
# pooling

def avgpool_case(case, c, n, h, w, pad, acc0=0.0):
    seed(case)
    x = randn(n, c, h, w)
    x64 = d64(x)
    y = F.avg_pool2d(x64, 2, stride=2, padding=pad, count_include_pad=True)
    dy = randn(*y.shape)
    (dx,) = grads(y, dy, [x64])
    write(case, dict(c=c, n=n, h=h, w=w, pad=pad, ho=y.shape[2], wo=y.shape[3], acc0=acc0,
                     x=cnhw(x), y=cnhw(y), dy=cnhw(dy), dx=cnhw(dx)))


def gen_pool():
    avgpool_case("avgpool_p0_even", 3, 2, 6, 8, 0)
    avgpool_case("avgpool_p1_odd", 2, 2, 7, 5, 1, acc0=0.5)
    avgpool_case("avgpool_p1_n1", 3, 1, 7, 7, 1)
    avgpool_case("avgpool_p0_odd", 2, 2, 7, 5, 0)
    avgpool_case("avgpool_p1_n19", 2, 19, 5, 7, 1, acc0=0.5)

    for case, c, n, h, w in (("gap", 3, 2, 5, 3), ("gap_n17", 2, 17, 3, 5)):
        seed(case)
        x = randn(n, c, h, w)
        x64 = d64(x)
        y = x64.mean((2, 3))  # [n][c]
        dy = randn(n, c)
        (dx,) = grads(y, dy, [x64])
        write(case, dict(c=c, n=n, h=h, w=w, acc0=0.5, x=cnhw(x), y=y.t().contiguous(), dy=dy.t().contiguous(),
                         dx=cnhw(dx)))


# ----------------------------------------------------------------------------------------------
# linear classifier: x [in][n] in the fixture, y [n][out]

def linear_case(case, out_full, in_full, out, inn, n, bias=True, acc0=0.0):
    seed(case)
    x = randn(n, inn)
    wf = randn(out_full, in_full, scale=1.0 / np.sqrt(inn))
    bf = rnd(out_full, lo=-0.5, hi=0.5)
    x64, w64, b64 = d64(x), d64(wf), d64(bf)
    y = F.linear(x64, w64[:out, :inn], b64[:out] if bias else None)
    dy = randn(n, out)
    if bias:
        dx, dw, db = grads(y, dy, [x64, w64, b64])
    else:
        dx, dw = grads(y, dy, [x64, w64])
        db = torch.zeros(out_full, dtype=D)
    write(case, dict(out_full=out_full, in_full=in_full, out=out, inn=inn, n=n, bias=int(bias), acc0=acc0,
                     x=x.t().contiguous(), wt=wf, b=bf, y=y, dy=dy, dx=dx.t().contiguous(), dw=dw, db=db))


def gen_linear():
    linear_case("linear_a", 10, 12, 7, 9, 3, acc0=0.5)
    linear_case("linear_n1", 6, 5, 4, 5, 1)
    linear_case("linear_nobias", 9, 7, 9, 6, 5, bias=False)


# ----------------------------------------------------------------------------------------------
# dropout / drop-connect: the mask is an input

def gen_dropout():
    case = "dropout"
    seed(case)
    n, p = 101, 0.3
    x = randn(n)
    mask = (torch.rand(n) >= p).to(torch.uint8)
    mask[0], mask[1] = 0, 1
    dy = randn(n)
    m64 = mask.to(D)
    y = x.to(D) * m64 / (1.0 - p)
    dx = dy.to(D) * m64 / (1.0 - p)
    write(case, dict(n=n, p=p, acc0=0.5, x=x, mask=mask, y=y, dy=dy, dx=dx))

    for case, c, n, h, w, keep, acc0 in (("drop_connect", 3, 4, 3, 5, 0.8, 0.0),
                                         ("drop_connect_n19", 2, 19, 3, 3, 0.7, 0.5)):
        seed(case)
        x = randn(n, c, h, w)
        mask = (torch.rand(n) < keep).to(torch.uint8)
        mask[0], mask[1] = 1, 0
        dy = randn(n, c, h, w)
        sc = (mask.to(D) / keep).reshape(n, 1, 1, 1)
        y = x.to(D) * sc
        dx = dy.to(D) * sc
        write(case, dict(c=c, n=n, h=h, w=w, keep=keep, acc0=acc0, x=cnhw(x), mask=mask, y=cnhw(y), dy=cnhw(dy),
                         dx=cnhw(dx)))


# ----------------------------------------------------------------------------------------------
# resize

def resize_case(case, mode, c, n, hin, win, hout, wout, acc0=0.0):
    seed(case)
    x = randn(n, c, hin, win)
    x64 = d64(x)
    y = F.interpolate(x64, size=(hout, wout), mode=mode, align_corners=False)
    dy = randn(*y.shape)
    (dx,) = grads(y, dy, [x64])
    write(case, dict(c=c, n=n, hin=hin, win=win, hout=hout, wout=wout, acc0=acc0,
                     x=cnhw(x), y=cnhw(y), dy=cnhw(dy), dx=cnhw(dx)))


def gen_resize():
    for mode, tag in (("bicubic", "bicubic"), ("bilinear", "bilinear")):
        resize_case(tag + "_28to20", mode, 2, 1, 28, 28, 20, 20, acc0=0.5)
        resize_case(tag + "_28to24", mode, 1, 2, 28, 28, 24, 24)
        resize_case(tag + "_20to28", mode, 2, 1, 20, 20, 28, 28)
        resize_case(tag + "_7x9to5x11", mode, 3, 2, 7, 9, 5, 11)
        resize_case(tag + "_5x7to9x4_n17", mode, 1, 17, 5, 7, 9, 4, acc0=0.5)


# ----------------------------------------------------------------------------------------------
# softmax, log-softmax, label-smoothed cross-entropy

def logits(n, k):
    z = randn(n, k, scale=3.0)
    z[1] = 0.0
    z[1, 0], z[1, 1], z[1, 2], z[1, 3] = 80.0, -80.0, 79.5, -79.0  # extreme row: results must stay finite
    # beyond double's exp range: only subtracting the row maximum keeps this finite
    z[2, 0], z[2, 1], z[2, 2], z[2, 3] = -1000.0, 1000.0, 999.0, -999.5
    return z


def gen_softmax():
    case = "softmax"
    seed(case)
    n, k = 4, 11
    z = logits(n, k)
    z64 = d64(z)
    p = F.softmax(z64, dim=1)
    dp = randn(n, k)
    (dzp,) = grads(p, dp, [z64])
    z64 = d64(z)
    lp = F.log_softmax(z64, dim=1)
    dlp = randn(n, k)
    (dzl,) = grads(lp, dlp, [z64])
    write(case, dict(n=n, k=k, acc0=0.5, z=z, p=p, dp=dp, dz_softmax=dzp, lp=lp, dlp=dlp, dz_log_softmax=dzl))

    for case, eps, scale, acc0 in (("ce_ls01", 0.1, 1.0, 0.0), ("ce_ls0_half", 0.0, 0.5, 0.5)):
        seed(case)
        n, k = 5, 7
        z = logits(n, k)
        labels = torch.randint(0, k, (n,))
        labels[1] = 1  # the extreme row's label sits on its -80 logit: large but finite loss
        labels[2] = 3  # and on -999.5 in the +-1000 row
        z64 = d64(z)
        loss = F.cross_entropy(z64, labels, label_smoothing=eps, reduction="mean")
        (dz,) = torch.autograd.grad(loss, [z64])
        write(case, dict(n=n, k=k, eps=eps, scale=scale, acc0=acc0, z=z, labels=labels.to(torch.int32),
                         loss=loss.reshape(1), dz=dz * scale))


def main():
    if "--check-kinks" in sys.argv:
        x = torch.tensor([-3.0, 0.0, 3.0], dtype=D, requires_grad=True)
        F.hardsigmoid(x).sum().backward()
        print("hardsigmoid' at -3, 0, 3:", x.grad.tolist())
        return
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for f in (gen_gemm, gen_conv, gen_dw, gen_bn, gen_act, gen_se, gen_pool, gen_linear, gen_dropout,
              gen_resize, gen_softmax):
        f()
    total = sum(b for _, b in written)
    for case, b in written:
        print("%-24s %7d bytes" % (case, b))
    print("%d fixtures, %d bytes total -> %s" % (len(written), total, OUT))


if __name__ == "__main__":
    main()
