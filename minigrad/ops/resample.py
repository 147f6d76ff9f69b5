"""Separable resampling of the last two axes (interpolation; reflect and replicate padding) as one op.

Each op here moves values along rows and columns independently: output row ``i`` reads input rows
``source[pointer[i]:pointer[i + 1]]`` with ``weight[...]`` (an ``AxisMap``, compressed rows), and
the columns likewise. The op is linear, ``out = R x C^T`` per plane, so its gradient is the same op
on the transposed maps, ``dx = R^T g C``: ``Resample2d``'s backward is a ``Resample2d`` too, and its
double backward is the forward again. The kernels (kernels/cpu/resample.py and its CUDA twin) are
gathers through these maps, one writer per output element.

The maps of F.interpolate follow PyTorch 2.13's CPU source-index formulas exactly (aten's
UpSample.h): the scale is 1 / scale_factor when a scale factor is given (else in / out), the source
index is computed in float32 for nearest and in the input's dtype for bilinear, and floored in
float32 (``floorf``) for both.
"""
import math

import numpy as np

from .. import backend
from ..autograd import Function


class AxisMap:
    """Output position i of an axis = sum of weight[k] * input[source[k]] over k in pointer[i]:pointer[i + 1].

    ``weight`` None means every weight is 1 (a pure gather); ``input_size`` is the length read from.
    """

    def __init__(self, pointer, source, weight, input_size):
        self.pointer, self.source, self.weight, self.input_size = pointer, source, weight, int(input_size)

    @classmethod
    def gather(cls, source, input_size):
        """Each output position reads exactly one input position, with weight 1."""
        source = np.asarray(source, dtype=np.int64)
        return cls(np.arange(source.size + 1, dtype=np.int64), source, None, input_size)

    @property
    def output_size(self):
        return self.pointer.size - 1

    @property
    def is_gather(self):
        """Whether every output position reads exactly one input position, with weight 1."""
        if self.weight is not None or self.source.size != self.output_size:
            return False
        return bool(np.all(np.diff(self.pointer) == 1))

    def weights(self, dtype):
        """The weights as an array of ``dtype``."""
        if self.weight is None:
            return np.ones(self.source.size, dtype=dtype)
        return self.weight.astype(dtype, copy=False)

    def transposed(self):
        """The map back: input position k gathers every output position that read it (with the same weights),
        in increasing output order (a stable sort), so sums run in a fixed order on every device."""
        order = np.argsort(self.source, kind="stable")
        outputs = np.repeat(np.arange(self.output_size, dtype=np.int64), np.diff(self.pointer))
        counts = np.bincount(self.source, minlength=self.input_size)
        pointer = np.zeros(self.input_size + 1, dtype=np.int64)
        np.cumsum(counts, out=pointer[1:])
        weight = None if self.weight is None else self.weight[order]
        return AxisMap(pointer, outputs[order], weight, self.output_size)


def nearest_axis(input_size, output_size, scale, dtype, shortcuts):
    """PyTorch's CPU nearest source index, min(floorf(i * scale), input_size - 1), on either of its two paths.

    ``shortcuts`` (its vectorized kernel, taken when OH + OW <= 128 or for channels-last input with C > 3):
    nearest_idx, i for equal sizes and i >> 1 for twice the size, else the formula with a float32 scale.
    Otherwise (its generic kernel): the formula always, with the scale and product in the input's
    dtype, floored in float32. The scale is 1 / scale_factor when one is given, else in / out. (PyTorch's
    nearest backward always takes nearest_idx, so where the two differ its gradient is not its forward's
    transpose; minigrad's gradient is always the transpose of the forward it computes.)
    """
    positions = np.arange(output_size, dtype=np.int64)
    if shortcuts:
        if output_size == input_size:
            return AxisMap.gather(positions, input_size)
        if output_size == 2 * input_size:
            return AxisMap.gather(positions >> 1, input_size)
        dtype = np.float32
    dtype = np.dtype(dtype).type
    real = scale_value(dtype, scale, input_size, output_size) * positions.astype(dtype)
    source = np.floor(real.astype(np.float32)).astype(np.int64)
    return AxisMap.gather(np.minimum(source, input_size - 1), input_size)


def scale_value(dtype, scale, input_size, output_size):
    """PyTorch's compute_scales_value: 1 / scale (in double, then cast) when given and positive, else in / out."""
    if scale is not None and scale > 0:
        return dtype(1.0 / scale)
    return dtype(input_size) / dtype(output_size)


def linear_axis(input_size, output_size, align_corners, scale, dtype):
    """PyTorch's compute_source_index_and_lambda: two input positions and their weights per output position.

    real = ratio * i (align_corners) or max(ratio * (i + 0.5) - 0.5, 0), in ``dtype``;
    i0 = min(floorf(real), in - 1), i1 = i0 + (i0 < in - 1), l1 = clip(real - i0, 0, 1), l0 = 1 - l1.
    """
    dtype = np.dtype(dtype).type
    positions = np.arange(output_size, dtype=np.int64)
    if output_size == input_size:  # a copy, with the second tap's weight 0 (as PyTorch: 0 * inf is NaN)
        first, second = positions, positions
        lambda1 = np.zeros(output_size, dtype=dtype)
    else:
        if align_corners:
            ratio = dtype(input_size - 1) / dtype(output_size - 1) if output_size > 1 else dtype(0)
            real = ratio * positions.astype(dtype)
        else:
            ratio = scale_value(dtype, scale, input_size, output_size)
            real = ratio * (positions.astype(dtype) + dtype(0.5)) - dtype(0.5)
            real = np.where(real < 0, dtype(0), real)
        first = np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), input_size - 1)
        second = first + (first < input_size - 1)
        lambda1 = np.clip(real - first.astype(dtype), dtype(0), dtype(1)).astype(dtype)
    lambda0 = (dtype(1) - lambda1).astype(dtype)
    pointer = np.arange(0, 2 * output_size + 1, 2, dtype=np.int64)
    source = np.stack([first, second], axis=1).reshape(-1)
    weight = np.stack([lambda0, lambda1], axis=1).reshape(-1)
    return AxisMap(pointer, source, weight, input_size)


class ResamplePlan:
    """The row map and the column map of one resampling of (..., H, W) to (..., rows.output_size,
    columns.output_size), and the plan of its transpose (built on first use)."""

    def __init__(self, rows, columns):
        self.rows, self.columns = rows, columns
        self._transposed = None
        self.device_arrays = {}  # (device, dtype) -> the maps as that device's arrays (the backend fills it)

    @property
    def output_size(self):
        return (self.rows.output_size, self.columns.output_size)

    @property
    def input_size(self):
        return (self.rows.input_size, self.columns.input_size)

    @property
    def is_gather(self):
        return self.rows.is_gather and self.columns.is_gather

    def transposed(self):
        if self._transposed is None:
            self._transposed = ResamplePlan(self.rows.transposed(), self.columns.transposed())
            self._transposed._transposed = self
        return self._transposed


def resample(x, plan):
    """x (..., H, W) resampled by ``plan`` to (..., OH, OW) on the backend's kernels."""
    leading = x.shape[:-2]
    planes = backend.contiguous(x).reshape((math.prod(leading),) + x.shape[-2:])  # not -1: x may be empty
    return backend.resample2d(planes, plan).reshape(leading + plan.output_size)


class Resample2d(Function):
    """out = R x C^T per plane (R, C: the plan's row and column maps):  dx = R^T g C"""

    def __init__(self, plan):
        self.plan = plan

    def forward(self, x):
        return resample(x, self.plan)

    def backward(self, g):
        return (resample(g, self.plan.transposed()),)

    def differentiable_backward(self, g):
        return (Resample2d.apply(g, plan=self.plan.transposed()),)

    def jvp(self, dx):
        """dout = R dx C^T  (linear: the op itself on the tangent)"""
        return resample(dx, self.plan)
