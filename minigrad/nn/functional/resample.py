"""Resizing NCHW tensors: F.interpolate with PyTorch's arguments, modes 'nearest' and 'bilinear'."""
import functools
import math
import numbers

from ... import ops
from ...ops.resample import AxisMap, ResamplePlan, linear_axis, nearest_axis
from .arguments import check_tensors

NAME = "interpolate"
INTERPOLATING_MODES = ("linear", "bilinear", "bicubic", "trilinear")
TORCH_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")


def _spatial(name, label, value, spatial_dims, kind):
    """``value`` (one number, or one per spatial dim) as a tuple of spatial_dims numbers."""
    if isinstance(value, (tuple, list)):
        if len(value) != spatial_dims:
            raise ValueError(f"{name}: input and {label} must have the same number of spatial dimensions, but got "
                             f"input with {spatial_dims} spatial dimensions and {label} {tuple(value)}")
        values = tuple(value)
    else:
        values = (value,) * spatial_dims
    for item in values:
        if not isinstance(item, kind) or isinstance(item, bool):
            expected = "ints" if kind is numbers.Integral else "numbers"
            raise TypeError(f"{name}: {label} must be {expected} (one, or one per spatial dimension), got {value!r}")
    return tuple(int(item) if kind is numbers.Integral else float(item) for item in values)


def output_size_and_scales(name, x, size, scale_factor, recompute_scale_factor):
    """The output's spatial size and the scales PyTorch passes to its kernels (None where it recomputes them)."""
    spatial_dims = x.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError(f"{name}: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError(f"{name}: either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"{name}: recompute_scale_factor is not meaningful with an explicit size.")
        output_size, scales = _spatial(name, "size", size, spatial_dims, numbers.Integral), (None,) * spatial_dims
    else:
        factors = _spatial(name, "scale_factor", scale_factor, spatial_dims, numbers.Real)
        # PyTorch: floor(float(in) * scale) in double.
        output_size = tuple(math.floor(float(length) * factor) for length, factor in zip(x.shape[2:], factors))
        scales = (None,) * spatial_dims if recompute_scale_factor else factors
    if min(x.shape[2:]) <= 0 or min(output_size) <= 0:
        raise ValueError(f"{name}: input and output sizes should be greater than 0, but got input {tuple(x.shape[2:])} "
                         f"and output {output_size}")
    return output_size, scales


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002 (torch's name)
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of ``input`` (N, C, H, W) (or (N, C, W) for 'nearest') to ``size`` or by
    ``scale_factor``, as PyTorch: 'nearest' takes floor(out_index * scale), 'bilinear' the two neighbours
    weighted by distance (``align_corners`` maps corner pixel centres onto each other).

    The scale used in the index formulas is 1 / scale_factor when a scale factor is given (unless
    ``recompute_scale_factor``), else input size / output size, as in PyTorch.
    """
    check_tensors(NAME, ("input", input))
    x = input
    if mode not in TORCH_MODES:
        raise ValueError(f"{NAME}: mode must be one of {', '.join(TORCH_MODES)}, got {mode!r}")
    if mode not in ("nearest", "bilinear"):
        raise NotImplementedError(f"{NAME}: mode {mode!r} is not supported in minigrad (only 'nearest' and 'bilinear')")
    if align_corners is not None and mode not in INTERPOLATING_MODES:
        raise ValueError(f"{NAME}: align_corners option can only be set with the interpolating modes: "
                         f"linear | bilinear | bicubic | trilinear, got align_corners={align_corners!r} with mode {mode!r}")
    if antialias:
        raise NotImplementedError(f"{NAME}: antialias=True is not supported in minigrad (got mode {mode!r})")
    dims_allowed = (3, 4) if mode == "nearest" else (4,)
    if x.ndim not in dims_allowed:
        raise NotImplementedError(f"{NAME}: got {x.ndim}-D input of shape {tuple(x.shape)}, but mode {mode!r} needs "
                                  f"{' or '.join(f'{n}-D' for n in dims_allowed)} input (N, C, ...)")
    if x.dtype.kind != "f":
        raise TypeError(f"{NAME}: input must be float32 or float64, got {x.dtype}")
    output_size, scales = output_size_and_scales(NAME, x, size, scale_factor, recompute_scale_factor)
    if mode == "nearest":
        # PyTorch's choice between its two nearest kernels (see nearest_axis); a row-major (N, C, 1, 1) is
        # also channels-last contiguous.
        shortcuts = sum(output_size) <= 128 or (x.ndim == 4 and x.shape[1] > 3 and x.shape[2] * x.shape[3] == 1)
        if x.ndim == 3:
            shortcuts = False  # its 1-d nearest has only the generic kernel
        align_corners = None
    else:
        shortcuts, align_corners = None, bool(align_corners)
    plan = interpolation_plan(mode, tuple(x.shape[2:]), output_size, scales, align_corners, x.dtype.str, shortcuts)
    if x.ndim == 3:  # (N, C, W): one row, read as itself
        return ops.Resample2d.apply(x.unsqueeze(2), plan=plan).squeeze(2)
    return ops.Resample2d.apply(x, plan=plan)


@functools.lru_cache(maxsize=256)
def interpolation_plan(mode, input_size, output_size, scales, align_corners, dtype, shortcuts):
    """The row and column maps of one interpolation, built once per geometry: a layer called every step
    reuses them (and, on the GPU, their device copies, which the plan keeps)."""
    if mode == "nearest":
        axes = [nearest_axis(length, out, scale, dtype, shortcuts)
                for length, out, scale in zip(input_size, output_size, scales)]
    else:
        axes = [linear_axis(length, out, align_corners, scale, dtype)
                for length, out, scale in zip(input_size, output_size, scales)]
    if len(axes) == 1:
        axes = [AxisMap.gather([0], 1)] + axes
    return ResamplePlan(*axes)
