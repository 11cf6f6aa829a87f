#!/usr/bin/python3
"""torch_interop.py - AlphaNet checkpoints and exported subnets <-> PyTorch.

Converts between this project's HDF5 files (docs/formats.md) and PyTorch, under the official
AttentiveNAS/AlphaNet state_dict names (`AttentiveNasDynamicModel`, use_v3_head), e.g.
`blocks.3.mobile_inverted_conv.depth_conv.conv.conv.weight`. Needs torch, numpy, h5py and
PyYAML (Debian: python3-torch python3-h5py python3-yaml).

Python API (import from the jobs folder, or put it on sys.path):

    checkpoint_to_state_dict(path, official=True) -> OrderedDict[str, torch.Tensor]
        Parameters and BN running statistics of a checkpoint (`alphanet-checkpoint`) as the
        official supernet's state_dict, in its order, with `num_batches_tracked` (int64, 0) for
        every BN. With official=True (the default) it has exactly the official model's keys and
        shapes, so that model.load_state_dict(sd) (strict) works: the official first conv
        always has 3 input channels (its forward uses the first x.size(1)), so a stem of a space
        with fewer image channels is padded with zero channels to 3; and every official
        DynamicBatchNorm2d also holds `bn_tracking.0` / `.1` (affine-free BNs reserved for
        tracking the largest and smallest subnets, unused by its forward and by its static
        subnets), given their initial values (running_mean 0, running_var 1, count 0).
        official=False: the checkpoint's tensors with their shapes (+ num_batches_tracked).

    state_dict_to_checkpoint(state_dict, config_yaml_path, out_path, created=None)
        Writes a supernet state_dict (the official one, or checkpoint_to_state_dict's) as a
        checkpoint of the space of the config file: every parameter and BN running_mean /
        running_var of the space must be present with its exact shape (a stem weight with more
        input channels than space.in_channels is cut to the first ones, which is all the official
        forward uses); `num_batches_tracked` and `bn_tracking` entries are dropped; any other key
        is an error.
        Momentum is zero (stored as unwritten datasets, whose fill value is 0), step 0, world
        size 1, micro-batches 1, seed = the config's train.seed (default 1), coordinator
        generator state 0, empty /metrics, /config = the config file's text; `created` (UTC,
        ISO 8601) is the time of writing unless given. Tensors are Fletcher-32 checksummed, the
        file is in the HDF5 1.10 format (the C code links HDF5 1.10) without object timestamps:
        the same arguments give the same bytes. The result loads with `alphanet eval`,
        `alphanet search`, `alphanet export` and `alphanet info`. It is not meant for resuming
        training: a resumed run would take over the all-zero generator state.

    load_subnet(path) -> torch.nn.Module
        A static PyTorch model, in eval mode, of an exported subnet (`alphanet-subnet`, written by
        `alphanet export`): the structure from its arch attribute and the space in its /config,
        the weights and calibrated BN statistics from its /params and /buffers (every tensor of
        the file is used, with its exact shape). model(x) takes a float32 batch [n][c][h][w]
        already normalised as the training data (see `predict`) at the data resolution, resizes
        it (bicubic, align_corners=False) to the arch's resolution when the side differs, and
        returns the logits [n][classes]. Its state_dict keys are the file's names (blocks keep
        their supernet indices) plus `num_batches_tracked`.

Command line:

    /usr/bin/python3 jobs/torch_interop.py to-checkpoint STATE_DICT.pt CONFIG.yaml OUT.h5
    /usr/bin/python3 jobs/torch_interop.py to-state-dict CKPT.h5 OUT.pt [--plain]
    /usr/bin/python3 jobs/torch_interop.py predict SUBNET.h5 [IMAGES.h5] [--limit N] [--logits OUT.npy]

to-checkpoint reads a state_dict saved with torch.save (a dict of tensors, or a dict holding one
under "state_dict" or "model"; a "module." prefix is removed). to-state-dict writes one
(--plain: official=False). predict prints the subnet's structure and, given an image file
(`alphanet-images`, docs/formats.md), normalises the images as the C code does
(x / 255 - mean) / std with the subnet config's data.mean / data.std, and prints the top-1
accuracy (and saves the logits with --logits).
"""

import argparse
import collections
import datetime
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

CKPT_FORMAT = "alphanet-checkpoint"
SUBNET_FORMAT = "alphanet-subnet"
SOFTWARE = "alphanet torch_interop.py"
BN_EPS = 1e-5
OFFICIAL_STEM_IN = 3  # the official first conv: in_channel_list=int2list(3)

# ----------------------------------------------------------------------------------------------
# the search space (the `space` section of a config, with the C defaults of src/io/config.c)


def make_divisible(v, divisor=8):
    """The channel rounding of the C code (an_make_divisible): nearest multiple of divisor, at
    least divisor, never more than 10 % down. (The official one has min_value 1: they differ
    only for v < divisor / 2.)"""
    nv = int(v + divisor / 2.0) // divisor * divisor
    nv = max(nv, divisor)
    if nv < 0.9 * v:
        nv += divisor
    return nv


def _choices(sec, key, where):
    if key not in sec:
        raise ValueError("%s: missing key '%s'" % (where, key))
    v = sec[key]
    v = [int(x) for x in (v if isinstance(v, list) else [v])]
    if not v:
        raise ValueError("%s.%s: empty list" % (where, key))
    return sorted(v)


class Space:
    """The supernet of a config's `space` section: stages, blocks, and the table of parameters
    (official names and shapes, in the official state_dict order, as src/nn/supernet.c)."""

    def __init__(self, cfg):
        if not isinstance(cfg, dict) or not isinstance(cfg.get("space"), dict):
            raise ValueError("config: missing section 'space'")
        s = cfg["space"]
        self.in_channels = int(s.get("in_channels", 3))
        self.classes = int(s.get("classes", 1000))
        self.resolutions = _choices(s, "resolutions", "space")
        stem = s.get("stem")
        if not isinstance(stem, dict):
            raise ValueError("config: space: missing section 'stem'")
        self.stem_widths = _choices(stem, "width", "space.stem")
        self.stem_stride = int(stem.get("stride", 2))
        self.stages = []
        for i, g in enumerate(s.get("stages") or []):
            where = "space.stages[%d]" % i
            self.stages.append(dict(name=str(g.get("name", "mb%d" % (i + 1))),
                                    width=_choices(g, "width", where), depth=_choices(g, "depth", where),
                                    kernel=_choices(g, "kernel", where), expand=_choices(g, "expand", where),
                                    stride=int(g.get("stride", 1)), se=bool(g.get("se", False))))
        if not self.stages:
            raise ValueError("config: space.stages: expected a non-empty list of stages")
        head = s.get("head")
        if not isinstance(head, dict):
            raise ValueError("config: space: missing section 'head'")
        self.head_expand = int(head.get("expand", 6))
        self.mix_widths = _choices(head, "mix_width", "space.head")
        self.nstages = len(self.stages)
        self._build()

    def _build(self):
        self.blocks = []
        self.params = collections.OrderedDict()  # name -> shape
        self.bn_modules = []                      # BN module prefixes, in order
        p = self.params

        def bn(pre, c):
            p[pre + ".weight"] = (c,)
            p[pre + ".bias"] = (c,)
            self.bn_modules.append(pre)

        cs = max(self.stem_widths)
        p["first_conv.conv.conv.weight"] = (cs, self.in_channels, 3, 3)
        bn("first_conv.bn.bn", cs)
        in_max, b = cs, 0
        for si, g in enumerate(self.stages):
            out_max, emax = max(g["width"]), max(g["expand"])
            for d in range(max(g["depth"])):
                mid_max = int(round(in_max * emax))
                blk = dict(index=b, stage=si, in_max=in_max, out_max=out_max, mid_max=mid_max,
                           kmax=max(g["kernel"]), stride=g["stride"] if d == 0 else 1, se=g["se"],
                           has_expand=emax != 1, se_max=make_divisible(mid_max // 4, 8))
                pre = "blocks.%d.mobile_inverted_conv." % b
                if blk["has_expand"]:
                    p[pre + "inverted_bottleneck.conv.conv.weight"] = (mid_max, in_max, 1, 1)
                    bn(pre + "inverted_bottleneck.bn.bn", mid_max)
                p[pre + "depth_conv.conv.conv.weight"] = (mid_max, 1, blk["kmax"], blk["kmax"])
                bn(pre + "depth_conv.bn.bn", mid_max)
                if g["se"]:
                    r = blk["se_max"]
                    p[pre + "depth_conv.se.fc.reduce.weight"] = (r, mid_max, 1, 1)
                    p[pre + "depth_conv.se.fc.reduce.bias"] = (r,)
                    p[pre + "depth_conv.se.fc.expand.weight"] = (mid_max, r, 1, 1)
                    p[pre + "depth_conv.se.fc.expand.bias"] = (mid_max,)
                p[pre + "point_linear.conv.conv.weight"] = (out_max, mid_max, 1, 1)
                bn(pre + "point_linear.bn.bn", out_max)
                p["blocks.%d.shortcut.conv.conv.weight" % b] = (out_max, in_max, 1, 1)
                self.blocks.append(blk)
                in_max = out_max
                b += 1
        e = in_max * self.head_expand
        p["last_conv.final_expand_layer.conv.conv.weight"] = (e, in_max, 1, 1)
        bn("last_conv.final_expand_layer.bn.bn", e)
        p["last_conv.feature_mix_layer.conv.conv.weight"] = (max(self.mix_widths), e, 1, 1)
        p["classifier.linear.linear.weight"] = (self.classes, max(self.mix_widths))
        p["classifier.linear.linear.bias"] = (self.classes,)

    def stage_blocks(self, si):
        return [b for b in self.blocks if b["stage"] == si]

    def state_dict_order(self, official=False):
        """(name, kind) in the official state_dict order: kind 'param', 'buffer' (BN running
        statistics) or 'count' (num_batches_tracked); with `official` also the statistics the
        official DynamicBatchNorm2d keeps besides its `bn` (`bn_tracking.0` / `.1`, affine-free
        BNs reserved for tracking the largest and smallest subnets): kinds 'track_mean',
        'track_var', 'count'."""
        out = []
        bns = set(self.bn_modules)
        for name in self.params:
            out.append((name, "param"))
            mod = name.rsplit(".", 1)[0]
            if mod in bns and name.endswith(".bias"):
                out += [(mod + ".running_mean", "buffer"), (mod + ".running_var", "buffer"),
                        (mod + ".num_batches_tracked", "count")]
                if official:
                    for j in (0, 1):
                        t = "%s_tracking.%d." % (mod, j)
                        out += [(t + "running_mean", "track_mean"), (t + "running_var", "track_var"),
                                (t + "num_batches_tracked", "count")]
        return out

    def bn_width(self, mod):
        return self.params[mod + ".weight"][0]

    # --- archs ------------------------------------------------------------------------------

    def parse_arch(self, text):
        """The text form `r<res> s<stem> w/d/k/e ... h<mix>` (or min / max), checked against the
        space. Returns dict(res, stem, stages=[(w, d, k, e)], mix)."""
        t = text.strip()
        pick = {"min": min, "smallest": min, "max": max, "largest": max}.get(t)
        if pick:
            return dict(res=pick(self.resolutions), stem=pick(self.stem_widths),
                        stages=[tuple(pick(g[k]) for k in ("width", "depth", "kernel", "expand")) for g in self.stages],
                        mix=pick(self.mix_widths))
        tok = t.split()
        if len(tok) != self.nstages + 3 or tok[0][:1] != "r" or tok[1][:1] != "s" or tok[-1][:1] != "h":
            raise ValueError("arch '%s': expected 'r<res> s<stem> %s h<mix>'"
                             % (text, " ".join(["w/d/k/e"] * self.nstages)))
        try:
            a = dict(res=int(tok[0][1:]), stem=int(tok[1][1:]), mix=int(tok[-1][1:]),
                     stages=[tuple(int(v) for v in g.split("/")) for g in tok[2:-1]])
        except ValueError:
            raise ValueError("arch '%s': not a number where one is expected" % text) from None
        def chk(v, allowed, what):
            if v not in allowed:
                raise ValueError("arch '%s': %s %d is not in the space (allowed: %s)"
                                 % (text, what, v, "|".join(str(x) for x in allowed)))
        chk(a["res"], self.resolutions, "resolution")
        chk(a["stem"], self.stem_widths, "stem width")
        chk(a["mix"], self.mix_widths, "mixing width")
        for st, g in zip(a["stages"], self.stages):
            if len(st) != 4:
                raise ValueError("arch '%s': stage %s needs width/depth/kernel/expand" % (text, g["name"]))
            for v, k in zip(st, ("width", "depth", "kernel", "expand")):
                chk(v, g[k], "%s %s" % (g["name"], k))
        return a


def space_of_text(text):
    return Space(yaml.safe_load(text))


def _read_text(f, name):
    return np.asarray(f[name][()], dtype=np.uint8).tobytes().decode()


def _read_str_attr(obj, name):
    v = obj.attrs[name]
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0]
    return v.decode() if isinstance(v, bytes) else str(v)


def _check_format(f, path, fmt):
    got = _read_str_attr(f, "format") if "format" in f.attrs else ""
    if got != fmt:
        raise ValueError("'%s' is not an %s file (attribute format is '%s')" % (path, fmt, got))
    if int(np.asarray(f.attrs.get("version", 0)).reshape(-1)[0]) != 1:
        raise ValueError("'%s': %s version %s is not supported (this reads version 1)"
                         % (path, fmt, f.attrs.get("version")))


# ----------------------------------------------------------------------------------------------
# checkpoints


def checkpoint_to_state_dict(path, official=True):
    """OrderedDict of the official supernet state_dict from a checkpoint (see the module doc)."""
    with h5py.File(path, "r") as f:
        _check_format(f, path, CKPT_FORMAT)
        space = space_of_text(_read_text(f, "config"))
        sd = collections.OrderedDict()
        for name, kind in space.state_dict_order(official):
            if kind == "count":
                sd[name] = torch.tensor(0, dtype=torch.long)
                continue
            if kind in ("track_mean", "track_var"):
                c = space.bn_width(name.split("_tracking.")[0])
                sd[name] = torch.zeros(c) if kind == "track_mean" else torch.ones(c)
                continue
            grp = "params" if kind == "param" else "buffers"
            if name not in f[grp]:
                raise ValueError("'%s': missing /%s/%s" % (path, grp, name))
            a = np.asarray(f[grp][name][()], dtype=np.float32)
            want = space.params[name] if kind == "param" else (space.bn_width(name.rsplit(".", 1)[0]),)
            if tuple(a.shape) != tuple(want):
                raise ValueError("'%s': /%s/%s has shape %s, the space of its config needs %s"
                                 % (path, grp, name, a.shape, tuple(want)))
            sd[name] = torch.from_numpy(np.ascontiguousarray(a))
    w = sd["first_conv.conv.conv.weight"]
    if official and w.shape[1] < OFFICIAL_STEM_IN:
        pad = torch.zeros(w.shape[0], OFFICIAL_STEM_IN - w.shape[1], w.shape[2], w.shape[3], dtype=w.dtype)
        sd["first_conv.conv.conv.weight"] = torch.cat([w, pad], 1)
    return sd


def _attr_str(obj, name, s):
    """A fixed-length, NUL-terminated ASCII string attribute of strlen + 1 bytes (as the C writer)."""
    b = s.encode()
    t = h5py.h5t.C_S1.copy()
    t.set_size(len(b) + 1)
    t.set_strpad(h5py.h5t.STR_NULLTERM)
    if name in obj.attrs:
        del obj.attrs[name]
    a = h5py.h5a.create(obj.id, name.encode(), t, h5py.h5s.create(h5py.h5s.SCALAR))
    a.write(np.array(b + b"\0", dtype="S%d" % (len(b) + 1)))


def _tensor(group, name, a):
    """A float32 dataset chunked as a whole, Fletcher-32 checksummed (as the C writer)."""
    a = np.ascontiguousarray(a, dtype="<f4")
    group.create_dataset(name, data=a, chunks=a.shape, fletcher32=True, track_times=False)


def _zeros(group, name, shape):
    """A float32 zero tensor stored as an unwritten chunked dataset: reads give the fill value 0."""
    group.create_dataset(name, shape=tuple(shape), dtype="<f4", chunks=tuple(shape), fletcher32=True, fillvalue=0.0,
                         track_times=False)


def _text(f, name, text):
    b = np.frombuffer(text.encode(), dtype=np.uint8)
    if b.size:
        f.create_dataset(name, data=b, chunks=(min(b.size, 1 << 20),), fletcher32=True, track_times=False)
    else:
        f.create_dataset(name, shape=(0,), dtype="u1", chunks=(1,), maxshape=(None,), fletcher32=True,
                         track_times=False)


def _create_file(path):
    """A new HDF5 file in the HDF5 1.10 format (compact chunk indices: a third of the size of the
    1.8 format's; the C code links HDF5 >= 1.10) without object timestamps, so that the same
    content gives the same bytes."""
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_V110, h5py.h5f.LIBVER_V110)
    return h5py.File(h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl))


def _group(f, name):
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(f.id, name.encode(), gcpl=gcpl)
    return f[name]


def state_dict_to_checkpoint(state_dict, config_yaml_path, out_path, created=None):
    """Writes a supernet state_dict as a checkpoint of the config's space (see the module doc)."""
    with open(config_yaml_path, "rb") as fp:
        text = fp.read().decode()
    cfg = yaml.safe_load(text)
    space = Space(cfg)
    seed = int(((cfg.get("train") or {}).get("seed", 1)))
    sd = {}
    for k, v in state_dict.items():
        if k.endswith(".num_batches_tracked") or ".bn.bn_tracking." in k:
            continue
        sd[k] = v
    tensors = collections.OrderedDict()
    for name, kind in space.state_dict_order():
        if kind == "count":
            continue
        if name not in sd:
            raise ValueError("state_dict: missing '%s' (a model of another search space?)" % name)
        t = sd.pop(name)
        a = (t.detach().cpu().to(torch.float32).numpy() if isinstance(t, torch.Tensor)
             else np.asarray(t, dtype=np.float32))
        want = tuple(space.params[name]) if kind == "param" else (space.bn_width(name.rsplit(".", 1)[0]),)
        if name == "first_conv.conv.conv.weight" and a.ndim == 4 and a.shape[1] > want[1] and \
                (a.shape[0],) + a.shape[2:] == (want[0],) + want[2:]:
            a = a[:, :want[1]]  # the official 3-channel stem: the forward uses the first ones
        if tuple(a.shape) != want:
            raise ValueError("state_dict: '%s' has shape %s, the space of %s needs %s"
                             % (name, tuple(a.shape), config_yaml_path, want))
        tensors[name] = (kind, a)
    if sd:
        extra = sorted(sd)
        raise ValueError("state_dict: %d entr%s not in the space of %s: %s%s"
                       % (len(extra), "y" if len(extra) == 1 else "ies", config_yaml_path,
                          ", ".join(extra[:5]), " ..." if len(extra) > 5 else ""))
    if created is None:
        created = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    tmp = "%s.tmp.%d" % (out_path, os.getpid())
    try:
        with _create_file(tmp) as f:
            gs, gp, gm, gb = (_group(f, g) for g in ("state", "params", "momentum", "buffers"))
            _attr_str(f, "format", CKPT_FORMAT)
            f.attrs.create("version", 1, dtype="<i4")
            _attr_str(f, "software", SOFTWARE)
            _attr_str(f, "created", created)
            gs.attrs.create("step", 0, dtype="<i8")
            gs.attrs.create("steps_per_epoch", 1, dtype="<i8")
            gs.attrs.create("schedule_steps", 0, dtype="<i8")
            gs.attrs.create("world_size", 1, dtype="<i4")
            gs.attrs.create("micro_batches", 1, dtype="<i4")
            gs.attrs.create("seed", seed, dtype="<i8")
            gs.attrs.create("coordinator_rng", np.zeros(4, dtype="<u8"))
            gs.attrs.create("data_digest", np.zeros(2, dtype="<f8"))
            gs.attrs.create("train_seconds", np.zeros(1, dtype="<f8"))
            for name, (kind, a) in tensors.items():
                if kind == "param":
                    _tensor(gp, name, a)
                    _zeros(gm, name, a.shape)
                else:
                    _tensor(gb, name, a)
            _text(f, "config", text)
            _text(f, "metrics", "")
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ----------------------------------------------------------------------------------------------
# exported subnets: a static PyTorch model


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class HSigmoid(nn.Module):
    def forward(self, x):
        return F.relu6(x + 3.0) / 6.0


class _Holder(nn.Module):
    """One level of the official module path (e.g. the outer `conv` of `conv.conv.weight`)."""

    def __init__(self, **children):
        super().__init__()
        for k, m in children.items():
            self.add_module(k, m)


def _conv(cin, cout, k=1, stride=1, groups=1, bias=False):
    return nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=bias)


def _bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS)


class ConvBnAct(nn.Module):
    """`<name>.conv.conv` [+ `<name>.bn.bn`] [+ swish]: the official DynamicConvBnActLayer's names."""

    def __init__(self, cin, cout, k=1, stride=1, groups=1, bn=True, act=True):
        super().__init__()
        self.conv = _Holder(conv=_conv(cin, cout, k, stride, groups))
        if bn:
            self.bn = _Holder(bn=_bn(cout))
        self.act = Swish() if act else None

    def forward(self, x):
        x = self.conv.conv(x)
        if hasattr(self, "bn"):
            x = self.bn.bn(x)
        return self.act(x) if self.act is not None else x


class SE(nn.Module):
    """Squeeze-and-excitation: mean over H x W, reduce 1x1 conv + bias, ReLU, expand 1x1 conv +
    bias, hard sigmoid relu6(x + 3) / 6, multiply."""

    def __init__(self, c, r):
        super().__init__()
        self.fc = nn.Sequential(collections.OrderedDict([
            ("reduce", nn.Conv2d(c, r, 1, bias=True)), ("relu", nn.ReLU()),
            ("expand", nn.Conv2d(r, c, 1, bias=True)), ("h_sigmoid", HSigmoid())]))

    def forward(self, x):
        return x * self.fc(x.mean((2, 3), keepdim=True))


class MBConv(nn.Module):
    """`blocks.<i>.mobile_inverted_conv`: [expand 1x1 + BN + swish], depthwise k x k (stride,
    padding k // 2) + BN + swish [+ SE], project 1x1 + BN."""

    def __init__(self, cin, mid, cout, k, stride, has_expand, se_r):
        super().__init__()
        if has_expand:
            self.inverted_bottleneck = ConvBnAct(cin, mid)
        else:
            assert mid == cin
            self.inverted_bottleneck = None
        self.depth_conv = ConvBnAct(mid, mid, k, stride, groups=mid)
        if se_r:
            self.depth_conv.se = SE(mid, se_r)
        self.point_linear = ConvBnAct(mid, cout, act=False)

    def forward(self, x):
        if self.inverted_bottleneck is not None:
            x = self.inverted_bottleneck(x)
        x = self.depth_conv(x)
        if hasattr(self.depth_conv, "se"):
            x = self.depth_conv.se(x)
        return self.point_linear(x)


class Shortcut(nn.Module):
    """`blocks.<i>.shortcut`: 2x2 average pooling when strided (padding 1 when the side is odd,
    zeros counted), then a 1x1 conv when the widths differ."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        self.conv = _Holder(conv=_conv(cin, cout)) if cin != cout else None

    def forward(self, x):
        if self.stride > 1:
            x = F.avg_pool2d(x, self.stride, padding=0 if x.size(-1) % 2 == 0 else 1)
        return self.conv.conv(x) if self.conv is not None else x


class Block(nn.Module):
    def __init__(self, cin, mid, cout, k, stride, has_expand, se_r):
        super().__init__()
        self.mobile_inverted_conv = MBConv(cin, mid, cout, k, stride, has_expand, se_r)
        self.identity = cin == cout and stride == 1
        self.shortcut = None if self.identity else Shortcut(cin, cout, stride)

    def forward(self, x):
        y = self.mobile_inverted_conv(x)
        return y + (x if self.identity else self.shortcut(x))


class Head(nn.Module):
    """`last_conv`: final_expand_layer (1x1 + BN + swish), global average, feature_mix_layer
    (1x1 without BN or bias, + swish)."""

    def __init__(self, cin, e, mix):
        super().__init__()
        self.final_expand_layer = ConvBnAct(cin, e)
        self.feature_mix_layer = ConvBnAct(e, mix, bn=False)

    def forward(self, x):
        x = self.final_expand_layer(x)
        x = x.mean((2, 3), keepdim=True)
        return self.feature_mix_layer(x)


class StaticSubnet(nn.Module):
    """One subnet of a space as a plain PyTorch model (see load_subnet)."""

    def __init__(self, space, arch):
        super().__init__()
        self.arch = arch
        self.resolution = arch["res"]
        cs = arch["stem"]
        self.first_conv = ConvBnAct(space.in_channels, cs, 3, space.stem_stride)
        self.blocks = nn.ModuleDict()
        cin = cs
        for si, (w, d, k, e) in enumerate(arch["stages"]):
            for blk in space.stage_blocks(si)[:d]:
                mid = make_divisible(cin * e, 8) if blk["has_expand"] else cin
                se_r = make_divisible(mid // 4, 8) if blk["se"] else 0
                self.blocks[str(blk["index"])] = Block(cin, mid, w, k, blk["stride"], blk["has_expand"], se_r)
                cin = w
        self.last_conv = Head(cin, cin * space.head_expand, arch["mix"])
        self.classifier = _Holder(linear=_Holder(linear=nn.Linear(arch["mix"], space.classes)))

    def forward(self, x):
        if x.size(-1) != self.resolution:
            x = F.interpolate(x, size=self.resolution, mode="bicubic", align_corners=False)
        x = self.first_conv(x)
        for blk in self.blocks.values():
            x = blk(x)
        x = self.last_conv(x).flatten(1)
        return self.classifier.linear.linear(x)


def load_subnet(path):
    """The static PyTorch model (eval mode) of an exported subnet file (see the module doc)."""
    with h5py.File(path, "r") as f:
        _check_format(f, path, SUBNET_FORMAT)
        arch_text = _read_str_attr(f, "arch")
        config_text = _read_text(f, "config")
        tensors = {}
        for grp in ("params", "buffers"):
            for name, ds in f[grp].items():
                tensors[name] = torch.from_numpy(np.ascontiguousarray(ds[()], dtype=np.float32))
        classes = int(np.asarray(f.attrs["classes"]).reshape(-1)[0]) if "classes" in f.attrs else None
        in_ch = int(np.asarray(f.attrs["in_channels"]).reshape(-1)[0]) if "in_channels" in f.attrs else None
    space = space_of_text(config_text)
    if (classes is not None and classes != space.classes) or (in_ch is not None and in_ch != space.in_channels):
        raise ValueError("'%s': attributes classes / in_channels (%s / %s) differ from its config's (%d / %d)"
                         % (path, classes, in_ch, space.classes, space.in_channels))
    model = StaticSubnet(space, space.parse_arch(arch_text))
    model.arch_text = arch_text
    model.config_text = config_text
    own = model.state_dict()
    missing = [k for k in own if k not in tensors and not k.endswith(".num_batches_tracked")]
    extra = [k for k in tensors if k not in own]
    if missing or extra:
        raise ValueError("'%s' does not hold the tensors of its arch %s: missing %s, unexpected %s"
                         % (path, arch_text, missing[:5], extra[:5]))
    for k, t in tensors.items():
        if tuple(t.shape) != tuple(own[k].shape):
            raise ValueError("'%s': %s has shape %s, the arch %s needs %s"
                             % (path, k, tuple(t.shape), arch_text, tuple(own[k].shape)))
    model.load_state_dict(tensors, strict=False)
    return model.eval()


# ----------------------------------------------------------------------------------------------
# command line


def _load_state_dict_file(path):
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise ValueError("%s: not a state_dict (a dict of tensors)" % path)
    return collections.OrderedDict((k[7:] if k.startswith("module.") else k, v) for k, v in obj.items())


def _normalisation(cfg, in_channels):
    d = cfg.get("data") or {}
    mean, std = d.get("mean"), d.get("std")
    if mean is None or std is None:
        if in_channels != 1:
            raise ValueError("the subnet's config has no data.mean / data.std")
        mean, std = [0.2860], [0.3530]  # the C defaults (Fashion-MNIST)
    mean = [float(v) for v in (mean if isinstance(mean, list) else [mean])]
    std = [float(v) for v in (std if isinstance(std, list) else [std])]
    return mean, std


def _predict(args):
    model = load_subnet(args.subnet)
    npar = sum(int(t.numel()) for t in model.parameters())
    print("%s: %s, %d parameters" % (args.subnet, model.arch_text, npar))
    if not args.images:
        print(model)
        return 0
    cfg = yaml.safe_load(model.config_text)
    with h5py.File(args.images, "r") as f:
        _check_format(f, args.images, "alphanet-images")
        n = f["images"].shape[0] if args.limit is None else min(args.limit, f["images"].shape[0])
        imgs = np.asarray(f["images"][:n])
        labels = np.asarray(f["labels"][:n]).astype(np.int64)
    mean, std = _normalisation(cfg, imgs.shape[3])
    scale = torch.tensor([1.0 / (255.0 * s) for s in std], dtype=torch.float32).view(1, -1, 1, 1)
    shift = torch.tensor([-m / s for m, s in zip(mean, std)], dtype=torch.float32).view(1, -1, 1, 1)
    out = []
    with torch.no_grad():
        for i in range(0, n, args.batch):
            x = torch.from_numpy(imgs[i:i + args.batch]).permute(0, 3, 1, 2).to(torch.float32)
            out.append(model(x * scale + shift))
    z = torch.cat(out) if out else torch.zeros(0, 1)
    top1 = float((z.argmax(1).numpy() == labels).mean()) if n else 0.0
    print("%s: %d images, top-1 %.2f%%" % (args.images, n, 100 * top1))
    if args.logits:
        np.save(args.logits, z.numpy())
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("to-checkpoint", help="a PyTorch supernet state_dict -> an alphanet checkpoint")
    a.add_argument("state_dict")
    a.add_argument("config")
    a.add_argument("out")
    b = sub.add_parser("to-state-dict", help="an alphanet checkpoint -> a PyTorch supernet state_dict (torch.save)")
    b.add_argument("checkpoint")
    b.add_argument("out")
    b.add_argument("--plain", action="store_true",
                   help="the checkpoint's tensors and shapes only (+ num_batches_tracked): no stem padding, no "
                        "bn_tracking buffers")
    c = sub.add_parser("predict", help="run an exported subnet in PyTorch")
    c.add_argument("subnet")
    c.add_argument("images", nargs="?")
    c.add_argument("--limit", type=int, default=None)
    c.add_argument("--batch", type=int, default=256)
    c.add_argument("--logits", default=None, help="save the logits [n][classes] (numpy .npy)")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "to-checkpoint":
            sd = _load_state_dict_file(args.state_dict)
            state_dict_to_checkpoint(sd, args.config, args.out)
            print("%s: %d tensors -> %s" % (args.state_dict, len(sd), args.out))
        elif args.cmd == "to-state-dict":
            sd = checkpoint_to_state_dict(args.checkpoint, official=not args.plain)
            torch.save(sd, args.out)
            print("%s: %d entries -> %s" % (args.checkpoint, len(sd), args.out))
        else:
            return _predict(args)
    except (OSError, ValueError, KeyError) as e:
        print("torch_interop.py %s: %s" % (args.cmd, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
