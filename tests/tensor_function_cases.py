"""The tensor functions of PyTorch's API, one call each, written once for both libraries: each case is
``function(lib, *tensors)`` with ``lib`` minigrad or torch (their names and arguments are the same),
and the shapes of its float inputs. tests/test_tensor_functions.py checks them with gradcheck,
gradgradcheck and the forward-mode Jacobian; tests/test_tensor_functions_torch.py against PyTorch.

Inputs are distinct values at least 0.05 apart (see ``inputs``), so a max, a sort or a clamp picks
the same element under central differences.
"""
import math

import numpy as np


def inputs(shapes, seed=0, positive=False):
    """Float64 arrays of ``shapes``, all values distinct and spaced (no ties for max, sort, clamp)."""
    rng = np.random.default_rng(seed)
    sizes = [int(np.prod(shape)) for shape in shapes]
    spaced = rng.permutation(sum(sizes) + 4)[: sum(sizes)] * 0.37 - 0.37 * sum(sizes) / 2 + 0.05
    if positive:
        spaced = np.abs(spaced) + 0.5
    arrays, start = [], 0
    for shape, size in zip(shapes, sizes):
        arrays.append(spaced[start : start + size].reshape(shape))
        start += size
    return arrays


def flat(lib, output):
    """One float tensor from a function's output: its floating tensors flattened and joined."""
    parts = output if isinstance(output, (tuple, list)) else (output,)
    floats = [part.reshape(-1) for part in parts if part.dtype in (lib.float32, lib.float64)]
    return lib.cat(floats) if len(floats) > 1 else floats[0]


def index(lib, rows, like):
    """An int64 index tensor on ``like``'s device."""
    return lib.tensor(rows, device=like.device)


CASES = {
    # joining
    "cat dim 1": (lambda lib, a, b: lib.cat([a, b], 1), [(2, 3), (2, 2)]),
    "cat dim -1 of three": (lambda lib, a, b, c: lib.cat((a, b, c), dim=-1), [(2, 1), (2, 2), (2, 3)]),
    "cat dim 0": (lambda lib, a, b: lib.cat([a, b]), [(1, 3), (2, 3)]),
    "concat": (lambda lib, a, b: lib.concat([a, b], dim=0), [(2,), (3,)]),
    "concatenate axis": (lambda lib, a, b: lib.concatenate([a, b], axis=1), [(2, 1), (2, 2)]),
    "stack dim 0": (lambda lib, a, b: lib.stack([a, b]), [(2, 3), (2, 3)]),
    "stack dim -1": (lambda lib, a, b: lib.stack((a, b), dim=-1), [(2, 3), (2, 3)]),
    "stack dim 1": (lambda lib, a, b, c: lib.stack([a, b, c], 1), [(2,), (2,), (2,)]),
    # splitting: views with gradients
    "split size": (lambda lib, x: x.split(2, dim=1), [(2, 5)]),
    "split sections": (lambda lib, x: lib.split(x, [1, 3], 0), [(4, 2)]),
    "chunk": (lambda lib, x: x.chunk(3, -1), [(2, 7)]),
    "chunk fewer": (lambda lib, x: lib.chunk(x, 4), [(6,)]),
    # selection
    "where": (lambda lib, a, b: lib.where(a > b, a, b), [(2, 3), (3,)]),
    "where number": (lambda lib, a: lib.where(a > 0, a, 0.5), [(3, 2)]),
    "where number first": (lambda lib, a: lib.where(a < 0, -1.0, a * 2), [(4,)]),
    "Tensor.where": (lambda lib, a, b: a.where(a > 0, b), [(2, 2), (2, 1)]),
    "masked_fill number": (lambda lib, a: a.masked_fill(a > 0, -1.5), [(3, 3)]),
    "masked_fill 0-d tensor": (lambda lib, a, v: lib.masked_fill(a, a[0] > a[1], v.sum()), [(2, 3), (2,)]),
    "gather": (lambda lib, a: a.gather(1, index(lib, [[0, 2, 2], [1, 0, 0]], a)), [(2, 3)]),
    "gather dim 0 smaller": (lambda lib, a: lib.gather(a, 0, index(lib, [[2], [0], [2], [1]], a)), [(3, 2)]),
    "scatter_add": (lambda lib, a, s: a.scatter_add(1, index(lib, [[0, 0], [2, 1]], a), s), [(2, 3), (2, 2)]),
    "scatter_add src larger": (lambda lib, a, s: lib.scatter_add(a, 0, index(lib, [[1, 1, 0]], a), s),
                               [(2, 3), (2, 4)]),
    "sort": (lambda lib, a: a.sort(), [(2, 4)]),
    "sort descending dim 0": (lambda lib, a: lib.sort(a, 0, descending=True), [(3, 2)]),
    "topk": (lambda lib, a: a.topk(2), [(3, 4)]),
    "topk smallest dim 0": (lambda lib, a: lib.topk(a, 2, dim=0, largest=False), [(3, 2)]),
    "max along dim": (lambda lib, a: a.max(1), [(3, 4)]),
    "max keepdim": (lambda lib, a: lib.max(a, dim=0, keepdim=True), [(3, 4)]),
    "min along dim": (lambda lib, a: a.min(-1), [(2, 3)]),
    "max of all": (lambda lib, a: lib.max(a), [(2, 3)]),
    "max of two": (lambda lib, a, b: lib.max(a, b), [(2, 3), (3,)]),
    "min of two": (lambda lib, a, b: lib.min(a, b), [(2, 1), (3,)]),
    "maximum": (lambda lib, a, b: lib.maximum(a, b), [(3,), (2, 3)]),
    "minimum": (lambda lib, a, b: a.minimum(b), [(2, 3), (2, 3)]),
    "amax": (lambda lib, a: a.amax((0, 2)), [(2, 3, 2)]),
    "amin": (lambda lib, a: lib.amin(a, 1, keepdim=True), [(2, 3)]),
    "clamp tensors": (lambda lib, x, low, high: x.clamp(low - 1.0, high + 1.0), [(2, 3), (3,), (2, 1)]),
    "clamp min tensor": (lambda lib, x, low: lib.clamp(x, min=low), [(2, 3), (3,)]),
    "clip max tensor": (lambda lib, x, high: x.clip(max=high), [(4,), (4,)]),
    "clamp numbers": (lambda lib, x: lib.clamp(x, -1.0, 1.0), [(6,)]),
    # shapes
    "expand": (lambda lib, a: a.expand(2, 3, 4), [(3, 1)]),
    "expand -1": (lambda lib, a: a.expand(-1, 3), [(2, 1)]),
    "expand_as": (lambda lib, a, b: a.expand_as(b) * b, [(1, 3), (2, 3)]),
    "repeat": (lambda lib, a: a.repeat(2, 1, 3), [(2, 2)]),
    "view_as": (lambda lib, a, b: a.view_as(b) * b, [(6,), (2, 3)]),
    "flatten": (lambda lib, a: lib.flatten(a, 1), [(2, 2, 3)]),
    "squeeze dims": (lambda lib, a: a.squeeze((0, 2)), [(1, 3, 1, 2)]),
    "squeeze function": (lambda lib, a: lib.squeeze(a, 1), [(2, 1, 3)]),
    "unsqueeze function": (lambda lib, a: lib.unsqueeze(a, -1), [(2, 3)]),
    # scans and statistics
    "cumsum": (lambda lib, a: a.cumsum(1), [(2, 4)]),
    "cumsum function": (lambda lib, a: lib.cumsum(a, dim=0), [(3, 2)]),
    "var": (lambda lib, a: a.var(1), [(2, 4)]),
    "var all": (lambda lib, a: lib.var(a), [(3, 2)]),
    "var unbiased False": (lambda lib, a: a.var(0, False, True), [(3, 2)]),
    "var correction": (lambda lib, a: a.var(dim=1, correction=2), [(2, 5)]),
    "std": (lambda lib, a: a.std(0), [(3, 2)]),
    "std dims": (lambda lib, a: lib.std(a, (0, 2), keepdim=True), [(2, 2, 3)]),
    "norm": (lambda lib, a: a.norm(), [(2, 3)]),
    "norm p1 dim": (lambda lib, a: lib.norm(a, 1, dim=1), [(2, 3)]),
    "norm inf": (lambda lib, a: a.norm(math.inf, 0, True), [(3, 2)]),
    "norm -inf": (lambda lib, a: a.norm(-math.inf), [(5,)]),
    "norm p3 dims": (lambda lib, a: a.norm(3, (0, 1)), [(2, 3)]),
    "norm p0.5": (lambda lib, a: a.norm(0.5, dim=-1), [(2, 3)]),
    "norm p1.5": (lambda lib, a: lib.norm(a, 1.5), [(4,)]),
    "norm fro dims": (lambda lib, a: lib.norm(a, "fro", (1, 2)), [(2, 2, 3)]),
    "logsumexp": (lambda lib, a: a.logsumexp(1), [(2, 4)]),
    "logsumexp dims": (lambda lib, a: lib.logsumexp(a, (0, 1), keepdim=True), [(2, 3, 2)]),
    "pow number first": (lambda lib, a: lib.pow(2.0, a), [(4,)]),
    "pow": (lambda lib, a, b: lib.pow(a.abs() + 0.5, b), [(2, 3), (3,)]),
}
