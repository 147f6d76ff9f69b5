"""The Tensor's differentiable methods: each a thin call to an op in minigrad/ops/, where the math is.

Tensor (minigrad/tensor.py) inherits them; this file holds the method surface (argument handling in
PyTorch's and NumPy's spellings), tensor.py the tensor itself (construction, conversion, operators,
in-place updates, backward).
"""
import numpy as np

from . import arguments, backend, dtypes, ops


class TensorMethods:
    __slots__ = ()

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.Sum.apply(self, **arguments.reduction(self, "sum", axis, keepdims, dim, keepdim))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.Mean.apply(self, **arguments.reduction(self, "mean", axis, keepdims, dim, keepdim))

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Largest values along ``axis`` (values only, as NumPy's max and TensorFlow's reduce_max)."""
        return ops.Max.apply(self, **arguments.reduction(self, "max", axis, keepdims, dim, keepdim))

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.Min.apply(self, **arguments.reduction(self, "min", axis, keepdims, dim, keepdim))

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        options = arguments.reduction(self, "argmax", axis, keepdims, dim, keepdim)
        if options["axis"] is not None and len(options["axis"]) > 1:
            raise ValueError(f"argmax: takes one axis, got {options['axis']}")
        axis = None if options["axis"] is None else options["axis"][0]
        result = np.argmax(self.data, axis=axis, keepdims=options["keepdims"])
        return self._wrap(backend.as_array(result, dtypes.int64, self.data), self.device)

    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def relu(self):
        return ops.Relu.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def clamp(self, min=None, max=None):  # noqa: A002  (PyTorch's argument names)
        if min is None and max is None:
            raise ValueError("clamp: give at least one of min and max")
        return ops.Clamp.apply(self, low=min, high=max)

    def softmax(self, axis=-1, *, dim=None):
        return ops.Softmax.apply(self, axis=arguments.one_axis(self, "softmax", axis if dim is None else dim))

    def log_softmax(self, axis=-1, *, dim=None):
        return ops.LogSoftmax.apply(self, axis=arguments.one_axis(self, "log_softmax", axis if dim is None else dim))

    def reshape(self, *shape):
        return ops.Reshape.apply(self, shape=arguments.resolved_shape(self, arguments.shape_argument(shape)))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = arguments.one_axis(self, "flatten", start_dim), arguments.one_axis(self, "flatten", end_dim)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        shape = self.shape[:start] + (int(np.prod(self.shape[start : end + 1])),) + self.shape[end + 1 :]
        return ops.Reshape.apply(self, shape=shape)

    def permute(self, *axes):
        axes = tuple(arguments.one_axis(self, "permute", axis) for axis in arguments.shape_argument(axes))
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of the {self.ndim} axes of shape {self.shape}")
        return ops.Permute.apply(self, axes=axes)

    def transpose(self, dim0=None, dim1=None):
        """Swap two axes (PyTorch), or reverse them all when called without arguments (NumPy)."""
        if dim0 is None and dim1 is None:
            return ops.Permute.apply(self, axes=tuple(reversed(range(self.ndim))))
        if dim0 is None or dim1 is None:
            raise ValueError("transpose: give both axes to swap, or none to reverse all axes")
        first, second = arguments.one_axis(self, "transpose", dim0), arguments.one_axis(self, "transpose", dim1)
        axes = list(range(self.ndim))
        if axes:  # a 0-d tensor's only "axis" (0 or -1) swaps with itself
            axes[first], axes[second] = axes[second], axes[first]
        return ops.Permute.apply(self, axes=tuple(axes))

    T = property(lambda self: self.transpose())

    def unsqueeze(self, axis):
        position = axis if axis >= 0 else axis + self.ndim + 1
        if not 0 <= position <= self.ndim:
            raise IndexError(f"unsqueeze: axis {axis} is out of range for a tensor of {self.ndim} dimensions")
        return ops.Reshape.apply(self, shape=self.shape[:position] + (1,) + self.shape[position:])

    def squeeze(self, axis=None):
        if axis is None:
            shape = tuple(size for size in self.shape if size != 1)
        else:
            axes = {arguments.one_axis(self, "squeeze", a) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))}
            shape = tuple(size for index, size in enumerate(self.shape) if not (index in axes and size == 1))
        return ops.Reshape.apply(self, shape=shape)

    def matmul(self, other):
        return self @ other
