"""The Tensor's selections: gather, scatter_add, masked_fill, where, sort, topk, clamp/clip and the
elementwise maximum/minimum. Arguments are checked here, with PyTorch's rules, before any op runs;
the math is in minigrad/ops/ (selection.py, bounds.py, elementwise.py).
"""
import math

from . import arguments, backend, dtypes, ops, return_types
from . import tensor as tensor_module  # a cycle: Tensor is only looked up when a function runs


class SelectionMethods:
    __slots__ = ()

    def gather(self, dim, index):
        """out[i][j] = self[i][index[i][j]] (for dim 1): ``index`` an int64 tensor of this tensor's
        number of dims, no larger than it apart from ``dim``, its values in [0, size of dim)."""
        axis, index_array = _checked_index(self, "gather", dim, index)
        source = self if self.ndim else self.reshape(1)
        out = ops.Gather.apply(source, axis=axis, index=index_array)
        return out if index.ndim else out.reshape(())

    def scatter_add(self, dim, index, src):
        """A copy of this tensor with ``src[i][j]`` added at ``[i][index[i][j]]`` (for dim 1), repeated
        positions adding up; only the part of ``src`` that ``index`` covers is used."""
        if not isinstance(src, tensor_module.Tensor):
            raise TypeError(f"scatter_add: argument 'src' must be a tensor, got {type(src).__name__}")
        if src.dtype != self.dtype:
            raise TypeError(f"scatter_add: src is {src.dtype}, the tensor {self.dtype}; they must match")
        axis, index_array = _checked_index(self, "scatter_add", dim, index)
        if max(src.ndim, 1) != max(index.ndim, 1) or any(
                size > limit for size, limit in zip(index_array.shape, src.shape or (1,))):
            raise ValueError(f"scatter_add: the index of shape {index.shape} must be no larger than src of shape "
                             f"{src.shape} in every dim")
        source = src.reshape(1) if src.ndim == 0 else src
        if tuple(source.shape) != index_array.shape:
            source = source[tuple(slice(0, size) for size in index_array.shape)]
        shape = tuple(self.shape) or (1,)
        added = ops.ScatterAddAlongDim.apply(source, axis=axis, index=index_array, shape=shape)
        return self + (added if self.ndim else added.reshape(()))

    def masked_fill(self, mask, value):
        """``value`` (a number or a 0-d tensor, cast to this tensor's dtype) where ``mask`` (a bool
        tensor broadcasting with this one) is True, this tensor elsewhere."""
        arguments.boolean_tensor("masked_fill", "mask", mask, self)
        arguments.broadcast_shape("masked_fill", ("tensor", self.shape), ("mask", mask.shape))
        if isinstance(value, tensor_module.Tensor):
            if value.ndim != 0:
                raise ValueError(f"masked_fill: only a 0-d value tensor can fill, got one of shape {value.shape}")
            filler = value if value.dtype == self.dtype else value.to(self.dtype)
        elif isinstance(value, (bool, int, float)) or hasattr(value, "dtype"):
            filler = self._wrap(backend.full((), value, self.dtype, self.device), self.device)
        else:
            raise TypeError(f"masked_fill: value must be a number or a 0-d tensor, got {type(value).__name__}")
        return ops.Where.apply(filler, self, mask=mask.data)

    def where(self, condition, other):
        """``self`` where ``condition`` is True, ``other`` elsewhere (torch.where(condition, self, other))."""
        from .functions import where

        return where(condition, self, other)

    def sort(self, dim=-1, descending=False, *, stable=False):
        """(values, indices) sorted along ``dim``; NaN counts as largest; always stable here (equal
        values keep their order), which ``stable=False`` allows."""
        axis = arguments.one_dim(self, "sort", dim)
        if self.ndim == 0:
            return return_types.sort(ops.Clone.apply(self), _zero_index(self))
        order = ops.selection.sort_indices(self.data, axis, bool(descending))
        return return_types.sort(ops.Gather.apply(self, axis=axis, index=order), self._wrap(order, self.device))

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002  (PyTorch's argument name)
        """(values, indices) of the ``k`` largest (``largest=False``: smallest) along ``dim``, in order
        (NaN counts as largest); ``sorted=False`` is allowed and gives them sorted too."""
        if self.dtype == dtypes.bool_:
            raise TypeError("topk: bool tensors are not supported (as in PyTorch)")
        k = arguments.integer("topk", "k", k)
        axis = arguments.one_dim(self, "topk", -1 if dim is None else dim)
        length = self.shape[axis] if self.ndim else 1
        if not 0 <= k <= length:
            raise IndexError(f"topk: k={k} is out of range for dim {dim} of size {length} (shape {self.shape})")
        if self.ndim == 0:
            return return_types.topk(ops.Clone.apply(self), _zero_index(self))
        order = ops.selection.top_indices(self.data, k, axis, bool(largest))
        return return_types.topk(ops.Gather.apply(self, axis=axis, index=order), self._wrap(order, self.device))

    def clamp(self, min=None, max=None):  # noqa: A002  (PyTorch's argument names)
        """min(max(self, min), max) elementwise: bounds are numbers, or tensors that broadcast with
        this one (not one of each, as in PyTorch); where min > max the result is max."""
        low, high = min, max
        if low is None and high is None:
            raise ValueError("clamp: give at least one of min and max")
        given = [bound for bound in (low, high) if bound is not None]
        tensors = [isinstance(bound, tensor_module.Tensor) for bound in given]
        if any(tensors) and not all(tensors):
            raise TypeError("clamp: min and max must both be tensors or both be numbers (as in PyTorch)")
        dtype = dtypes.result_type(self, *given)
        source = self if self.dtype == dtype else self.to(dtype)
        if not any(tensors) and not any(isinstance(bound, float) and math.isnan(bound) for bound in given):
            return ops.Clamp.apply(source, low=low, high=high)
        names = tuple(name for name, bound in (("low", low), ("high", high)) if bound is not None)
        bounds = [_as_tensor(bound, dtype, self.device) for bound in given]
        arguments.broadcast_shape("clamp", ("tensor", self.shape),
                                  *((name, bound.shape) for name, bound in zip(names, bounds)))
        return ops.ClampTensors.apply(source, *bounds, bounds=names)

    clip = clamp

    def maximum(self, other):
        """max(self, other) elementwise, NaN if either is; ties share the gradient (torch.maximum)."""
        return ops.Maximum.apply(*_operands("maximum", self, other))

    def minimum(self, other):
        return ops.Minimum.apply(*_operands("minimum", self, other))


def _operands(name, tensor, other):
    if not isinstance(other, tensor_module.Tensor):
        raise TypeError(f"{name}: argument 'other' must be a tensor, got {type(other).__name__} "
                        "(for a number bound use clamp)")
    return arguments.pair(tensor, other, name=name)


def _as_tensor(bound, dtype, device):
    if isinstance(bound, tensor_module.Tensor):
        return bound if bound.dtype == dtype else bound.to(dtype)
    return tensor_module.Tensor._wrap(backend.full((), bound, dtype, device), device)


def _zero_index(tensor):
    return tensor._wrap(backend.full((), 0, dtypes.int64, tensor.device), tensor.device)


def _checked_index(tensor, name, dim, index):
    """gather's and scatter_add's common checks; (the axis, the index as a host array of at least one dim)."""
    arguments.index_tensor(name, index, tensor)
    axis = arguments.one_axis(tensor, name, arguments.integer(name, "dim", dim))
    if max(index.ndim, 1) != max(tensor.ndim, 1):
        raise ValueError(f"{name}: the index of shape {index.shape} must have as many dims as the tensor of "
                         f"shape {tensor.shape}")
    index_array = backend.to_host(index.data) if index.device != "cpu" else index.data
    index_array = index_array.reshape(index_array.shape or (1,))
    limits = tuple(tensor.shape) or (1,)
    for position, (size, limit) in enumerate(zip(index_array.shape, limits)):
        if position != axis and size > limit:
            raise ValueError(f"{name}: the index of shape {index.shape} must be no larger than the tensor of "
                             f"shape {tensor.shape} apart from dim {axis}")
    if index_array.size:
        low, high = int(index_array.min()), int(index_array.max())
        if low < 0 or high >= limits[axis]:
            bad = low if low < 0 else high
            raise IndexError(f"{name}: index {bad} is out of bounds for dim {axis} with size {limits[axis]} "
                             f"(tensor shape {tensor.shape})")
    return axis, index_array
