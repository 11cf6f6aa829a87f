#!/usr/bin/python3
"""torch_step_bench.py - the sandwich step of `alphanet bench step`, timed in PyTorch.

The PyTorch peer of the C benchmark, so that a driver can time the same training step in both
and print ratios:

    /usr/bin/python3 tests/ref/torch_step_bench.py CONFIG.yaml --arch A0 --arch A1 --arch A2 --arch A3 \\
        [--batch 64] [--steps 10] [--warmup 2] [--threads 1] [--mode default|best] [--json] [--check]

The four --arch strings are the subnets `alphanet bench step CONFIG` prints (`subnet i:` lines),
in its order: the largest, two random ones, the smallest. Run with Debian's python3 (torch 1.13).

The model is written as a PyTorch user writes a weight-sharing supernet (the official
AttentiveNAS dynamic model, use_v3_head, swish): nn.Modules holding the full supernet tensors as
nn.Parameters under the official state_dict names, whose forward takes an arch and slices the
weights (the leading channels of every tensor, the centre of a depthwise kernel), with
F.conv2d / F.batch_norm(training=True) / F.silu. BN uses batch statistics and
keeps no running statistics, as the C training step.

The step (src/train/step.c, docs/algorithm.md sections 1-4), as the C bench runs it: the largest
subnet with dropout before the classifier and drop-connect (torch's RNG, the official way), on
label-smoothed cross-entropy; the other three on the same images resized (bicubic) to their
resolution, distilled from the largest one's detached logits (train.distill, no warm-up ramp:
the C bench passes a distillation weight of 1); gradients summed by four backward passes;
elementwise clip (train.grad_clip); torch.optim.SGD with Nesterov momentum, weight decay on
conv and linear weights only, learning rate 0.01 (torch's SGD skips the tensors no subnet of
the step used, shortcut convs of identity blocks; the C update runs over all). Images: randn at the config's largest
resolution, float32; labels j % classes. The timed region is the whole step, optimizer
included; `warmup` untimed steps come first. The median is the C bench's (the upper one for an
even number of steps). GFLOP/s = 3 x 2 x (forward MACs of the four subnets) x batch / median.

MFLOPs are multiply-accumulates of a forward pass per image, counted from the F.conv2d and
F.linear calls the model actually makes (one batch-2 forward per subnet, outside the timing):
convolutions (stem, expand, depthwise, SE, project, shortcut, head) and the classifier, not BN,
activations, pooling, resizing or biases - the counting of an_arch_flops (src/nn/space.c), so the
driver can compare them with the C bench's lines.

Modes:
  default  NCHW tensors, glibc malloc as it comes.
  best     channels-last model and images (torch.channels_last), and glibc malloc tuned through
           its environment, which it reads at process start (the script re-executes itself
           with any of these that are missing):
             MALLOC_MMAP_THRESHOLD_=1073741824  every block below 1 GiB comes from the heap: by
                     default blocks over 128 KiB (the dynamic threshold grows to at most 32 MiB)
                     are fresh mmaps, so every step page-faults and zeroes its activations anew;
             MALLOC_TRIM_THRESHOLD_=1073741824  freed memory is not handed back to the kernel
                     between steps (it is needed again at once);
             MALLOC_TOP_PAD_=1073741824  the heap grows in 1 GiB steps of address space (only
                     touched pages become resident).
           Medians on configs/fmnist.yaml, batch 64, 1 thread (2-core AMD EPYC VM with another
           process busy on the other core): default 1159 ms; channels-last alone ~1290 ms; these
           three variables alone 892 ms; both (best) 408-433 ms. Only the mmap threshold,
           without the trim threshold: 1280 ms (the freed heap top is trimmed and faulted in
           again). The top pad made no measurable difference (421 ms without it). Page faults
           are dear on that VM (~12 us each: 30 s of system time for 2.5 M minor faults in the C
           bench's ImageNet run), hence the weight of the allocator.

--threads N: torch.set_num_threads(N), set_num_interop_threads(1), and BLIS_NUM_THREADS=N for
its BLAS calls (F.linear; Debian's torch uses the system BLAS, here BLIS, which ignores
torch.set_num_threads and reads the variable at start-up: the script re-executes itself when the
variable differs).

--check verifies the model and exits (status 1 on a mismatch): the parameter names, order and
shapes against jobs/torch_interop.py's table of the space (that of src/nn/supernet.c; the C
bench's "supernet N parameters" is larger: it counts the floats of its buffer, every tensor
padded to a multiple of 16, e.g. 1220368 for the 1220154 of configs/fmnist.yaml); each arch's forward without dropout
(eval mode) in float32 against torch_interop.StaticSubnet on the sliced weights, and in float64
against tests/ref/supernet_ref.py's functional forward; and one whole step (dropout and
drop-connect off, whose masks come from different generators) in float64 against
supernet_ref.py's sandwich step and SGD update: summed gradients and updated parameters.

--json adds one JSON object as the last line of stdout: mode, threads, batch, steps, ms_median,
ms_min, ms_max, images_per_s, gflops, mflops (the four subnets), params, peak_rss_mb (ru_maxrss),
torch_version.
"""

import argparse
import copy
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from torch.overrides import TorchFunctionMode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.normpath(os.path.join(HERE, "..", "..", "jobs")))
import supernet_ref as ref  # noqa: E402  (this folder)
import torch_interop as ti  # noqa: E402  (jobs/)

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
              "MALLOC_TOP_PAD_": str(1 << 30)}
BN_EPS = 1e-5
LR = 0.01  # the C bench's learning rate
# train.* keys the step uses, with the defaults of src/io/config.c
TRAIN_DEFAULTS = dict(momentum=0.9, nesterov=True, weight_decay=1e-5, label_smoothing=0.1, grad_clip=1.0,
                      dropout=0.2, drop_connect=0.2, distill="alpha", alpha_min=-1.0, alpha_max=1.0, iw_clip=5.0)

# ----------------------------------------------------------------------------------------------
# the dynamic supernet (official module paths, so that parameter names are the official ones)


class DynamicConv2d(nn.Module):
    """`<path>.conv.weight`: a full supernet conv; forward uses weight[:cout, :cin] (official
    DynamicPointConv2d), or for a depthwise conv the first cin filters cut to their centre k x k
    (DynamicSeparableConv2d). Padding k // 2."""

    def __init__(self, cin, cout, k=1, stride=1, depthwise=False):
        super().__init__()
        self.depthwise = depthwise
        self.stride = stride
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=cout if depthwise else 1, bias=False)

    def forward(self, x, cout, k=None):
        w = self.conv.weight
        if self.depthwise:
            o = (w.size(-1) - k) // 2
            return F.conv2d(x, w[:cout, :, o:o + k, o:o + k], None, self.stride, k // 2, 1, cout)
        return F.conv2d(x, w[:cout, :x.size(1)], None, self.stride, w.size(-1) // 2)


class DynamicBatchNorm2d(nn.Module):
    """`<path>.bn.weight / .bias`: batch statistics over the active channels, no running ones."""

    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm2d(c, eps=BN_EPS, track_running_stats=False)

    def forward(self, x):
        c = x.size(1)
        return F.batch_norm(x, None, None, self.bn.weight[:c], self.bn.bias[:c], True, 0.0, BN_EPS)


class DynamicSE(nn.Module):
    """`se.fc.reduce / expand`: mean, 1x1 conv + bias to make_divisible(c // 4, 8), ReLU, 1x1 conv +
    bias, hard sigmoid, multiply."""

    def __init__(self, c, r):
        super().__init__()
        self.fc = nn.ModuleDict(dict(reduce=nn.Conv2d(c, r, 1), expand=nn.Conv2d(r, c, 1)))

    def forward(self, x):
        c = x.size(1)
        r = ti.make_divisible(c // 4, 8)
        red, exp = self.fc["reduce"], self.fc["expand"]
        y = x.mean((2, 3), keepdim=True)
        y = F.relu(F.conv2d(y, red.weight[:r, :c], red.bias[:r]))
        y = F.conv2d(y, exp.weight[:c, :r], exp.bias[:c])
        # hard sigmoid as the official code writes it: torch 1.13's F.hardsigmoid backward uses a
        # float 1/6 in float64 too (5e-9 off), which the float64 check would see
        return x * (F.relu6(y + 3.0) / 6.0)


class DynamicConvBnAct(nn.Module):
    """conv [+ BN] [+ swish] [+ SE] (the official DynamicConvBnActLayer / the MBConv's parts)."""

    def __init__(self, cin, cout, k=1, stride=1, depthwise=False, bn=True, act=True, se=0):
        super().__init__()
        self.conv = DynamicConv2d(cin, cout, k, stride, depthwise)
        self.bn = DynamicBatchNorm2d(cout) if bn else None
        self.act = act
        self.se = DynamicSE(cout, se) if se else None

    def forward(self, x, cout, k=None):
        x = self.conv(x, cout, k)
        if self.bn is not None:
            x = self.bn(x)
        if self.act:
            x = F.silu(x)
        return self.se(x) if self.se is not None else x


class MBConv(nn.Module):
    """`blocks.<i>.mobile_inverted_conv`: [expand 1x1] depthwise k x k [SE] project 1x1."""

    def __init__(self, blk):
        super().__init__()
        cin, mid, cout = blk["in_max"], blk["mid_max"], blk["out_max"]
        self.inverted_bottleneck = DynamicConvBnAct(cin, mid) if blk["has_expand"] else None
        self.depth_conv = DynamicConvBnAct(mid, mid, blk["kmax"], blk["stride"], depthwise=True,
                                           se=blk["se_max"] if blk["se"] else 0)
        self.point_linear = DynamicConvBnAct(mid, cout, act=False)

    def forward(self, x, w, k, e):
        if self.inverted_bottleneck is not None:
            x = self.inverted_bottleneck(x, ti.make_divisible(x.size(1) * e, 8))
        x = self.depth_conv(x, x.size(1), k)
        return self.point_linear(x, w)


class Shortcut(nn.Module):
    """`blocks.<i>.shortcut`: 2x2 average pooling when strided (padding 1 on an odd side), then a
    1x1 conv when the widths differ."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        self.conv = DynamicConv2d(cin, cout)

    def forward(self, x, w):
        if self.stride > 1:
            x = F.avg_pool2d(x, self.stride, padding=x.size(-1) % 2)
        return self.conv(x, w) if x.size(1) != w else x


def apply_drop_connect(x, rate):
    """The official AttentiveNAS drop_connect: per sample, keep with 1 - rate, scale by 1 / keep."""
    keep = 1.0 - rate
    mask = torch.floor(keep + torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device))
    return x / keep * mask


class Block(nn.Module):
    def __init__(self, blk):
        super().__init__()
        self.index, self.stage, self.stride = blk["index"], blk["stage"], blk["stride"]
        self.mobile_inverted_conv = MBConv(blk)
        self.shortcut = Shortcut(blk["in_max"], blk["out_max"], blk["stride"])

    def forward(self, x, w, k, e, dc_rate):
        y = self.mobile_inverted_conv(x, w, k, e)
        if x.size(1) == w and self.stride == 1:
            return (apply_drop_connect(y, dc_rate) if dc_rate > 0 else y) + x
        return y + self.shortcut(x, w)


class Head(nn.Module):
    """`last_conv`: 1x1 to expand x width + BN + swish, global mean, 1x1 to the mixing width +
    swish (no BN, no bias)."""

    def __init__(self, cin, e, mix):
        super().__init__()
        self.final_expand_layer = DynamicConvBnAct(cin, e)
        self.feature_mix_layer = DynamicConvBnAct(e, mix, bn=False)

    def forward(self, x, expand, mix):
        x = self.final_expand_layer(x, x.size(1) * expand)
        return self.feature_mix_layer(x.mean((2, 3), keepdim=True), mix).flatten(1)


class DynamicLinear(nn.Module):
    """`classifier.linear.linear`: weight[:, :in] + bias."""

    def __init__(self, cin, classes):
        super().__init__()
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        return F.linear(x, self.linear.weight[:, :x.size(1)], self.linear.bias)


class Classifier(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.linear = DynamicLinear(cin, classes)

    def forward(self, x):
        return self.linear(x)


class Supernet(nn.Module):
    """The weight-sharing supernet of a torch_interop.Space. forward(x, arch) runs the subnet
    `arch` (torch_interop.Space.parse_arch's dict) on images at any resolution (bicubic resize
    to the arch's). Dropout and drop-connect act only when given and in training mode."""

    def __init__(self, space):
        super().__init__()
        self.space = space
        cs = max(space.stem_widths)
        self.first_conv = DynamicConvBnAct(space.in_channels, cs, 3, space.stem_stride)
        self.blocks = nn.ModuleList(Block(b) for b in space.blocks)
        cl = space.blocks[-1]["out_max"]
        self.last_conv = Head(cl, cl * space.head_expand, max(space.mix_widths))
        self.classifier = Classifier(max(space.mix_widths), space.classes)
        self.stage_blocks = [[m for m in self.blocks if m.stage == si] for si in range(space.nstages)]
        self.reset_parameters()

    def reset_parameters(self):
        """docs/algorithm.md section 4 (as an_supernet_init): torch's defaults over the full tensors
        (done by nn.Conv2d / nn.Linear / nn.BatchNorm2d), then every project BN's gamma = 0."""
        for blk in self.blocks:
            nn.init.zeros_(blk.mobile_inverted_conv.point_linear.bn.bn.weight)

    def forward(self, x, arch, dropout=0.0, drop_connect=0.0):
        if x.size(-1) != arch["res"]:
            x = F.interpolate(x, size=arch["res"], mode="bicubic", align_corners=False)
        x = self.first_conv(x, arch["stem"])
        nblocks, last_two = len(self.blocks), self.space.nstages - 2
        for si, (w, d, k, e) in enumerate(arch["stages"]):
            for blk in self.stage_blocks[si][:d]:
                # drop-connect: last two stages, rate growing with the global block index
                rate = drop_connect * blk.index / nblocks if self.training and si >= last_two else 0.0
                x = blk(x, w, k, e, rate)
        x = self.last_conv(x, self.space.head_expand, arch["mix"])
        if self.training and dropout > 0:
            x = F.dropout(x, dropout, training=True)
        return self.classifier(x)


# ----------------------------------------------------------------------------------------------
# losses and the step


def alpha_divergence(z, t, amin, amax, iw_clip):
    """AlphaNet's adaptive alpha-divergence in the log form of docs/algorithm.md section 1: per sample
    the branch (alpha_min or alpha_max) with the larger divergence; the surrogate
    -sum_i c_i log q_i with c constant, averaged over the batch."""
    lq = F.log_softmax(z, dim=1)
    lqd, lp = lq.detach(), F.log_softmax(t.detach(), dim=1)
    q, logw, logc = lqd.exp(), lp - lqd, math.log(iw_clip)

    def branch(a):  # (divergence [n], coefficients c [n][K])
        if abs(a) < 1e-3:
            logv = logw.clamp(max=logc)
            return -(q * logv).sum(1), q * (logv - 1.0)
        if abs(a - 1.0) < 1e-3:
            p = lp.exp()
            return (p * logw).sum(1), p
        ai = (a * logw).clamp(max=logc).exp()
        return ((q * ai).sum(1) - 1.0) / (a * (a - 1.0)), q * (ai / a + 1.0 / (a * (a - 1.0)))

    dmin, cmin = branch(amin)
    dmax, cmax = branch(amax)
    c = torch.where((dmin > dmax).unsqueeze(1), cmin, cmax)
    return -(c * lq).sum(1).mean()


def student_loss(z, teacher, labels, hp):
    if hp["distill"] == "alpha":
        return alpha_divergence(z, teacher, hp["alpha_min"], hp["alpha_max"], hp["iw_clip"])
    if hp["distill"] == "kl":
        return -(F.softmax(teacher, dim=1) * F.log_softmax(z, dim=1)).sum(1).mean()
    return F.cross_entropy(z, labels, label_smoothing=hp["label_smoothing"])


def make_optimizer(model, hp, lr=LR):
    """SGD, Nesterov momentum; weight decay off for BN parameters and biases (the official
    build_optimizer's rule on names)."""
    decay, rest = [], []
    for name, p in model.named_parameters():
        (rest if ".bn" in name or ".bias" in name else decay).append(p)
    return torch.optim.SGD([dict(params=decay, weight_decay=hp["weight_decay"]), dict(params=rest, weight_decay=0.0)],
                           lr=lr, momentum=hp["momentum"], nesterov=hp["nesterov"])


def sandwich_step(model, opt, archs, x, labels, hp):
    opt.zero_grad(set_to_none=True)
    z = model(x, archs[0], hp["dropout"], hp["drop_connect"])
    F.cross_entropy(z, labels, label_smoothing=hp["label_smoothing"]).backward()
    teacher = z.detach()
    for a in archs[1:]:
        student_loss(model(x, a), teacher, labels, hp).backward()
    if hp["grad_clip"] > 0:
        nn.utils.clip_grad_value_(model.parameters(), hp["grad_clip"])
    opt.step()


# ----------------------------------------------------------------------------------------------
# counting MACs


class MacCounter(TorchFunctionMode):
    """MACs per image of the F.conv2d / F.linear calls made while active: output elements x
    weight elements per output channel."""

    def __init__(self):
        super().__init__()
        self.macs = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func is F.conv2d or func is F.linear:
            self.macs += out[0].numel() * args[1][0].numel()
        return out


def forward_macs(model, arch, in_channels, resolution):
    x = torch.zeros(2, in_channels, resolution, resolution)
    with torch.no_grad(), MacCounter() as counter:
        model(x, arch)
    return counter.macs


# ----------------------------------------------------------------------------------------------
# checks against the repository's references


def state_slice(full, shape):
    """The subnet slice of a supernet tensor: leading indices, centred spatial crop (dims 2, 3)."""
    idx = []
    for d, (n_full, n) in enumerate(zip(full.shape, shape)):
        o = (n_full - n) // 2 if d >= 2 else 0
        idx.append(slice(o, o + n))
    return full[tuple(idx)]


def rel_err(a, b):
    """max |a - b| / max(max |b|, 1)."""
    return float((a - b).abs().max()) / max(float(b.abs().max()), 1.0)


def run_checks(space, cfg, model, archs, hp, n=4):
    ok = True

    def verdict(what, err, tol):
        nonlocal ok
        ok &= err <= tol
        print("  %-66s %.2e  (tol %.0e) %s" % (what, err, tol, "ok" if err <= tol else "MISMATCH"))

    mine = [(k, tuple(p.shape)) for k, p in model.named_parameters()]
    want = list(space.params.items())
    nmine, nwant = sum(p.numel() for p in model.parameters()), sum(math.prod(s) for _, s in want)
    same = mine == want
    ok &= same and nmine == nwant
    print("check: %d parameter tensors, %d parameters; torch_interop's table: %d tensors, %d parameters; "
          "names, order and shapes %s" % (len(mine), nmine, len(want), nwant, "equal" if same else "DIFFER"))
    if not same:
        for a, b in zip(mine + [None] * len(want), want + [None] * len(mine)):
            if a != b:
                print("  first difference: model %s, table %s" % (a, b))
                break

    # random BN affine parameters, so that no block is silenced by a zero gamma
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".bn." in name:
                p.copy_(torch.rand(p.shape, generator=g) + 0.5 if name.endswith("weight")
                        else torch.rand(p.shape, generator=g) * 0.4 - 0.2)
    R = max(space.resolutions)
    x = torch.randn(n, space.in_channels, R, R, generator=g)
    labels = torch.arange(n) % space.classes
    rspace = ref.Space(cfg)
    model.eval()
    m64 = copy.deepcopy(model).double()
    P64 = {k: p.detach() for k, p in m64.named_parameters()}
    with torch.no_grad():
        for i, a in enumerate(archs):
            static = ti.StaticSubnet(space, a)
            sd = model.state_dict()
            static.load_state_dict({k: state_slice(sd[k], t.shape) for k, t in static.state_dict().items()
                                    if k in sd}, strict=False)
            z = model(x, a)
            verdict("subnet %d float32 vs torch_interop.StaticSubnet" % i, rel_err(z, static.train()(x)), 1e-5)
            verdict("subnet %d float64 vs supernet_ref.forward" % i,
                    rel_err(m64(x.double(), a), ref.forward(rspace, P64, a, x.double())), 1e-12)

    # one step, float64, dropout and drop-connect off
    hp0 = dict(hp, dropout=0.0, drop_connect=0.0)
    rhp = ref.Hyper(dict(hp0, seed=0, num_random=2, sandwich=True))
    P = ref.to_leaves({k: p.float() for k, p in P64.items()})  # copies, before the step changes m64
    ref.sandwich_grads(rspace, rhp, P, archs, x, labels, 0)
    m64.train()
    sandwich_step(m64, make_optimizer(m64, hp0), archs, x.double(), labels, hp0)
    grads = {k: P[k].grad.clone() for k in P}
    ref.sgd_step(P, {}, LR, rhp)
    gerr = perr = 0.0
    for k, p in m64.named_parameters():
        # a tensor no subnet of the step touches has no gradient and no update in torch; the
        # reference (and the C code) update it with a zero gradient
        if p.grad is None:
            gerr = max(gerr, float(grads[k].abs().max()))
            continue
        gerr = max(gerr, rel_err(p.grad, grads[k].clamp(-hp["grad_clip"], hp["grad_clip"])
                                 if hp["grad_clip"] > 0 else grads[k]))
        perr = max(perr, rel_err(p.detach(), P[k].detach()))
    verdict("step float64 vs supernet_ref: clipped summed gradients", gerr, 1e-12)
    verdict("step float64 vs supernet_ref: parameters after SGD", perr, 1e-12)
    return ok


# ----------------------------------------------------------------------------------------------
# main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("--arch", action="append", required=True,
                    help="a subnet, four times: largest, random, random, smallest (the C bench's order)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", choices=("default", "best"), default="default")
    ap.add_argument("--json", action="store_true", help="a JSON object on the last line of stdout")
    ap.add_argument("--check", action="store_true", help="check the model against the references and exit")
    args = ap.parse_args(argv)
    if len(args.arch) != 4:
        ap.error("give exactly four --arch (largest, random, random, smallest), got %d" % len(args.arch))
    if args.batch < 1 or args.steps < 1 or args.warmup < 0 or args.threads < 1:
        ap.error("--batch, --steps and --threads must be positive, --warmup not negative")
    return args


def main(argv):
    args = parse_args(argv)
    # variables that glibc and BLIS read only at start-up: re-execute with them when they differ
    env = {"BLIS_NUM_THREADS": str(args.threads)}
    if args.mode == "best":
        env.update({k: os.environ.get(k, v) for k, v in MALLOC_ENV.items()})  # values given by the caller stay
    if any(os.environ.get(k) != v for k, v in env.items()):
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + argv, dict(os.environ, **env))
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    try:
        with open(args.config) as fp:
            cfg = yaml.safe_load(fp)
        space = ti.Space(cfg)
        archs = [space.parse_arch(a) for a in args.arch]
    except (OSError, ValueError, yaml.YAMLError) as e:
        print("torch_step_bench.py: %s" % e, file=sys.stderr)
        return 2
    hp = dict(TRAIN_DEFAULTS, **{k: v for k, v in (cfg.get("train") or {}).items() if k in TRAIN_DEFAULTS})
    torch.manual_seed(0)
    model = Supernet(space)
    R, C, K = max(space.resolutions), space.in_channels, space.classes
    if args.check:
        ok = run_checks(space, cfg, model, archs, hp)
        print("check: %s" % ("passed" if ok else "FAILED"))
        return 0 if ok else 1

    macs = [forward_macs(model, a, C, R) for a in archs]
    params = sum(p.numel() for p in model.parameters())
    x = torch.randn(args.batch, C, R, R)
    labels = torch.arange(args.batch) % K
    if args.mode == "best":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    model.train()
    opt = make_optimizer(model, hp)
    ms = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        sandwich_step(model, opt, archs, x, labels, hp)
        if i >= args.warmup:
            ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    med = ms[len(ms) // 2]
    gflops = 3 * 2 * sum(macs) * args.batch / med * 1e-6
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    malloc = " ".join("%s=%s" % (k, os.environ[k]) for k in MALLOC_ENV if k in os.environ) or "glibc defaults"
    print("torch %s, %d thread%s, mode %s (%s; malloc: %s)" % (
        torch.__version__, args.threads, "" if args.threads == 1 else "s", args.mode,
        "channels-last" if args.mode == "best" else "NCHW", malloc))
    print("config %s, batch %d, distill %s, supernet %d parameters" % (args.config, args.batch, hp["distill"], params))
    for i, (a, m) in enumerate(zip(args.arch, macs)):
        print("  subnet %d: %10.4f MFLOPs  %s" % (i, m / 1e6, a))
    print("step: %.1f ms (median of %d; min %.1f, max %.1f), %.1f images/s, %.1f GFLOP/s, peak RSS %.0f MB" % (
        med, args.steps, ms[0], ms[-1], args.batch / med * 1e3, gflops, rss))
    if args.json:
        print(json.dumps(dict(mode=args.mode, threads=args.threads, batch=args.batch, steps=args.steps,
                              ms_median=med, ms_min=ms[0], ms_max=ms[-1], images_per_s=args.batch / med * 1e3,
                              gflops=gflops, mflops=[m / 1e6 for m in macs], params=params, peak_rss_mb=rss,
                              torch_version=torch.__version__)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
