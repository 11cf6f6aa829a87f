#!/usr/bin/python3
"""interop_ref.py - fixtures of the PyTorch interoperability test (tests/test_interop.c).

A random supernet of tests/fixtures/supernet/tiny.yaml as the official AttentiveNAS model's
state_dict (official names, the official 3-input-channel stem, BN running statistics,
num_batches_tracked, the bn_tracking BNs), written by jobs/torch_interop.py's
state_dict_to_checkpoint, plus the reference logits (supernet_ref.forward, BN in inference mode
with the running statistics) of three subnets on one batch. The C test loads the checkpoint
with the C reader, compares its logits with these, and exports the three subnets; --check then
loads those exported files with torch_interop.load_subnet and compares them with the
reference, and round-trips the checkpoint through a state_dict.

Writes (format: tests/support/fixture.h and docs/formats.md; contents: tests/ref/README.md):
    tests/fixtures/interop/supernet.h5     checkpoint (alphanet-checkpoint, version 1)
    tests/fixtures/interop/logits.anfx     images, arch strings, reference logits

Everything is computed in float64 from the float32 parameters and images and stored as float32;
parameters and images come from a torch generator seeded from a fixed name, and the
checkpoint's `created` attribute is fixed, so a rerun gives byte-identical files.

    /usr/bin/python3 tests/ref/interop_ref.py            # write the two fixtures
    ALPHANET_WRITE_INTEROP=1 ctest --test-dir build -R test_interop   # the C export: subnet_<i>.h5
    /usr/bin/python3 tests/ref/interop_ref.py --check    # check the subnet files and the round trip
"""

import argparse
import collections
import os
import sys
import tempfile

import h5py
import numpy as np
import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.normpath(os.path.join(HERE, "..", "..", "jobs")))

import anfx  # noqa: E402  (this folder)
import supernet_ref as ref  # noqa: E402
import torch_interop as ti  # noqa: E402  (jobs/)

OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "interop"))
CONFIG = os.path.normpath(os.path.join(HERE, "..", "fixtures", "supernet", "tiny.yaml"))
D = torch.float64
CREATED = "2000-01-01T00:00:00Z"
N_IMAGES = 6
# the subnets: every block variant of the tiny space between them - 13 x 13 inputs (bicubic
# resize, odd sides: pooled shortcuts with padding), 3x3 kernels cut from 5x5, partial stem /
# stage / expand / SE / mixing widths, a shortcut conv without pooling (arch 1, block 0), pooling
# without a conv (archs 0 and 2), identity blocks, both SE stages
ARCHS = ["r13 s8 16/2/3/1 16/1/5/2 24/2/3/3 24/1/5/4 h48",
         "r16 s16 8/1/5/1 16/2/3/4 16/1/5/4 32/2/3/4 h32",
         "r13 s16 16/1/3/1 16/2/3/2 16/2/5/3 24/2/3/4 h32"]
TOL_F32 = 1e-5  # load_subnet in float32 against the float64 reference, relative to max(max|ref|, 1)


class RunningStats(ref.BNStats):
    """BNStats in inference mode on given full-width running statistics (the active channels)."""

    def __init__(self, mean, var):
        super().__init__()
        self.mode = "infer"
        self.full = (mean, var)

    def __call__(self, x, w, b, pre):
        c = x.size(1)
        self.mean[pre], self.var[pre] = self.full[0][pre][:c], self.full[1][pre][:c]
        return super().__call__(x, w, b, pre)


def official_state_dict(space):
    """The random supernet as the official model's state_dict, in its order (float32)."""
    g = ref.gen("interop")
    P = ref.init_params(space, g)  # BN gammas U(0.5, 1.5), betas U(-0.2, 0.2), classifier x 10
    sd = collections.OrderedDict()
    for name in space.names:
        t = P[name]
        if name == "first_conv.conv.conv.weight" and t.size(1) < 3:
            # the official first conv has 3 input channels; a 1-channel input uses the first
            t = torch.cat([t, torch.empty(t.size(0), 3 - t.size(1), 3, 3).uniform_(-1, 1, generator=g)], 1)
        sd[name] = t
        if space.kinds[name] == "bn_b":
            mod, c = name[:-len(".bias")], t.numel()
            sd[mod + ".running_mean"] = torch.empty(c).uniform_(-0.5, 0.5, generator=g)
            sd[mod + ".running_var"] = torch.empty(c).uniform_(0.25, 2.0, generator=g)
            sd[mod + ".num_batches_tracked"] = torch.tensor(7, dtype=torch.long)
            for j in (0, 1):  # the official DynamicBatchNorm2d's bn_tracking BNs (not in checkpoints)
                t = "%s_tracking.%d." % (mod, j)
                sd[t + "running_mean"] = torch.full((c,), 0.25 + j)
                sd[t + "running_var"] = torch.full((c,), 3.0 + j)
                sd[t + "num_batches_tracked"] = torch.tensor(5, dtype=torch.long)
    x = torch.randn(N_IMAGES, space.in_ch, 16, 16, generator=g, dtype=torch.float32)
    return sd, x


def reference_logits(space, sd, x):
    P = {n: sd[n].to(D) for n in space.names}
    mods = ref.bn_modules(space)
    st_mean = {m: sd[m + ".running_mean"].to(D) for m in mods}
    st_var = {m: sd[m + ".running_var"].to(D) for m in mods}
    out = []
    with torch.no_grad():
        for text in ARCHS:
            arch = ti_arch(space, text)
            space.validate(arch)
            out.append(ref.forward(space, P, arch, x.to(D), bns=RunningStats(st_mean, st_var)))
    return out


def ti_arch(space, text):
    a = ti.Space(yaml.safe_load(open(CONFIG))).parse_arch(text)
    assert space.text(a) == text, (space.text(a), text)
    return a


def generate(space):
    os.makedirs(OUT, exist_ok=True)
    sd, x = official_state_dict(space)
    path = os.path.join(OUT, "supernet.h5")
    ti.state_dict_to_checkpoint(sd, CONFIG, path, created=CREATED)
    zs = reference_logits(space, sd, x)
    T = dict(narchs=len(ARCHS), n=N_IMAGES)
    T["archs"] = torch.tensor(list("".join(a + "\n" for a in ARCHS).encode()), dtype=torch.uint8)
    T["x"] = x
    for i, z in enumerate(zs):
        T["logits/%d" % i] = z
    buf = anfx.encode(T)
    with open(os.path.join(OUT, "logits.anfx"), "wb") as fp:
        fp.write(buf)
    for i, (a, z) in enumerate(zip(ARCHS, zs)):
        print("arch %d: %-50s max |logit| %.3f" % (i, a, float(z.abs().max())))
    vmin = min(float(sd[m + ".running_var"].min()) for m in ref.bn_modules(space))
    print("supernet.h5 %d bytes, logits.anfx %d bytes (smallest running variance %.3g) -> %s"
          % (os.path.getsize(path), len(buf), vmin, OUT))


def rel(a, b):
    return float((a.to(D) - b.to(D)).abs().max()) / max(float(b.abs().max()), 1.0)


def slice_of(full, shape):
    """The subnet slice of a supernet tensor: leading entries of every dimension, the centre of a
    depthwise kernel (docs/formats.md, "Exported subnets")."""
    t = full
    for d, n in enumerate(shape):
        if d >= 2 and t.dim() == 4 and t.size(1) == 1:
            o = (t.size(d) - n) // 2
            t = t.narrow(d, o, n)
        else:
            t = t.narrow(d, 0, n)
    return t


def check(space):
    sd0, x = official_state_dict(space)
    zs = reference_logits(space, sd0, x)
    path = os.path.join(OUT, "supernet.h5")

    # the parameter table of torch_interop against the reference's (names, order, shapes)
    tis = ti.Space(yaml.safe_load(open(CONFIG)))
    assert list(tis.params) == space.names, "parameter names or order differ"
    assert all(tuple(tis.params[n]) == tuple(space.shapes[n]) for n in space.names)
    assert tis.bn_modules == ref.bn_modules(space)
    print("names: %d parameters and %d BN modules, as the reference's table" % (len(space.names), len(tis.bn_modules)))

    # (b) round trip checkpoint -> state_dict -> checkpoint -> state_dict
    sd1 = ti.checkpoint_to_state_dict(path)
    assert list(sd1) == list(sd0), "state_dict keys or order differ from the official ones"
    for k, v in sd0.items():
        if k == "first_conv.conv.conv.weight":
            w = sd1[k]
            assert w.shape == v.shape and torch.equal(w[:, :space.in_ch], v[:, :space.in_ch])
            assert not w[:, space.in_ch:].any(), "stem padding is not zero"
        elif k.endswith(".num_batches_tracked"):
            assert sd1[k].dtype == torch.long and int(sd1[k]) == 0
        elif "_tracking." in k:  # recreated with their initial values
            assert torch.equal(sd1[k], torch.zeros_like(v) if k.endswith("mean") else torch.ones_like(v)), k
        else:
            assert sd1[k].dtype == torch.float32 and torch.equal(sd1[k], v), k
    with tempfile.TemporaryDirectory() as tmp:
        p2 = os.path.join(tmp, "again.h5")
        ti.state_dict_to_checkpoint(sd1, CONFIG, p2, created=CREATED)
        sd2 = ti.checkpoint_to_state_dict(p2)
        assert list(sd2) == list(sd1)
        ndiff = sum(0 if (sd1[k].dtype == sd2[k].dtype and torch.equal(sd1[k], sd2[k])) else 1 for k in sd1)
        same_bytes = open(path, "rb").read() == open(p2, "rb").read()
        sd3 = ti.checkpoint_to_state_dict(p2, official=False)
        assert tuple(sd3["first_conv.conv.conv.weight"].shape) == tuple(space.shapes["first_conv.conv.conv.weight"])
        assert not any("_tracking." in k for k in sd3) and len(sd3) == len(space.names) + 3 * len(tis.bn_modules)
        with h5py.File(path, "r") as f:
            mom = max(float(np.abs(f["momentum"][n][()]).max()) for n in f["momentum"])
            cfg_same = f["config"][()].tobytes() == open(CONFIG, "rb").read()
    print("round trip supernet.h5 -> state_dict -> checkpoint -> state_dict: %d entries, %d differ; "
          "rewritten file byte-identical: %s; momentum max |m| %g; /config = tiny.yaml: %s"
          % (len(sd1), ndiff, same_bytes, mom, cfg_same))
    assert ndiff == 0 and mom == 0 and cfg_same

    # (a) the C-exported subnets in PyTorch
    worst32 = worst64 = 0.0
    for i, text in enumerate(ARCHS):
        sp = os.path.join(OUT, "subnet_%d.h5" % i)
        if not os.path.exists(sp):
            sys.exit("%s: missing; write it with ALPHANET_WRITE_INTEROP=1 ctest --test-dir build -R test_interop" % sp)
        m = ti.load_subnet(sp)
        assert m.arch_text == text, (m.arch_text, text)
        # every tensor of the file is the documented slice of the supernet's
        with h5py.File(sp, "r") as f:
            nt = 0
            for name, ds in f["params"].items():
                full = sd0[name]
                if name == "first_conv.conv.conv.weight":
                    full = full[:, :space.in_ch]
                assert torch.equal(torch.from_numpy(ds[()]), slice_of(full, ds.shape)), name
                nt += 1
            for name, ds in f["buffers"].items():
                assert torch.equal(torch.from_numpy(ds[()]), sd0[name][:ds.shape[0]]), name
                nt += 1
        with torch.no_grad():
            z32 = m(x)
            z64 = m.double()(x.double())
        e32, e64 = rel(z32, zs[i]), rel(z64, zs[i])
        worst32, worst64 = max(worst32, e32), max(worst64, e64)
        print("subnet_%d.h5 %-50s %3d tensors = slices of the supernet's; load_subnet logits vs reference: "
              "float32 %.2e, float64 %.2e (max|diff| / max(max|ref|, 1))" % (i, text, nt, e32, e64))
    print("worst: float32 %.2e (tolerance %.0e), float64 %.2e" % (worst32, TOL_F32, worst64))
    assert worst32 <= TOL_F32 and worst64 <= 1e-12


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="check the committed subnet files and the state_dict round trip; writes nothing")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with open(CONFIG) as fp:
        cfg = yaml.safe_load(fp)
    space = ref.Space(cfg)
    if args.check:
        check(space)
    else:
        generate(space)


if __name__ == "__main__":
    main()
