"""The Tensor's reductions and scans: sum, mean, max/min (with their indices), amax/amin, argmax/argmin,
var/std, norm, logsumexp, cumsum, softmax. PyTorch's signatures come first (``dim``, ``keepdim``);
NumPy's ``axis``/``keepdims`` are keyword aliases. The math is in minigrad/ops/.
"""
import math

import numpy as np

from . import arguments, backend, dtypes, ops, return_types
from . import tensor as tensor_module  # a cycle: Tensor is only looked up when a function runs


class ReductionMethods:
    __slots__ = ()

    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        source = self if dtype is None else self.to(dtype)
        return ops.Sum.apply(source, **arguments.dims(self, "sum", dim, keepdim, axis, keepdims))

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        source = self if dtype is None else self.to(dtype)
        if not dtypes.is_floating(source.dtype):
            raise TypeError(f"mean: expected a floating point tensor (or dtype=), got {source.dtype}")
        return ops.Mean.apply(source, **arguments.dims(self, "mean", dim, keepdim, axis, keepdims))

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The largest element (a 0-d tensor); along ``dim`` the named pair (values, indices), as
        ``torch.max`` (the gradient goes to the index found: the first of tied maxima); given a
        tensor, the elementwise maximum (``torch.max(a, b)``)."""
        return _extreme(self, "max", dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The smallest element; along ``dim`` the pair (values, indices); given a tensor, ``minimum``."""
        return _extreme(self, "min", dim, keepdim, axis, keepdims)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The largest values over ``dim`` (an int, a tuple, or () / None for all): values only, tied
        maxima share the gradient (``torch.amax``)."""
        return ops.Max.apply(self, **_extreme_values(self, "amax", dim, keepdim, axis, keepdims))

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.Min.apply(self, **_extreme_values(self, "amin", dim, keepdim, axis, keepdims))

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The index of the largest element (of the flattened tensor when ``dim`` is None)."""
        return _argument_extreme(self, "argmax", np.argmax, dim, keepdim, axis, keepdims)

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _argument_extreme(self, "argmin", np.argmin, dim, keepdim, axis, keepdims)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        """sum((x - mean)**2) / max(0, N - correction) over ``dim``; ``unbiased=True`` (the default)
        is correction 1, ``False`` correction 0 (``x.var(False)`` as in PyTorch)."""
        return _spread(self, "var", ops.Var, dim, unbiased, keepdim, correction, axis, keepdims)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
        """sqrt(var) over ``dim``, with var's options; its gradient is 0 where it is 0, as in PyTorch."""
        return _spread(self, "std", ops.Std, dim, unbiased, keepdim, correction, axis, keepdims)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The vector p-norm over ``dim`` (all elements when None): p = 'fro' or 2, 1, inf, -inf, 0 or
        any number (torch.norm); 'nuc' is not supported."""
        source = self if dtype is None else self.to(dtype)
        if not dtypes.is_floating(source.dtype):
            raise TypeError(f"norm: expected a floating point tensor (or dtype=), got {source.dtype}")
        options = arguments.dims(source, "norm", dim, keepdim)
        order = _norm_order(p, options["axis"])
        if math.isinf(order) or order < 0:  # no identity to start from: an empty dim has no such norm
            _nonempty(source, f"norm (p={p})", options)
        return ops.Norm.apply(source, p=order, **options)

    def logsumexp(self, dim, keepdim=False, *, axis=None, keepdims=None):
        """log(sum(exp(x))) over ``dim``, shifted by the largest value so that nothing overflows;
        its gradient is g * exp(x - logsumexp) (softmax(x) * g)."""
        if isinstance(dim, (tuple, list)) and len(dim) == 0:
            raise ValueError("logsumexp: dim must name at least one dim")
        source = self if dtypes.is_floating(self.dtype) else self.to(dtypes.default_float)
        return ops.LogSumExp.apply(source, **arguments.dims(source, "logsumexp", dim, keepdim, axis, keepdims))

    def cumsum(self, dim, *, dtype=None, axis=None):
        """Running sums along ``dim`` (integers and booleans sum in int64, as PyTorch)."""
        source = self if dtype is None else self.to(dtype)
        position = arguments.one_dim(source, "cumsum", dim, axis)
        if source.ndim == 0:
            return ops.Cumsum.apply(source.reshape(1), axis=0).reshape(())
        return ops.Cumsum.apply(source, axis=position)

    def softmax(self, axis=-1, *, dim=None):
        return ops.Softmax.apply(self, axis=arguments.one_axis(self, "softmax", axis if dim is None else dim))

    def log_softmax(self, axis=-1, *, dim=None):
        return ops.LogSoftmax.apply(self, axis=arguments.one_axis(self, "log_softmax", axis if dim is None else dim))


def _extreme(tensor, name, dim, keepdim, axis, keepdims):
    """max or min: of all elements, along one dim with indices, or elementwise against a tensor."""
    if isinstance(dim, tensor_module.Tensor):
        return ops.Maximum.apply(*arguments.pair(tensor, dim, name="maximum")) if name == "max" else \
            ops.Minimum.apply(*arguments.pair(tensor, dim, name="minimum"))
    if isinstance(dim, (tuple, list)) or isinstance(axis, (tuple, list)):
        raise TypeError(f"{name}: dim must be one int (along it {name} returns the pair (values, indices)); "
                        f"for the {name} values over several dims use a{name}(dim={dim if axis is None else axis})")
    if dim is None and axis is None:  # (keepdim here is NumPy's, a superset of PyTorch's max())
        op = ops.Max if name == "max" else ops.Min
        return op.apply(tensor, axis=None, keepdims=bool(keepdim if keepdims is None else keepdims))
    position = arguments.one_dim(tensor, name, dim, axis)
    keep = keepdim if keepdims is None else keepdims
    pair = return_types.max if name == "max" else return_types.min
    if tensor.ndim == 0:
        values, indices = _extreme(tensor.reshape(1), name, 0, False, None, None)
        return pair(values.reshape(()), indices.reshape(()))
    if tensor.shape[position] == 0:
        raise IndexError(f"{name}: dim {dim if axis is None else axis} of shape {tensor.shape} has no elements "
                         "to reduce")
    chosen = (np.argmax if name == "max" else np.argmin)(tensor.data, axis=position, keepdims=True)
    values = ops.Gather.apply(tensor, axis=position, index=chosen)
    indices = tensor._wrap(backend.as_array(chosen, dtypes.int64, tensor.data), tensor.device)
    if not keep:
        shape = tensor.shape[:position] + tensor.shape[position + 1 :]
        values, indices = values.reshape(shape), indices.reshape(shape)
    return pair(values, indices)


def _argument_extreme(tensor, name, function, dim, keepdim, axis, keepdims):
    """argmax or argmin over all elements (dim None) or along one dim; int64, no gradient."""
    chosen = dim if axis is None else axis
    if isinstance(chosen, (tuple, list)):
        raise TypeError(f"{name}: dim must be one int or None, got {chosen!r}")
    keep = bool(keepdim if keepdims is None else keepdims)
    if chosen is None:
        if tensor.data.size == 0:
            raise IndexError(f"{name}: the tensor of shape {tensor.shape} is empty; give a dim to reduce")
        position = None
    else:
        position = arguments.one_dim(tensor, name, dim, axis)
        if tensor.ndim == 0:
            position = None
        elif tensor.shape[position] == 0:
            raise IndexError(f"{name}: dim {chosen} of shape {tensor.shape} has no elements to reduce")
    result = function(tensor.data, axis=position, keepdims=keep)
    return tensor._wrap(backend.as_array(result, dtypes.int64, tensor.data), tensor.device)


def _spread(tensor, name, op, dim, unbiased, keepdim, correction, axis, keepdims):
    """var or std: the correction from ``unbiased`` or ``correction`` (not both), then the op."""
    if isinstance(dim, bool):  # x.var(False): PyTorch's overload with unbiased first
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}: give unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if not dtypes.is_floating(tensor.dtype):
        raise TypeError(f"{name}: expected a floating point tensor, got {tensor.dtype}")
    return op.apply(tensor, correction=correction, **arguments.dims(tensor, name, dim, keepdim, axis, keepdims))


def _nonempty(tensor, name, options):
    """``options``, after checking that no reduced axis is empty (a max of nothing has no value)."""
    axes = range(tensor.ndim) if options["axis"] is None else options["axis"]
    if tensor.data.size == 0 and (options["axis"] is None or any(tensor.shape[axis] == 0 for axis in axes)):
        raise IndexError(f"{name}: cannot reduce over an empty dim of the tensor of shape {tensor.shape}")
    return options


def _extreme_values(tensor, name, dim, keepdim, axis, keepdims):
    """amax's or amin's options for the Max or Min op, every axis named where ``dim`` says None: the
    op's None is max() (the gradient goes to NaN elements), amax over all axes gives NaN to all, as
    PyTorch's amax does. A reduced axis must not be empty."""
    options = _nonempty(tensor, name, arguments.dims(tensor, name, dim, keepdim, axis, keepdims))
    if options["axis"] is None:
        return dict(options, axis=tuple(range(tensor.ndim)))
    return options


def _norm_order(p, axes):
    """torch.norm's p as a number: 'fro' is 2 (over at most two dims, as a matrix norm is)."""
    if isinstance(p, str):
        if p == "fro":
            if axes is not None and len(axes) > 2:
                raise ValueError(f"norm: p='fro' takes at most two dims, got {axes}")
            return 2.0
        if p == "nuc":
            raise ValueError("norm: p='nuc' (the nuclear norm, a sum of singular values) is not supported")
        raise ValueError(f"norm: order {p!r} is not supported; use 'fro' or a number (2, 1, inf, -inf, 0, ...)")
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"norm: p must be 'fro' or a number, got {type(p).__name__} {p!r}")
    return float(p)
