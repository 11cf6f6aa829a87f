"""anfx.py - the .anfx fixture encoder shared by the reference scripts in this folder.

Format (tests/support/fixture.h): magic "ANFX0001", u32 tensor count, then per tensor: u32 name
length, the name, u32 dtype (0 float32, 1 int32, 2 uint8), u32 ndim, ndim u32 dims, the data,
little-endian, C order. Python ints and floats become int32 / float32 tensors of shape [1].
"""

import struct

import numpy as np
import torch


def to_array(v):
    """(numpy array in its on-disk dtype, dtype code) of a fixture value."""
    if isinstance(v, bool):
        raise TypeError("bool scalar")
    if isinstance(v, int):
        return np.array([v], dtype="<i4"), 1
    if isinstance(v, float):
        return np.array([v], dtype="<f4"), 0
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu()
        if v.dim() == 0:
            v = v.reshape(1)
        if v.dtype in (torch.uint8, torch.bool):
            return v.to(torch.uint8).numpy().astype("u1"), 2
        if v.dtype in (torch.int32, torch.int64):
            a = v.numpy()
            assert np.all(np.abs(a) < 2 ** 31)
            return a.astype("<i4"), 1
        if v.dtype in (torch.float32, torch.float64):
            a = v.to(torch.float32).numpy()
            assert np.all(np.isfinite(a)), "non-finite value in fixture"
            return a.astype("<f4"), 0
    raise TypeError("unsupported fixture value %r" % type(v))


def encode(tensors):
    """bytes of a fixture; tensors: dict name -> tensor or scalar (insertion order kept)."""
    buf = bytearray(b"ANFX0001")
    buf += struct.pack("<I", len(tensors))
    for name, v in tensors.items():
        arr, dtype = to_array(v)
        nb = name.encode()
        assert 0 < len(nb) < 64, name
        buf += struct.pack("<I", len(nb)) + nb
        buf += struct.pack("<II", dtype, arr.ndim)
        for d in arr.shape:
            buf += struct.pack("<I", d)
        buf += np.ascontiguousarray(arr).tobytes()
    return bytes(buf)
