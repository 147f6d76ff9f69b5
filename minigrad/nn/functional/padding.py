"""F.pad with PyTorch's arguments: modes 'constant' (any dims; a negative pad crops), 'reflect' and
'replicate' (the last one or two dims)."""
import functools

from ... import ops
from ...ops.padding import reflect_axis, replicate_axis
from ...ops.resample import AxisMap, ResamplePlan
from .arguments import check_tensors

NAME = "pad"
TORCH_MODES = ("constant", "reflect", "replicate", "circular")


def _pairs(x, pad):
    """``pad`` (before, after of the last dim, then of the one before, ...) as (before, after) per dim of x."""
    if not isinstance(pad, (tuple, list)) or any(not isinstance(item, int) or isinstance(item, bool) for item in pad):
        raise TypeError(f"{NAME}: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2:
        raise ValueError(f"{NAME}: padding length must be divisible by 2, got {len(pad)} values {tuple(pad)}")
    if len(pad) // 2 > x.ndim:
        raise ValueError(f"{NAME}: padding length should be less than or equal to two times the input dimension but "
                         f"got padding length {len(pad)} and input of dimension {x.ndim}")
    pairs = [(0, 0)] * (x.ndim - len(pad) // 2)
    pairs += [(pad[2 * index], pad[2 * index + 1]) for index in reversed(range(len(pad) // 2))]
    return pairs


def pad(input, pad, mode="constant", value=None):  # noqa: A002 (torch's names)
    """``input`` padded as PyTorch's F.pad: ``pad`` = (left, right) of the last dim, then (top, bottom) of the
    one before, ...; 'constant' fills with ``value`` (0 when None) and crops where a pad is negative,
    'reflect' mirrors about the edge (without repeating it), 'replicate' repeats the edge."""
    check_tensors(NAME, ("input", input))
    x = input
    if mode not in TORCH_MODES:
        raise ValueError(f"{NAME}: mode must be one of {', '.join(TORCH_MODES)}, got {mode!r}")
    pairs = _pairs(x, pad)
    if mode == "constant":
        for dim, (length, (before, after)) in enumerate(zip(x.shape, pairs)):
            # PyTorch crops first: the negative pads together may not cut more than the dim holds.
            if length - max(-before, 0) - max(-after, 0) < 0:
                raise ValueError(f"{NAME}: the input size {length}, cut by negative padding {before} and {after}, "
                                 f"would be negative, which is invalid. Check dimension {dim} of your input.")
        return ops.ConstantPad.apply(x, pads=pairs, value=0 if value is None else value)
    if value is not None:
        raise ValueError(f"{NAME}: padding mode {mode!r} doesn't take in value argument, got value={value!r}")
    if mode == "circular":
        raise NotImplementedError(f"{NAME}: mode 'circular' is not supported in minigrad (constant, reflect, replicate)")
    padded_dims = len(pad) // 2
    if (padded_dims, x.ndim) not in ((1, 2), (1, 3), (2, 3), (2, 4)):
        if (padded_dims, x.ndim) in ((3, 4), (3, 5)):
            raise NotImplementedError(f"{NAME}: {mode} padding of 3 dims (pad {tuple(pad)}) is not supported in minigrad")
        raise NotImplementedError(f"{NAME}: padding size {len(pad)} is not supported for {x.ndim}D input tensor "
                                  f"in mode {mode!r} (2 values for 2-D or 3-D input, 4 for 3-D or 4-D)")
    padded = x.shape[x.ndim - padded_dims:]
    if min(padded) == 0 or (x.ndim - padded_dims > 1 and min(x.shape[1:]) == 0):
        raise ValueError(f"{NAME}: expected non-zero sizes in the padded dims (and the channel dim), "
                         f"got input of shape {tuple(x.shape)}")
    for dim, length, (before, after) in zip(range(x.ndim - padded_dims, x.ndim), padded, pairs[x.ndim - padded_dims:]):
        if mode == "reflect" and (before >= length or after >= length):
            raise ValueError(f"{NAME}: padding size should be less than the corresponding input dimension, but got: "
                             f"padding ({before}, {after}) at dimension {dim} of input {list(x.shape)}")
        # PyTorch: a negative output size is refused, an empty one only when padding one dim.
        if length + before + after < 0 or (length + before + after == 0 and padded_dims == 1):
            raise ValueError(f"{NAME}: input size {length} at dimension {dim} is too small for padding "
                             f"({before}, {after}): calculated output size {length + before + after}")
    plan = padding_plan(mode, tuple(padded), tuple(pairs[x.ndim - padded_dims:]))
    if padded_dims == 1:  # the last dim only: one row, read as itself
        return ops.Resample2d.apply(x.unsqueeze(-2), plan=plan).squeeze(-2)
    return ops.Resample2d.apply(x, plan=plan)


@functools.lru_cache(maxsize=256)
def padding_plan(mode, sizes, pairs):
    """The row and column maps of a reflect or replicate pad, built once per geometry (a layer reuses them)."""
    axis_map = reflect_axis if mode == "reflect" else replicate_axis
    axes = [axis_map(length, before, after) for length, (before, after) in zip(sizes, pairs)]
    if len(axes) == 1:
        axes = [AxisMap.gather([0], 1)] + axes
    return ResamplePlan(*axes)
