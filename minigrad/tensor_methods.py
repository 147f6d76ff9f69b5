"""The Tensor's differentiable methods: each a thin call to an op in minigrad/ops/, where the math is.

Tensor (minigrad/tensor.py) inherits them; this file holds the method surface (argument handling in
PyTorch's and NumPy's spellings), tensor.py the tensor itself (construction, conversion, operators,
in-place updates, backward). By idea: the functions of one element here, reductions and scans in
tensor_reductions.py, shapes and views in tensor_shape_methods.py, selections (gather, where,
sort, clamp...) in tensor_selection.py.
"""
from . import ops
from .tensor_reductions import ReductionMethods
from .tensor_selection import SelectionMethods
from .tensor_shape_methods import ShapeMethods


class TensorMethods(ReductionMethods, ShapeMethods, SelectionMethods):
    __slots__ = ()

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

    def matmul(self, other):
        return self @ other
