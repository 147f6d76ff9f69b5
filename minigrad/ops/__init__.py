"""Every differentiable primitive: one class each, forward and backward side by side, a file per family.

``forward`` gets the input arrays and returns the output array, keeping what backward needs with
``save_for_backward``. ``backward`` gets the gradient of the loss with respect to the output and
returns one gradient per input, of that input's shape (None where the input needs none). Each
docstring gives the op's math in one line; ``g`` is the incoming gradient. Elementwise math is
NumPy's interface (on a CudaArray too); matmul, convolution, pooling, ReLU, dropout and the fused
softmax cross-entropy run Numba kernels through minigrad/backend/.

    arithmetic.py   + - * /, powers, and division with rounding (remainder, floor_divide, fmod)
    elementwise.py  the functions of one element (exp, log, relu, clamp, cast...)
    activation.py   LeakyReLU, ELU, GELU, SiLU, Softplus, Hardtanh, Mish: one op on fused kernels
    reduction.py    sum, mean, max, min, logsumexp, cumsum, and softmax / log-softmax along an axis
    statistics.py   var, std and the vector p-norms
    shape.py        reshape, permute, expand, indexing, moves between devices
    selection.py    gather along an axis by an index tensor, and its transpose the scatter-add
    bounds.py       maximum, minimum, and clamp between tensor bounds
    linalg.py       the matrix product and the linear layer
    join.py         stack along a new axis (also the rows of a Jacobian), concatenate along one
    embedding.py    the embedding lookup and its scatter-add gradient
    conv.py         2-d convolution          pool.py     max and average pooling
    adaptive_pool.py adaptive average and max pooling (output size given, PyTorch's bins)
    conv_transpose.py  the transposed 2-d convolution, on conv.py's kernels
    loss.py         the fused softmax cross-entropy, binary cross-entropy, NLL
    random.py       dropout
    batch_norm.py   batch normalization (fused statistics + normalization, one-pass backward)
    layer_norm.py   layer and group normalization (one row normalization, fused kernels)
    broadcasting.py unbroadcast: a broadcast input's gradient summed back to its shape
    resample.py     separable resampling of the last two dims (interpolation; reflect/replicate pads)
    padding.py      constant padding (a negative pad crops), the reflect and replicate maps
"""
from .broadcasting import unbroadcast
from .activation import Activation, GeluDerivative
from .batch_norm import BatchNorm
from .layer_norm import GroupNorm, LayerNorm
from .conv import Conv2d, Conv2dInputGradient, Conv2dWeightGradient
from .conv_transpose import ConvTranspose2d
from .arithmetic import Add, Div, FloorDivide, Fmod, Mul, Neg, Pow, PowConstant, Remainder, Sub
from .bounds import ClampTensors, Maximum, Minimum
from .embedding import Embedding, EmbeddingBackward
from .elementwise import Abs, Cast, Clamp, Clone, Exp, Log, Relu, ReluBackward, Sigmoid, Sqrt, Tanh, Where
from .join import Concatenate, Stack
from .linalg import Linear, MatMul
from .loss import Huber
from .loss import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, NllLoss, SoftmaxCrossEntropy, reduce_losses
from .pool import AvgPool2d, AvgPool2dBackward, MaxPool2d, MaxPool2dBackward, MaxPool2dGather
from .adaptive_pool import AdaptiveAvgPool2d, AdaptiveAvgPool2dBackward, AdaptiveMaxPool2d
from .random import Dropout
from .reduction import Cumsum, LogSoftmax, LogSumExp, Max, Mean, Min, Softmax, Sum
from .selection import Gather, ScatterAddAlongDim
from .shape import BroadcastTo, Expand, GetItem, Permute, Reshape, ScatterAdd, ToDevice
from .statistics import Norm, Std, Var
from .resample import Resample2d
from .padding import ConstantPad

__all__ = [
    "Activation", "GeluDerivative",
    "BatchNorm",
    "GroupNorm", "LayerNorm",
    "Resample2d", "ConstantPad",
    "AdaptiveAvgPool2d", "AdaptiveAvgPool2dBackward", "AdaptiveMaxPool2d",
    "Abs", "Add", "AvgPool2d", "AvgPool2dBackward", "BinaryCrossEntropy", "BinaryCrossEntropyWithLogits", "BroadcastTo", "Cast", "Clamp",
    "ClampTensors", "Clone", "Concatenate", "Conv2d", "Conv2dInputGradient", "Conv2dWeightGradient", "ConvTranspose2d", "Cumsum",
    "Div", "Dropout", "Embedding", "EmbeddingBackward", "Exp", "Expand", "FloorDivide", "Fmod", "Huber", "Gather", "GetItem", "Linear", "Log", "LogSoftmax",
    "LogSumExp", "MatMul", "Max", "MaxPool2d", "MaxPool2dBackward", "MaxPool2dGather", "Maximum", "Mean", "Min",
    "Minimum", "Mul", "Neg", "NllLoss", "Norm", "Permute", "Pow", "PowConstant", "Relu", "ReluBackward",
    "Remainder", "Reshape", "ScatterAdd", "ScatterAddAlongDim", "Sigmoid", "Softmax", "SoftmaxCrossEntropy", "Sqrt",
    "Stack", "Std", "Sub", "Sum", "Tanh", "ToDevice", "Var", "Where", "reduce_losses", "unbroadcast",
]
