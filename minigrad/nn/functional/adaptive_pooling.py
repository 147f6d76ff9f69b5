"""Adaptive pooling: the output size is given and PyTorch's bins follow, on (C, H, W) or (N, C, H, W)."""
import numbers

from ... import ops
from .arguments import check_tensors


def adaptive_output_size(name, x, output_size):
    """(OH, OW) from an int, or a pair of ints and Nones (None keeps the input's size), after checking
    the input: float, 3-D or 4-D, and no empty plane to pool (but for the global mean)."""
    check_tensors(name, ("input", x))
    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: expected a 3-D (channels, height, width) or 4-D (batch, channels, height, width) "
                         f"input, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be float32 or float64, got {x.dtype}")
    if isinstance(output_size, bool) or not isinstance(output_size, (numbers.Integral, tuple, list)):
        raise TypeError(f"{name}: output_size must be an int or a pair of ints (or None), got {output_size!r}")
    pair = (output_size, output_size) if isinstance(output_size, numbers.Integral) else tuple(output_size)
    if len(pair) != 2:
        raise ValueError(f"{name}: output_size must have 2 entries (height, width), got {output_size!r}")
    for item in pair:
        if item is not None and (isinstance(item, bool) or not isinstance(item, numbers.Integral)):
            raise TypeError(f"{name}: output_size must be an int or a pair of ints (or None), got {output_size!r}")
        if item is not None and item < 0:
            raise ValueError(f"{name}: elements of output_size must be greater than or equal to 0, got {output_size!r}")
    size = tuple(x.shape[-2 + axis] if item is None else int(item) for axis, item in enumerate(pair))
    # An empty plane has no bins to pool: refused as PyTorch does, which checks every axis after
    # the first for max pooling, the plane's two for average pooling, and nothing for the global
    # average (a mean: NaN over an empty plane).
    is_global_mean = name == "adaptive_avg_pool2d" and size == (1, 1)
    first_checked = 1 if name == "adaptive_max_pool2d" else x.ndim - 2
    for axis in range(x.ndim if is_global_mean else first_checked, x.ndim):
        if x.shape[axis] == 0:
            raise ValueError(f"{name}: expected input to have non-zero size for non-batch dimensions, but input has "
                             f"shape {x.shape} with dimension {axis} being empty")
    return size


def _batched(x, pool):
    """pool applied to 4-D ``x``, or to a 3-D ``x`` as a batch of one (and the batch axis removed after)."""
    if x.ndim == 4:
        return pool(x)
    out = pool(x.reshape((1,) + x.shape))
    if isinstance(out, tuple):
        return tuple(item.reshape(item.shape[1:]) for item in out)
    return out.reshape(out.shape[1:])


def adaptive_avg_pool2d(input, output_size):  # noqa: A002 (PyTorch's argument name)
    """The mean over each of output_size's bins of ``input`` (C, H, W) or (N, C, H, W): output row oh of OH
    pools rows [floor(oh * H / OH), ceil((oh + 1) * H / OH)), columns likewise. ``output_size`` is an int
    or a pair whose None entries keep the input's size; (1, 1) is global average pooling."""
    size = adaptive_output_size("adaptive_avg_pool2d", input, output_size)
    return _batched(input, lambda x: ops.AdaptiveAvgPool2d.apply(x, output_size=size))


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002 (PyTorch's argument name)
    """The maximum over each of output_size's bins (see adaptive_avg_pool2d); with return_indices, also
    the int64 flat in-plane position (row * W + column) of each maximum, as PyTorch."""
    size = adaptive_output_size("adaptive_max_pool2d", input, output_size)

    def pool(x):
        sink = [] if return_indices else None
        out = ops.AdaptiveMaxPool2d.apply(x, output_size=size, indices_sink=sink)
        if not return_indices:
            return out
        return out, x._wrap(sink[0], x.device)

    return _batched(input, pool)
