#!/usr/bin/python3
"""supernet_ref.py - PyTorch golden reference of the AlphaNet supernet and of one sandwich step.

A functional re-implementation of the official AttentiveNAS/AlphaNet dynamic supernet
(use_v3_head, swish; docs/algorithm.md sections 1-4) on a dict of full supernet tensors named like
the official state_dict, of the official training step (largest subnet with dropout and
drop-connect on label-smoothed CE, random and smallest subnets distilled, summed gradients,
elementwise clip, SGD with Nesterov momentum), and of BN calibration with calibrated inference
(section 5). Dropout and drop-connect masks come from the same counter-based hash as the C code
(include/alphanet/rng.h), so the C implementation can reproduce every step exactly.

Writes (format: tests/support/fixture.h; contents: tests/ref/README.md):
    tests/fixtures/supernet/sandwich_alpha.anfx, sandwich_kl.anfx, sandwich_none.anfx
    tests/fixtures/supernet/curve_alpha.anfx
    tests/fixtures/supernet/calibration.anfx

Everything is computed in float64 from float32 inputs and parameters and stored as float32.
Inputs and initial parameters are drawn deterministically (torch generator seeded from a
fixed name), so a rerun gives byte-identical files.

Regenerate (needs Debian's python3-torch and python3-yaml; CI uses the committed fixtures):
    /usr/bin/python3 tests/ref/supernet_ref.py [--config tests/fixtures/supernet/tiny.yaml]
    /usr/bin/python3 tests/ref/supernet_ref.py --check     # sanity checks only, writes nothing
    /usr/bin/python3 tests/ref/supernet_ref.py --f32       # float32 vs float64 deviations (tolerances)
    /usr/bin/python3 tests/ref/supernet_ref.py --full      # + redundant tensors, into /tmp/alphanet_supernet_full
"""

import argparse
import math
import os
import random
import zlib

import numpy as np
import torch

import anfx  # noqa: E402  (this folder)
import torch.nn.functional as F
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "supernet"))
DEFAULT_CONFIG = os.path.join(OUT, "tiny.yaml")
D = torch.float64
EPS_BN = 1e-5
CLASSIFIER_GAIN = 10.0

written = []

# ----------------------------------------------------------------------------------------------
# fixture writer (same format and conventions as kernels_ref.py)


def write(case, tensors):
    """tensors: dict name -> torch tensor or python int/float scalar (insertion order kept)."""
    buf = anfx.encode(tensors)
    path = os.path.join(OUT, case + ".anfx")
    with open(path, "wb") as fp:
        fp.write(buf)
    written.append((case, len(buf)))


def gen(case):
    """A torch generator seeded from a name (deterministic)."""
    g = torch.Generator()
    g.manual_seed(zlib.crc32(case.encode()))
    return g


# ----------------------------------------------------------------------------------------------
# the counter-based hash of include/alphanet/rng.h (64-bit wrap-around)

M64 = (1 << 64) - 1


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def an_hash3(seed, stream, index):
    h = mix64((seed + 0x9E3779B97F4A7C15) & M64)
    h = mix64(h ^ ((stream + 0xD1B54A32D192ED03) & M64))
    return mix64(h ^ ((index * 0x9E3779B97F4A7C15 + 0x8CB92BA72F3D8DD7) & M64))


def an_hash_uniform(seed, stream, index):
    # (float)(h >> 40) * 2^-24 is exact in float and in double
    return (an_hash3(seed, stream, index) >> 40) / 16777216.0


# smallest distance |u - keep| seen over every mask draw: the fixtures are valid for a C
# implementation that forms keep = 1 - p in float or in double only if no draw is that close
mask_margin = [1.0]


def keep_mask(seed, stream, indices, keep):
    m = []
    for i in indices:
        u = an_hash_uniform(seed, stream, i)
        mask_margin[0] = min(mask_margin[0], abs(u - keep))
        m.append(1 if u < keep else 0)
    return torch.tensor(m, dtype=torch.uint8)


def stream_of(t, k):
    return (t + 1) * 2 ** 32 + k


# ----------------------------------------------------------------------------------------------
# search space (the YAML `space` section) and architectures


def make_divisible(v, divisor=8, min_value=1):
    """The official rounding (nn_utils.make_divisible, min_value=1). The C an_make_divisible uses
    min_value = divisor; the two differ only for v < 4, which the spaces here never reach."""
    assert v >= divisor / 2, "make_divisible(%r): below the range where official and C agree" % v
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Space:
    def __init__(self, cfg):
        s = cfg["space"]
        self.in_ch = int(s["in_channels"])
        self.classes = int(s["classes"])
        self.resolutions = sorted(int(v) for v in s["resolutions"])
        self.stem_widths = sorted(int(v) for v in s["stem"]["width"])
        self.stem_stride = int(s["stem"].get("stride", 2))
        self.stages = []
        for g in s["stages"]:
            self.stages.append(dict(name=g["name"], width=sorted(g["width"]), depth=sorted(g["depth"]),
                                    kernel=sorted(g["kernel"]), expand=sorted(g["expand"]),
                                    stride=int(g["stride"]), se=bool(g["se"])))
        self.head_expand = int(s["head"]["expand"])
        self.mix_widths = sorted(int(v) for v in s["head"]["mix_width"])
        self.nstages = len(self.stages)
        self.arch_len = 2 + 4 * self.nstages + 1
        self._build()

    def _build(self):
        """Supernet blocks (max depth per stage) with their full tensor sizes, and the parameter list
        in the official state_dict order."""
        self.blocks = []
        self.params = []  # (name, shape, kind) kind: conv | bn_w | bn_b | bias | linear
        p = self.params
        cs = max(self.stem_widths)
        p.append(("first_conv.conv.conv.weight", (cs, self.in_ch, 3, 3), "conv"))
        p.append(("first_conv.bn.bn.weight", (cs,), "bn_w"))
        p.append(("first_conv.bn.bn.bias", (cs,), "bn_b"))
        in_max = cs
        b = 0
        for si, g in enumerate(self.stages):
            out_max = max(g["width"])
            for i in range(max(g["depth"])):
                emax = max(g["expand"])
                mid_max = int(round(in_max * emax))
                blk = dict(index=b, stage=si, pos=i, in_max=in_max, out_max=out_max, mid_max=mid_max,
                           kmax=max(g["kernel"]), stride=g["stride"] if i == 0 else 1, se=g["se"],
                           has_expand=emax != 1,
                           se_max=make_divisible(mid_max // 4, 8) if g["se"] else 0)
                pre = "blocks.%d.mobile_inverted_conv." % b
                if blk["has_expand"]:
                    p.append((pre + "inverted_bottleneck.conv.conv.weight", (mid_max, in_max, 1, 1), "conv"))
                    p.append((pre + "inverted_bottleneck.bn.bn.weight", (mid_max,), "bn_w"))
                    p.append((pre + "inverted_bottleneck.bn.bn.bias", (mid_max,), "bn_b"))
                p.append((pre + "depth_conv.conv.conv.weight", (mid_max, 1, blk["kmax"], blk["kmax"]), "conv"))
                p.append((pre + "depth_conv.bn.bn.weight", (mid_max,), "bn_w"))
                p.append((pre + "depth_conv.bn.bn.bias", (mid_max,), "bn_b"))
                if g["se"]:
                    r = blk["se_max"]
                    p.append((pre + "depth_conv.se.fc.reduce.weight", (r, mid_max, 1, 1), "conv"))
                    p.append((pre + "depth_conv.se.fc.reduce.bias", (r,), "bias"))
                    p.append((pre + "depth_conv.se.fc.expand.weight", (mid_max, r, 1, 1), "conv"))
                    p.append((pre + "depth_conv.se.fc.expand.bias", (mid_max,), "bias"))
                p.append((pre + "point_linear.conv.conv.weight", (out_max, mid_max, 1, 1), "conv"))
                p.append((pre + "point_linear.bn.bn.weight", (out_max,), "bn_w"))
                p.append((pre + "point_linear.bn.bn.bias", (out_max,), "bn_b"))
                p.append(("blocks.%d.shortcut.conv.conv.weight" % b, (out_max, in_max, 1, 1), "conv"))
                self.blocks.append(blk)
                in_max = out_max
                b += 1
        self.total_blocks = b
        e = self.head_expand * in_max
        mx = max(self.mix_widths)
        p.append(("last_conv.final_expand_layer.conv.conv.weight", (e, in_max, 1, 1), "conv"))
        p.append(("last_conv.final_expand_layer.bn.bn.weight", (e,), "bn_w"))
        p.append(("last_conv.final_expand_layer.bn.bn.bias", (e,), "bn_b"))
        p.append(("last_conv.feature_mix_layer.conv.conv.weight", (mx, e, 1, 1), "conv"))
        p.append(("classifier.linear.linear.weight", (self.classes, mx), "linear"))
        p.append(("classifier.linear.linear.bias", (self.classes,), "bias"))
        self.names = [n for n, _, _ in p]
        self.shapes = {n: s for n, s, _ in p}
        self.kinds = {n: k for n, _, k in p}

    def nparams(self):
        return sum(int(np.prod(s)) for _, s, _ in self.params)

    # archs: dict(res, stem, stages=[(w, d, k, e)], mix); vector form [res, stem, (w,d,k,e) x n, mix]
    def pick(self, f):
        return dict(res=f(self.resolutions), stem=f(self.stem_widths),
                    stages=[(f(g["width"]), f(g["depth"]), f(g["kernel"]), f(g["expand"])) for g in self.stages],
                    mix=f(self.mix_widths))

    def largest(self):
        return self.pick(max)

    def smallest(self):
        return self.pick(min)

    def sample(self, rng):
        return self.pick(rng.choice)

    def validate(self, a):
        assert a["res"] in self.resolutions and a["stem"] in self.stem_widths and a["mix"] in self.mix_widths
        for (w, d, k, e), g in zip(a["stages"], self.stages):
            assert w in g["width"] and d in g["depth"] and k in g["kernel"] and e in g["expand"], (a, g)

    def vec(self, a):
        v = [a["res"], a["stem"]]
        for st in a["stages"]:
            v += list(st)
        v.append(a["mix"])
        assert len(v) == self.arch_len
        return v

    def text(self, a):
        return "r%d s%d %s h%d" % (a["res"], a["stem"], " ".join("%d/%d/%d/%d" % st for st in a["stages"]), a["mix"])


# ----------------------------------------------------------------------------------------------
# parameters


def init_params(space, g, official=False):
    """float32 tensors: torch's default init over the full tensors (kaiming_uniform a = sqrt(5) for
    conv and linear weights, uniform +-1/sqrt(fan_in) for biases, BN 1 / 0), then point_linear BN
    gamma = 0 (the official zero_residual_block_bn_weights). Unless `official`, every BN gamma is then
    redrawn from U(0.5, 1.5) and every BN beta from U(-0.2, 0.2), so that the golden tests see them,
    and the classifier weight is multiplied by CLASSIFIER_GAIN."""
    P = {}
    fan = {}
    for name, shape, kind in space.params:
        if kind in ("conv", "linear"):
            t = torch.empty(shape, dtype=torch.float32)
            fan_in = int(np.prod(shape[1:]))
            bound = 1.0 / math.sqrt(fan_in)  # = gain(a=sqrt 5) * sqrt(3 / fan_in)
            t.uniform_(-bound, bound, generator=g)
            fan[name.rsplit(".", 1)[0]] = fan_in
        elif kind == "bias":
            fan_in = fan[name.rsplit(".", 1)[0]]
            bound = 1.0 / math.sqrt(fan_in)
            t = torch.empty(shape, dtype=torch.float32).uniform_(-bound, bound, generator=g)
        elif kind == "bn_w":
            t = torch.ones(shape, dtype=torch.float32)
            if "point_linear" in name:
                t.zero_()
        else:
            t = torch.zeros(shape, dtype=torch.float32)
        P[name] = t
    if not official:
        # logits of a few units instead of ~0.1, so that subnets disagree with the teacher clearly:
        # at p ~ q every alpha-divergence is ~ chi^2 / 2 and the adaptive branch choice would be a
        # near tie that float32 could flip
        P["classifier.linear.linear.weight"] *= CLASSIFIER_GAIN
        for name, shape, kind in space.params:
            if kind == "bn_w":
                P[name] = torch.empty(shape, dtype=torch.float32).uniform_(0.5, 1.5, generator=g)
            elif kind == "bn_b":
                P[name] = torch.empty(shape, dtype=torch.float32).uniform_(-0.2, 0.2, generator=g)
    return P


def to_leaves(P32):
    return {n: t.to(D).clone().requires_grad_(True) for n, t in P32.items()}


def wd_applies(name):
    """The official build_optimizer: no weight decay on names containing '.bn' or '.bias'."""
    return ".bn" not in name and ".bias" not in name


# ----------------------------------------------------------------------------------------------
# the supernet forward (the official dynamic model, functionally)


def swish(x):
    return x * torch.sigmoid(x)


def bn(x, P, pre, bns=None):
    """BN of module `pre` on the active channels of x: batch statistics, or what `bns` (a BNStats,
    for calibration and calibrated inference) does."""
    c = x.size(1)
    if bns is not None:
        return bns(x, P[pre + ".weight"][:c], P[pre + ".bias"][:c], pre)
    return F.batch_norm(x, None, None, P[pre + ".weight"][:c], P[pre + ".bias"][:c], training=True, eps=EPS_BN)


class BNStats:
    """BN statistics of one subnet for calibration (docs/algorithm.md section 5), in two modes.

    'calib': every BN normalises with its batch statistics (as bn() without BNStats) and records
    the batch mean and the UNBIASED batch variance of its input over (n, h, w), per active
    channel. The same statistics are also kept the way the official evaluation gets them: torch
    BN running buffers reset to 0 / 1 and updated by F.batch_norm with momentum 1/k at the k-th
    batch, i.e. nn.BatchNorm2d with momentum=None (cumulative average) as set by AttentiveNAS's
    reset_running_stats_for_calibration(). finish() checks that the two agree.
    'infer' (after finish()): every BN uses the running statistics (eval mode, eps 1e-5)."""

    def __init__(self):
        self.mode = "calib"
        self.batches = {}  # pre -> list of (mean [c], unbiased var [c])
        self.buf = {}      # pre -> (running_mean, running_var, batches seen): torch's own update
        self.mean, self.var = {}, {}

    def __call__(self, x, w, b, pre):
        if self.mode == "infer":
            return F.batch_norm(x, self.mean[pre], self.var[pre], w, b, training=False, eps=EPS_BN)
        c = x.size(1)
        self.batches.setdefault(pre, []).append((x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=True)))
        rm, rv, k = self.buf.get(pre, (torch.zeros(c, dtype=x.dtype), torch.ones(c, dtype=x.dtype), 0))
        y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=1.0 / (k + 1), eps=EPS_BN)
        self.buf[pre] = (rm, rv, k + 1)
        return y

    def finish(self):
        """Equal-weight averages over the batches; switches to 'infer'."""
        for pre, lst in self.batches.items():
            self.mean[pre] = torch.stack([m for m, _ in lst]).mean(0)
            self.var[pre] = torch.stack([v for _, v in lst]).mean(0)
            rm, rv, k = self.buf[pre]
            assert k == len(lst)
            tol = 1e-12 if rm.dtype == torch.float64 else 1e-5
            assert float((rm - self.mean[pre]).abs().max()) <= tol * (1 + float(self.mean[pre].abs().max())), pre
            assert float((rv - self.var[pre]).abs().max()) <= tol * float(self.var[pre].max()), pre
        self.mode = "infer"


def block_forward(space, P, blk, x, w, k, e, dc=None, bns=None):
    """One MBConv block with active output width w, kernel k, expand e. dc = (mask [n] float, rate)
    applies drop-connect to the branch (only called for identity-shortcut blocks). bns: see bn()."""
    b = blk["index"]
    pre = "blocks.%d.mobile_inverted_conv." % b
    cin = x.size(1)
    s = blk["stride"]
    h = x
    if blk["has_expand"]:
        mid = make_divisible(round(cin * e), 8)
        h = F.conv2d(h, P[pre + "inverted_bottleneck.conv.conv.weight"][:mid, :cin])
        h = swish(bn(h, P, pre + "inverted_bottleneck.bn.bn", bns))
    else:
        mid = cin
    o = (blk["kmax"] - k) // 2
    wdw = P[pre + "depth_conv.conv.conv.weight"][:mid, :, o:o + k, o:o + k]
    h = F.conv2d(h, wdw, None, s, k // 2, 1, mid)
    h = swish(bn(h, P, pre + "depth_conv.bn.bn", bns))
    if blk["se"]:
        r = make_divisible(mid // 4, 8)
        y = h.mean((2, 3), keepdim=True)
        y = F.conv2d(y, P[pre + "depth_conv.se.fc.reduce.weight"][:r, :mid], P[pre + "depth_conv.se.fc.reduce.bias"][:r])
        y = F.relu(y)
        y = F.conv2d(y, P[pre + "depth_conv.se.fc.expand.weight"][:mid, :r], P[pre + "depth_conv.se.fc.expand.bias"][:mid])
        h = h * (F.relu6(y + 3.0) / 6.0)
    h = F.conv2d(h, P[pre + "point_linear.conv.conv.weight"][:w, :mid])
    h = bn(h, P, pre + "point_linear.bn.bn", bns)
    if cin == w and s == 1:
        sc = x
    else:
        sc = x
        if s > 1:
            sc = F.avg_pool2d(sc, s, padding=0 if x.size(-1) % 2 == 0 else 1)
        if cin != w:
            sc = F.conv2d(sc, P["blocks.%d.shortcut.conv.conv.weight" % b][:w, :cin])
    if dc is not None:
        mask, rate = dc
        h = h * (mask.to(D).view(-1, 1, 1, 1) / (1.0 - rate))
    return h + sc


def dc_blocks_of(space, arch, drop_connect):
    """Global indices of the blocks where drop-connect acts for this arch, with their rates: active
    blocks of the last two stages with an identity shortcut (active in == out, stride 1), rate > 0."""
    out = []
    cin = arch["stem"]
    for si, (w, d, k, e) in enumerate(arch["stages"]):
        for blk in [bk for bk in space.blocks if bk["stage"] == si][:d]:
            rate = drop_connect * blk["index"] / space.total_blocks
            if si >= space.nstages - 2 and cin == w and blk["stride"] == 1 and rate > 0:
                out.append((blk["index"], rate))
            cin = w
    return out


def forward(space, P, arch, x, masks=None, record=None, bns=None):
    """Logits [n][K] of subnet `arch` on images x (NCHW, float64). masks: None, or dict with
    'dropout' (uint8 [n][mix], rate 'p') and 'dc' {block: (uint8 [n], rate)}. bns: None (every BN
    uses batch statistics) or a BNStats (calibration, calibrated inference)."""
    res = arch["res"]
    if x.size(-1) != res:
        x = F.interpolate(x, size=res, mode="bicubic", align_corners=False)
    cs = arch["stem"]
    x = F.conv2d(x, P["first_conv.conv.conv.weight"][:cs, :x.size(1)], None, space.stem_stride, 1)
    x = swish(bn(x, P, "first_conv.bn.bn", bns))
    if record is not None:
        record["stem"] = x
    for si, (w, d, k, e) in enumerate(arch["stages"]):
        for blk in [bk for bk in space.blocks if bk["stage"] == si][:d]:
            dc = None
            if masks is not None and blk["index"] in masks["dc"]:
                m, rate = masks["dc"][blk["index"]]
                dc = (m, rate)
            x = block_forward(space, P, blk, x, w, k, e, dc, bns)
    wl = x.size(1)
    ew = space.head_expand * wl
    x = F.conv2d(x, P["last_conv.final_expand_layer.conv.conv.weight"][:ew, :wl])
    x = swish(bn(x, P, "last_conv.final_expand_layer.bn.bn", bns))
    x = x.mean((2, 3), keepdim=True)
    mix = arch["mix"]
    x = swish(F.conv2d(x, P["last_conv.feature_mix_layer.conv.conv.weight"][:mix, :ew]))
    x = x.flatten(1)
    if masks is not None and masks["p"] > 0:
        x = x * (masks["dropout"].to(D) / (1.0 - masks["p"]))
    return F.linear(x, P["classifier.linear.linear.weight"][:, :mix], P["classifier.linear.linear.bias"])


def make_masks(space, arch, S, t, n, g0, dropout, drop_connect):
    """Masks of the largest subnet at step t for the samples g0 .. g0 + n - 1 of the global batch."""
    mix = arch["mix"]
    keep = 1.0 - dropout
    m = keep_mask(S, stream_of(t, 0), [g * mix + c for g in range(g0, g0 + n) for c in range(mix)], keep)
    masks = dict(p=dropout, dropout=m.view(n, mix), dc={})
    for b, rate in dc_blocks_of(space, arch, drop_connect):
        masks["dc"][b] = (keep_mask(S, stream_of(t, 1 + b), range(g0, g0 + n), 1.0 - rate), rate)
    return masks


# ----------------------------------------------------------------------------------------------
# losses


def ls_ce(z, labels, eps):
    k = z.size(1)
    target = F.one_hot(labels.long(), k).to(D) * (1.0 - eps) + eps / k
    return -(target * F.log_softmax(z, dim=1)).sum(1).mean()


def soft_ce(z, t):
    return -(F.softmax(t.detach(), dim=1) * F.log_softmax(z, dim=1)).sum(1).mean()


# smallest |D(alpha_min) - D(alpha_max)| seen (a near tie could flip the branch in float32)
alpha_margin = [float("inf")]


def alpha_branch(a, lq, lp, logc):
    """(D [n], c [n][k], clipped [n][k]) of one alpha, from log q and log p (constants)."""
    q = lq.exp()
    logw = lp - lq
    if abs(a) < 1e-3:
        clip = logw > logc
        logv = torch.where(clip, torch.full_like(logw, logc), logw)
        return (q * -logv).sum(1), q * (logv - 1.0), clip
    if abs(a - 1.0) < 1e-3:
        p = lp.exp()
        return (p * logw).sum(1), p, torch.zeros_like(logw, dtype=torch.bool)
    la = a * logw
    clip = la > logc
    ai = torch.where(clip, torch.full_like(la, logc), la).exp()
    return ((q * ai).sum(1) - 1.0) / (a * (a - 1.0)), q * (ai / a + 1.0 / (a * (a - 1.0))), clip


def alpha_div(z, t, amin, amax, iw_clip):
    """AlphaNet's adaptive alpha-divergence in the log form of docs/algorithm.md section 1. Returns the
    mean surrogate (what is differentiated) and the 7 statistics of distill.h as a float64 tensor:
    mean chosen D, fraction choosing alpha_min, fraction of (sample, class) weights clipped in the
    chosen branch, mean H(p), mean H(q), mean KL(p||q), mean surrogate."""
    logc = math.log(iw_clip)
    lqz = F.log_softmax(z, dim=1)
    lq = lqz.detach()
    lp = F.log_softmax(t.detach(), dim=1)
    dmin, cmin, clmin = alpha_branch(amin, lq, lp, logc)
    dmax, cmax, clmax = alpha_branch(amax, lq, lp, logc)
    alpha_margin[0] = min(alpha_margin[0], float((dmin - dmax).abs().min()))
    use_min = dmin > dmax
    um = use_min.view(-1, 1)
    c = torch.where(um, cmin, cmax)
    clip = torch.where(um, clmin, clmax)
    sur = -(c * lqz).sum(1)
    loss = sur.mean()
    n, k = z.shape
    q, p = lq.exp(), lp.exp()
    stats = torch.tensor([float(torch.where(use_min, dmin, dmax).mean()),
                          float(use_min.to(D).mean()),
                          float(clip.to(D).sum()) / (n * k),
                          float(-(p * lp).sum(1).mean()),
                          float(-(q * lq).sum(1).mean()),
                          float((p * (lp - lq)).sum(1).mean()),
                          float(sur.detach().mean())], dtype=D)
    return loss, stats


# ----------------------------------------------------------------------------------------------
# the sandwich step


DISTILL_CODE = {"alpha": 0, "kl": 1, "none": 2}


class Hyper:
    def __init__(self, tr, **over):
        self.seed = int(tr["seed"])
        self.momentum = float(tr["momentum"])
        self.nesterov = bool(tr["nesterov"])
        self.weight_decay = float(tr["weight_decay"])
        self.label_smoothing = float(tr["label_smoothing"])
        self.grad_clip = float(tr["grad_clip"])
        self.dropout = float(tr["dropout"])
        self.drop_connect = float(tr["drop_connect"])
        self.distill = str(tr["distill"])
        self.alpha_min = float(tr["alpha_min"])
        self.alpha_max = float(tr["alpha_max"])
        self.iw_clip = float(tr["iw_clip"])
        self.num_random = int(tr["num_random"])
        self.sandwich = bool(tr["sandwich"])
        for k, v in over.items():
            setattr(self, k, v)

    def scalars(self):
        return dict(seed=self.seed, momentum=self.momentum, nesterov=int(self.nesterov),
                    weight_decay=self.weight_decay, label_smoothing=self.label_smoothing,
                    grad_clip=self.grad_clip, dropout=self.dropout, drop_connect=self.drop_connect,
                    distill=DISTILL_CODE[self.distill], alpha_min=self.alpha_min, alpha_max=self.alpha_max,
                    iw_clip=self.iw_clip, num_random=self.num_random, sandwich=int(self.sandwich))


def step_archs(space, hp, rng):
    """The subnets of one step: largest, num_random random ones, then the smallest (or one more
    random one when sandwich is off)."""
    archs = [space.largest()] + [space.sample(rng) for _ in range(hp.num_random)]
    archs.append(space.smallest() if hp.sandwich else space.sample(rng))
    return archs


def sandwich_grads(space, hp, P, archs, x32, labels, t, record=None):
    """Zeroes the gradients of the float64 leaves P, runs the sandwich rule, leaves the summed
    gradients in P[*].grad (dense: zeros for parameters no subnet used). Returns per subnet
    (logits, loss, alpha stats or None, d loss / d logits), and the masks of the largest subnet."""
    for v in P.values():
        v.grad = None
    x = x32.to(D)
    n = x.size(0)
    out = []
    masks = make_masks(space, archs[0], hp.seed, t, n, 0, hp.dropout, hp.drop_connect)
    rec = {} if record is not None else None
    z = forward(space, P, archs[0], x, masks, rec)
    if record is not None:
        record.update(rec)
    z.retain_grad()
    loss = ls_ce(z, labels, hp.label_smoothing)
    loss.backward()
    T = z.detach()
    out.append((T, float(loss), None, z.grad.clone()))
    for a in archs[1:]:
        z = forward(space, P, a, x)
        z.retain_grad()
        st = None
        if hp.distill == "alpha":
            loss, st = alpha_div(z, T, hp.alpha_min, hp.alpha_max, hp.iw_clip)
        elif hp.distill == "kl":
            loss = soft_ce(z, T)
        else:
            loss = ls_ce(z, labels, hp.label_smoothing)
        loss.backward()
        out.append((z.detach(), float(loss), st, z.grad.clone()))
    for v in P.values():
        if v.grad is None:
            v.grad = torch.zeros_like(v)
    return out, masks


def sgd_step(P, mom, lr, hp):
    """clip_grad_value_ then torch.optim.SGD (momentum, dampening 0, Nesterov) on every parameter,
    weight decay only where wd_applies(name). mom: dict name -> buffer (absent = first step).
    Returns the number of gradient elements that were clipped."""
    nclip = 0
    with torch.no_grad():
        for name, p in P.items():
            g = p.grad
            if hp.grad_clip > 0:
                nclip += int((g.abs() > hp.grad_clip).sum())
                g = g.clamp(-hp.grad_clip, hp.grad_clip)
            d = g + hp.weight_decay * p if wd_applies(name) else g.clone()
            if hp.momentum != 0:
                buf = d.clone() if name not in mom else mom[name] * hp.momentum + d
                mom[name] = buf
                d = d + hp.momentum * buf if hp.nesterov else buf
            p -= lr * d
    return nclip


def lr_at(t, base, warm_iters, total):
    warm = 0.001 * (1.0 - t / warm_iters) + t / warm_iters if t < warm_iters else 1.0
    return base * warm * 0.5 * (1.0 + math.cos(math.pi * t / total))


# ----------------------------------------------------------------------------------------------
# fixtures


def names_blob(space):
    return torch.tensor(list("".join(n + "\n" for n in space.names).encode()), dtype=torch.uint8)


def batch(g, n, c, h, w, classes):
    x = torch.randn(n, c, h, w, generator=g, dtype=torch.float32)
    labels = torch.randint(0, classes, (n,), generator=g, dtype=torch.int64)
    return x, labels


def sandwich_archs(space):
    """The fixed random subnets of the sandwich fixtures (chosen to cover every block variant of the
    tiny space: shortcut conv without pooling, pooling without conv, pooling with padding (odd
    sides, from the 13 x 13 resolution), 3x3 crops, expand choices, the mixing width choices).
    For another config they are sampled."""
    r1 = dict(res=13, stem=8, stages=[(16, 2, 3, 1), (16, 1, 5, 2), (24, 2, 3, 3), (24, 1, 5, 4)], mix=48)
    r2 = dict(res=16, stem=16, stages=[(8, 1, 5, 1), (16, 2, 3, 4), (16, 1, 5, 4), (32, 2, 3, 4)], mix=32)
    try:
        space.validate(r1)
        space.validate(r2)
        return [r1, r2]
    except AssertionError:
        rng = random.Random(zlib.crc32(b"sandwich_archs"))
        return [space.sample(rng) for _ in range(2)]


def choose_step(space, hp, arch, n, lo=0):
    """The first step t >= lo at which every drop-connect block of `arch` keeps some samples and
    drops some, and the dropout mask drops something (so the fixture exercises every mask)."""
    t = lo
    while True:
        m = make_masks(space, arch, hp.seed, t, n, 0, hp.dropout, hp.drop_connect)
        ok = all(0 < int(v.sum()) < n for v, _ in m["dc"].values()) and 0 < int(m["dropout"].sum()) < m["dropout"].numel()
        if ok:
            return t
        t += 1


def sandwich_inputs(space):
    """The images, labels and initial (perturbed) parameters shared by the three sandwich fixtures
    and by the start of the curve."""
    g = gen("sandwich")
    x, labels = batch(g, 8, space.in_ch, 16, 16, space.classes)
    return x, labels, init_params(space, g)


def gen_sandwich(space, cfg, distill, wd, full):
    case = "sandwich_" + distill
    hp = Hyper(cfg["train"], distill=distill, weight_decay=wd)
    x, labels, P32 = sandwich_inputs(space)
    n = x.size(0)
    archs = [space.largest()] + sandwich_archs(space) + [space.smallest()]
    assert hp.num_random == 2 and hp.sandwich, "the sandwich fixtures assume num_random 2, sandwich on"
    for a in archs:
        space.validate(a)
    t = choose_step(space, hp, archs[0], n)
    lr = float(cfg["train"]["lr"])
    P = to_leaves(P32)
    rec = {}
    alpha_margin[0] = float("inf")
    out, masks = sandwich_grads(space, hp, P, archs, x, labels, t, record=rec)
    margin = alpha_margin[0]
    grads = {nm: P[nm].grad.clone() for nm in space.names}
    mom = {}
    nclip = sgd_step(P, mom, lr, hp)
    T = dict(nsub=len(archs), arch_len=space.arch_len, nparams=len(space.names), n=n, step=t, lr=lr)
    T.update(hp.scalars())
    T["names"] = names_blob(space)
    T["x"] = x
    T["labels"] = labels.to(torch.int32)
    T["archs"] = torch.tensor([space.vec(a) for a in archs], dtype=torch.int32)
    T["mask/dropout"] = masks["dropout"]
    dcb = sorted(masks["dc"])
    T["dc_blocks"] = torch.tensor(dcb if dcb else [-1], dtype=torch.int32)
    if dcb:
        T["dc_rates"] = torch.tensor([masks["dc"][b][1] for b in dcb], dtype=D)
        T["mask/dc"] = torch.stack([masks["dc"][b][0] for b in dcb])
    for s, (z, loss, st, dz) in enumerate(out):
        T["logits/%d" % s] = z
        T["dlogits/%d" % s] = dz
        T["loss/%d" % s] = loss
        if st is not None:
            T["alphastat/%d" % s] = st
    # the parameter-sized tensors only in sandwich_alpha (size budget); the kl and none fixtures
    # share its inputs and parameters and differ from it only in the losses and d loss / d logits
    if distill == "alpha" or full:
        T["act/0/stem"] = rec["stem"].detach()
        for j, nm in enumerate(space.names):
            T["param/%d" % j] = P32[nm]
        for j, nm in enumerate(space.names):
            T["grad/%d" % j] = grads[nm]
        for j, nm in enumerate(space.names):
            T["after/%d" % j] = P[nm].detach()
    if full:  # at the first step mom = clip(grad) + wd * param exactly (torch's buffer = d_p)
        for j, nm in enumerate(space.names):
            T["mom/%d" % j] = mom[nm]
    write(case, T)
    gmax = max(float(v.abs().max()) for v in grads.values())
    print("%s: step %d, losses %s, %d grad elements clipped (max |g| %.3g), dc blocks %s, "
          "min |D(a_min) - D(a_max)| %.3g"
          % (case, t, " ".join("%.5f" % o[1] for o in out), nclip, gmax, dcb, margin))
    for s, (a, o) in enumerate(zip(archs, out)):
        print("    subnet %d: %-50s %s" % (s, space.text(a), "" if o[2] is None else
                                          "stats " + " ".join("%.4f" % v for v in o[2])))


def gen_curve(space, cfg, full, steps=20, nbatches=4, warm=4, base=0.1):
    case = "curve_alpha"
    hp = Hyper(cfg["train"], distill="alpha")
    g = gen(case)
    n = 8
    xs, ls = [], []
    for _ in range(nbatches):
        x, labels = batch(g, n, space.in_ch, 16, 16, space.classes)
        xs.append(x)
        ls.append(labels)
    # the official initialisation (BN 1 / 0, project BN gamma 0): a realistic start, and one from
    # which float32 stays within ~1e-6 of float64 over the 20 steps (from the perturbed sandwich
    # parameters, lr 0.1 makes the run diverge and float32 drifts by ~1e-3)
    P32 = init_params(space, g, official=True)
    P = to_leaves(P32)
    rng = random.Random(zlib.crc32(case.encode()))
    mom = {}
    all_archs, lrs, losses = [], [], []
    alpha_margin[0] = float("inf")
    for t in range(steps):
        archs = step_archs(space, hp, rng)
        lr = lr_at(t, base, warm, steps)
        out, _ = sandwich_grads(space, hp, P, archs, xs[t % nbatches], ls[t % nbatches], t)
        sgd_step(P, mom, lr, hp)
        all_archs.append([space.vec(a) for a in archs])
        lrs.append(lr)
        losses.append([o[1] for o in out])
    T = dict(nsub=len(all_archs[0]), arch_len=space.arch_len, nparams=len(space.names), n=n, steps=steps,
             nbatches=nbatches, lr_base=base, lr_warmup=warm)
    T.update(hp.scalars())
    T["names"] = names_blob(space)
    for b in range(nbatches):
        T["x/%d" % b] = xs[b]
        T["labels/%d" % b] = ls[b].to(torch.int32)
    T["archs"] = torch.tensor(all_archs, dtype=torch.int32)
    T["lr"] = torch.tensor(lrs, dtype=D)
    T["loss"] = torch.tensor(losses, dtype=D)
    for j, nm in enumerate(space.names):
        T["param/%d" % j] = P32[nm]
    for j, nm in enumerate(space.names):
        T["final/%d" % j] = P[nm].detach()
    write(case, T)
    print("%s: min |D(a_min) - D(a_max)| %.3g; loss per step (largest, random..., smallest):" % (case, alpha_margin[0]))
    for t in range(steps):
        print("    t=%2d lr=%.6f  %s   %s" % (t, lrs[t], " ".join("%.5f" % v for v in losses[t]),
                                         " | ".join(space.text(space_arch(space, v)) for v in all_archs[t][1:3])))


def bn_modules(space):
    """The BN modules of the supernet in state_dict order (prefixes of their .weight names)."""
    return [n[:-len(".weight")] for n in space.names if space.kinds[n] == "bn_w"]


def calibration_inputs(space, sizes=(4, 6, 3), n_eval=8):
    """Parameters, calibration batches and evaluation batch of calibration.anfx. The batches have
    different sizes and distributions (scale, offset), so that equal weights per batch differ
    from weights per image and every batch shifts the averages visibly."""
    g = gen("calibration")
    P32 = init_params(space, g)
    shape = [(1.0, 0.0), (1.5, 0.3), (0.7, -0.4)]
    xs = []
    for b, nb in enumerate(sizes):
        sc, off = shape[b % len(shape)]
        x, _ = batch(g, nb, space.in_ch, 16, 16, space.classes)
        xs.append(x * sc + off)
    xe, _ = batch(g, n_eval, space.in_ch, 16, 16, space.classes)
    return P32, xs, xe


def calibration_archs(space):
    """A middle subnet (the first sandwich subnet: 13 x 13 input by bicubic resize, half the stem
    BN, partial expand and last-stage widths, two unused blocks), then the largest."""
    return [sandwich_archs(space)[0], space.largest()]


def calibrate(space, P, arch, xs, xe):
    """(BNStats after calibration on the batches xs, logits [n][K] on xe in inference mode,
    logits on xe with batch statistics)."""
    with torch.no_grad():
        st = BNStats()
        for x in xs:
            forward(space, P, arch, x.to(D), bns=st)
        st.finish()
        z = forward(space, P, arch, xe.to(D), bns=st)
        zb = forward(space, P, arch, xe.to(D))
    return st, z, zb


def gen_calibration(space):
    case = "calibration"
    P32, xs, xe = calibration_inputs(space)
    P = {k: t.to(D) for k, t in P32.items()}
    archs = calibration_archs(space)
    mods = bn_modules(space)
    T = dict(narchs=len(archs), arch_len=space.arch_len, nparams=len(space.names), nbn=len(mods),
             nbatches=len(xs), n_eval=xe.size(0))
    T["names"] = names_blob(space)
    T["bn_names"] = torch.tensor(list("".join(m + "\n" for m in mods).encode()), dtype=torch.uint8)
    for j, nm in enumerate(space.names):
        T["param/%d" % j] = P32[nm]
    for b, x in enumerate(xs):
        T["x/%d" % b] = x
    T["x_eval"] = xe
    T["archs"] = torch.tensor([space.vec(a) for a in archs], dtype=torch.int32)
    print("%s: batches of %s images, eval batch of %d" % (case, [x.size(0) for x in xs], xe.size(0)))
    for a, arch in enumerate(archs):
        space.validate(arch)
        st, z, zb = calibrate(space, P, arch, xs, xe)
        active = [st.mean[m].numel() if m in st.mean else 0 for m in mods]
        T["bn_active/%d" % a] = torch.tensor(active, dtype=torch.int32)
        for i, m in enumerate(mods):
            if active[i]:
                T["mean/%d/%d" % (a, i)] = st.mean[m]
                T["var/%d/%d" % (a, i)] = st.var[m]
        T["logits/%d" % a] = z
        vmin = min(float(v.min()) for v in st.var.values())
        print("    arch %d: %-50s %d of %d BNs, %d channels, min var %.3g, max |logit| %.3f, "
              "max |logit - batch-stat logit| %.3f"
              % (a, space.text(arch), sum(1 for c in active if c), len(mods), sum(active), vmin,
                 float(z.abs().max()), float((z - zb).abs().max())))
    write(case, T)


def space_arch(space, v):
    return dict(res=v[0], stem=v[1], stages=[tuple(v[2 + 4 * i:6 + 4 * i]) for i in range(space.nstages)], mix=v[-1])


# ----------------------------------------------------------------------------------------------
# sanity checks


def checks(space, cfg):
    hp = Hyper(cfg["train"])
    g = gen("checks")
    n = 4
    x32, labels = batch(g, n, space.in_ch, 16, 16, space.classes)
    x = x32.to(D)
    P = to_leaves(init_params(space, g))
    print("(a) supernet: %d blocks, %d parameter tensors, %d parameters"
          % (space.total_blocks, len(space.names), space.nparams()))

    # (b) gradient checks. The loss is a function of a scalar step h along a random direction v
    # in parameter space; its central difference must equal <grad, v>.
    def dirderiv(lossf, name):
        for p in P.values():
            p.grad = None
        lossf(P).backward()
        gv = {k: (p.grad if p.grad is not None else torch.zeros_like(p)) for k, p in P.items()}
        gd = torch.Generator().manual_seed(7)
        v = {k: torch.randn(p.shape, generator=gd, dtype=D) for k, p in P.items()}
        norm = math.sqrt(sum(float((t * t).sum()) for t in v.values()))
        v = {k: t / norm for k, t in v.items()}  # unit direction
        an = sum(float((gv[k] * v[k]).sum()) for k in P)
        with torch.no_grad():
            def at(h):
                Q = {k: P[k] + h * v[k] for k in P}
                return float(lossf(Q))

            def cd(h):
                return (at(h) - at(-h)) / (2 * h)
            eps = 1e-3
            fd = (4 * cd(eps / 2) - cd(eps)) / 3  # Richardson: O(eps^4)
        rel = abs(fd - an) / max(abs(an), 1e-12)
        print("(b) %-56s analytic %+.10e  finite diff %+.10e  rel err %.1e" % (name, an, fd, rel))
        assert rel < 1e-7, name

    big = space.largest()
    masks = make_masks(space, big, hp.seed, 0, n, 0, hp.dropout, hp.drop_connect)
    dirderiv(lambda Q: ls_ce(forward(space, Q, big, x, masks), labels, 0.1), "largest subnet, masks on, label-smoothed CE")
    for a in [space.smallest()] + sandwich_archs(space):
        T = torch.randn(n, space.classes, generator=g, dtype=D) * 2
        dirderiv(lambda Q: soft_ce(forward(space, Q, a, x), T), "%s, soft CE" % space.text(a))
    # torch.autograd.gradcheck w.r.t. the input images (through the bicubic resize), a 13 x 13 subnet
    a = sandwich_archs(space)[0]
    with torch.no_grad():
        Pc = {k: p.detach() for k, p in P.items()}
    xin = x[:2].clone().requires_grad_(True)
    ok = torch.autograd.gradcheck(lambda xx: ls_ce(forward(space, Pc, a, xx), labels[:2], 0.1), (xin,),
                                  eps=1e-6, atol=1e-8, rtol=1e-6)
    print("(b) gradcheck w.r.t. the images of %s: %s" % (space.text(a), ok))
    # the alpha surrogate's gradient w.r.t. the logits equals (q S - c) / n (docs/algorithm.md section 1)
    nz = 64
    z = (torch.randn(nz, space.classes, generator=g, dtype=D) * 3).requires_grad_(True)
    T = torch.randn(nz, space.classes, generator=g, dtype=D) * torch.linspace(0.1, 5, nz, dtype=D).view(-1, 1)
    loss, st = alpha_div(z, T, hp.alpha_min, hp.alpha_max, hp.iw_clip)
    (dz,) = torch.autograd.grad(loss, [z])
    lq = F.log_softmax(z.detach(), 1)
    lp = F.log_softmax(T, 1)
    q, p = lq.exp(), lp.exp()
    dmin = ((q * (q / p).clamp(max=hp.iw_clip)).sum(1) - 1) / 2  # alpha = -1
    dmax = (p * (lp - lq)).sum(1)
    c = torch.where((dmin > dmax).view(-1, 1), q * (0.5 - (q / p).clamp(max=hp.iw_clip)), p)
    ref = (q * c.sum(1, keepdim=True) - c) / nz
    err = float((dz - ref).abs().max())
    print("(b) alpha-divergence dL/dz vs (q S - c)/n (naive form): max abs err %.1e; %d of %d chose alpha_min, stats %s"
          % (err, int((dmin > dmax).sum()), nz, [round(float(v), 4) for v in st]))
    assert 0 < int((dmin > dmax).sum()) < nz and float(st[2]) > 0
    assert err < 1e-12

    # (c) one mask bit changes the largest subnet's loss
    with torch.no_grad():
        base = float(ls_ce(forward(space, P, big, x, masks), labels, 0.1))
        m2 = dict(masks, dropout=masks["dropout"].clone())
        m2["dropout"][1, 3] ^= 1
        l2 = float(ls_ce(forward(space, P, big, x, m2), labels, 0.1))
        print("(c) flipping dropout mask bit (1, 3): loss %.10f -> %.10f" % (base, l2))
        assert l2 != base
        for b in sorted(masks["dc"]):
            m3 = dict(masks, dc=dict(masks["dc"]))
            mm, rate = masks["dc"][b]
            mm = mm.clone()
            mm[0] ^= 1
            m3["dc"][b] = (mm, rate)
            l3 = float(ls_ce(forward(space, P, big, x, m3), labels, 0.1))
            print("(c) flipping drop-connect bit of sample 0 in block %d (rate %.4f): loss %.10f -> %.10f"
                  % (b, rate, base, l3))
            assert l3 != base
        # hash spot values (for a C unit test of an_hash3 / an_hash_uniform)
        for sd, st_, ix in ((0, 0, 0), (3, 2 ** 32, 5), (1, 7 * 2 ** 32 + 3, 123456789)):
            print("    an_hash3(%d, %d, %d) = 0x%016x, uniform %.9f" % (sd, st_, ix, an_hash3(sd, st_, ix),
                                                                     an_hash_uniform(sd, st_, ix)))


def f32_deviation(space, cfg, wd):
    """How far the same sandwich step computed in float32 (torch) lands from the float64 reference:
    a guide for the C test's tolerances."""
    global D
    res = {}
    for dt in (torch.float64, torch.float32):
        D = dt
        hp = Hyper(cfg["train"], distill="alpha", weight_decay=wd)
        x, labels, P32 = sandwich_inputs(space)
        archs = [space.largest()] + sandwich_archs(space) + [space.smallest()]
        t = choose_step(space, hp, archs[0], x.size(0))
        P = to_leaves(P32)
        out, _ = sandwich_grads(space, hp, P, archs, x, labels, t)
        grads = {nm: P[nm].grad.clone() for nm in space.names}
        sgd_step(P, {}, float(cfg["train"]["lr"]), hp)
        res[dt] = (out, grads, {nm: P[nm].detach().clone() for nm in space.names})
    D = torch.float64
    (o64, g64, a64), (o32, g32, a32) = res[torch.float64], res[torch.float32]
    for s_ in range(len(o64)):
        print("f32: subnet %d  logits max|diff| %.1e  loss |diff| %.1e  dlogits max|diff| %.1e" % (
            s_, float((o64[s_][0] - o32[s_][0].double()).abs().max()), abs(o64[s_][1] - o32[s_][1]),
            float((o64[s_][3] - o32[s_][3].double()).abs().max())))
    # some gradients are analytically zero (a project-BN bias whose every consumer is a 1x1 conv
    # followed by BN): float32 gives ~1e-8 noise there, hence the floor on the scale
    gw = max(float((g64[n] - g32[n].double()).abs().max()) / max(float(g64[n].abs().max()), 1e-2) for n in space.names)
    ga = max(float((g64[n] - g32[n].double()).abs().max()) for n in space.names)
    aw = max(float((a64[n] - a32[n].double()).abs().max()) / max(float(a64[n].abs().max()), 1e-2) for n in space.names)
    print("f32: grad   max|diff| %.1e; worst per tensor max|diff| / max(max|grad|, 0.01)  %.1e" % (ga, gw))
    print("f32: after  worst per tensor max|diff| / max(max|param|, 0.01) %.1e" % aw)


def f32_calibration(space):
    """How far calibration.anfx computed in float32 torch lands from the float64 reference."""
    global D
    P32, xs, xe = calibration_inputs(space)
    mods = bn_modules(space)
    for a, arch in enumerate(calibration_archs(space)):
        res = {}
        for dt in (torch.float64, torch.float32):
            D = dt
            res[dt] = calibrate(space, {k: t.to(D) for k, t in P32.items()}, arch, xs, xe)
        D = torch.float64
        (s64, z64, _), (s32, z32, _) = res[torch.float64], res[torch.float32]
        em = ev = ea = 0.0
        for m in mods:
            if m not in s64.mean:
                continue
            mu, v = s64.mean[m], s64.var[m]
            dm, dv = (s32.mean[m].double() - mu).abs(), (s32.var[m].double() - v).abs()
            em = max(em, float((dm / torch.maximum(mu.abs(), v.sqrt())).max()))
            ea = max(ea, float(dm.max() / mu.abs().max()))
            ev = max(ev, float((dv / v).max()))
        ez = float((z32.double() - z64).abs().max()) / max(float(z64.abs().max()), 1.0)
        print("f32: calibration arch %d: mean |diff| / max(|mean|, std) %.1e (per BN / max|mean| %.1e), "
              "var |diff| / var %.1e, inference logits max|diff| / max(max|logit|, 1) %.1e" % (a, em, ea, ev, ez))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=DEFAULT_CONFIG)
    ap.add_argument("--check", action="store_true", help="run the sanity checks only")
    ap.add_argument("--f32", action="store_true",
                    help="print how far float32 runs of sandwich_alpha and of the calibration land from the "
                         "reference, and exit")
    ap.add_argument("--sandwich-wd", type=float, default=5e-3,
                    help="weight decay of the sandwich fixtures (large enough to be visible in one step)")
    ap.add_argument("--full", action="store_true",
                    help="also write the redundant tensors (param/*, grad/*, after/* in every file, mom/*); "
                         "goes to --out, by default /tmp/alphanet_supernet_full, never over the committed fixtures")
    ap.add_argument("--out", default=None, help="output directory (default tests/fixtures/supernet)")
    args = ap.parse_args()
    global OUT
    if args.out:
        OUT = os.path.abspath(args.out)
    elif args.full:
        OUT = "/tmp/alphanet_supernet_full"
    torch.set_num_threads(1)
    with open(args.config) as fp:
        cfg = yaml.safe_load(fp)
    space = Space(cfg)
    if args.f32:
        f32_deviation(space, cfg, args.sandwich_wd)
        f32_calibration(space)
        return
    checks(space, cfg)
    if args.check:
        return
    os.makedirs(OUT, exist_ok=True)
    for distill in ("alpha", "kl", "none"):
        gen_sandwich(space, cfg, distill, args.sandwich_wd, args.full)
    gen_curve(space, cfg, args.full)
    gen_calibration(space)
    print("smallest |u - keep| over all mask draws: %.3g (2^-20 = %.3g)" % (mask_margin[0], 2.0 ** -20))
    assert mask_margin[0] > 2.0 ** -20, "a mask draw sits on the keep threshold: float vs double could differ"
    total = sum(b for _, b in written)
    for case, b in written:
        print("%-24s %8d bytes" % (case, b))
    print("%d fixtures, %d bytes total -> %s" % (len(written), total, OUT))


if __name__ == "__main__":
    main()
