"""NumPy's math on CudaArrays: the ufuncs, reductions and array functions the ops use, on GPU kernels.

NumPy hands any ufunc call with a CudaArray operand to ``CudaArray.__array_ufunc__`` and any
array function (``np.where``, ``np.sum``, ``np.broadcast_to``...) to ``__array_function__``;
both look the call up in the tables of array.py, which this module fills when it is imported
(minigrad/cuda/__init__.py imports it, so the tables are full before any CudaArray exists).
The rules stay NumPy's own: result dtypes come from ``ufunc.resolve_dtypes`` (so float32 * 2
stays float32, int / int is float64), shapes broadcast as NumPy broadcasts. Then the operands
are cast to the loop's dtype, broadcast by stride 0 and handed to one kernel launch
(kernels/cuda/ufunc.py, kernels/cuda/reduction.py).

A host scalar next to a CudaArray (``x * 2``, ``np.where(c, x, 0)``) becomes a one-element device
constant read through stride 0 (``array.constant``: each value is uploaded once). A host array of
more than one element next to a CudaArray is an error naming both devices.
"""
import math

import numpy as np

from . import layout
from .array import FUNCTIONS, UFUNC_METHODS, CudaArray, constant, elementwise_into, scatter
from .runtime import kernels

# --- operands ------------------------------------------------------------------------------------

def _is_host_scalar(value):
    return isinstance(value, (bool, int, float, np.generic)) or (isinstance(value, np.ndarray) and value.ndim == 0)


def _dtype_for_resolution(value):
    """What ``ufunc.resolve_dtypes`` needs: a dtype, or the Python type of a weak scalar (NEP 50)."""
    if isinstance(value, (CudaArray, np.ndarray, np.generic)):
        return value.dtype
    if isinstance(value, bool):
        return np.dtype(bool)
    if isinstance(value, (int, float)):
        return type(value)
    raise TypeError(f"unsupported operand type {type(value).__name__} for a CUDA array")


def _as_operand(value, dtype, where):
    """``value`` as a CudaArray of ``dtype``: cast on the device, or uploaded once as a constant."""
    if isinstance(value, CudaArray):
        return value if value.dtype == dtype else value.astype(dtype)
    if _is_host_scalar(value):
        return constant(value, dtype)
    shape = np.shape(value)
    raise RuntimeError(
        f"{where}: expected all operands on one device, got cuda and cpu (a host array of shape {shape}); "
        "move it with .cuda() / .to('cuda') first"
    )


# --- elementwise ---------------------------------------------------------------------------------

UNARY = {np.negative: "NEGATIVE", np.exp: "EXP", np.log: "LOG", np.log1p: "LOG1P", np.sqrt: "SQRT",
         np.absolute: "ABS", np.sign: "SIGN", np.tanh: "TANH", np.logical_not: "LOGICAL_NOT",
         np.isnan: "ISNAN", np.isinf: "ISINF", np.isfinite: "ISFINITE", np.positive: "COPY", np.trunc: "TRUNC"}
BINARY = {np.add: "ADD", np.subtract: "SUBTRACT", np.multiply: "MULTIPLY", np.divide: "DIVIDE",
          np.power: "POWER", np.maximum: "MAXIMUM", np.minimum: "MINIMUM", np.equal: "EQUAL",
          np.not_equal: "NOT_EQUAL", np.less: "LESS", np.less_equal: "LESS_EQUAL", np.greater: "GREATER",
          np.greater_equal: "GREATER_EQUAL", np.logical_and: "LOGICAL_AND", np.logical_or: "LOGICAL_OR",
          np.fmod: "FMOD", np.floor_divide: "FLOOR_DIVIDE"}
# On booleans NumPy's bitwise ops are the logical ones (``mask &= other`` in ops.Clamp).
BOOLEAN_ALIASES = {np.bitwise_and: np.logical_and, np.bitwise_or: np.logical_or, np.invert: np.logical_not}


def _broadcast_shape(where, operands):
    shapes = [np.shape(operand) if not isinstance(operand, CudaArray) else operand.shape for operand in operands]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        shapes_text = " ".join(str(shape) for shape in shapes)
        raise ValueError(f"{where}: operands could not be broadcast together with shapes {shapes_text}") from None


def apply_ufunc(ufunc, inputs, out=None):
    ufunc = BOOLEAN_ALIASES.get(ufunc, ufunc) if all(
        _dtype_for_resolution(value) == np.dtype(bool) for value in inputs) else ufunc
    table = UNARY if ufunc.nin == 1 else BINARY
    operation = table.get(ufunc)
    if operation is None:
        raise TypeError(f"numpy.{ufunc.__name__} is not supported on CUDA arrays")
    loop = ufunc.resolve_dtypes(tuple(_dtype_for_resolution(value) for value in inputs) + (None,))
    operands = [_as_operand(value, dtype, ufunc.__name__) for value, dtype in zip(inputs, loop)]
    shape = _broadcast_shape(ufunc.__name__, operands)
    if out is None:
        return elementwise_into(operation, operands, CudaArray.empty(shape, loop[-1]))
    if not isinstance(out, CudaArray):
        raise RuntimeError(  # noqa: TRY004  a device mismatch, the same error as for any operand
            f"{ufunc.__name__}: out= must be on the device of its operands (cuda)")
    if out.shape != shape:
        raise ValueError(f"{ufunc.__name__}: out has shape {out.shape}, the operands broadcast to {shape}")
    if out.dtype == loop[-1]:
        return elementwise_into(operation, operands, out)
    result = elementwise_into(operation, operands, CudaArray.empty(shape, loop[-1]))
    elementwise_into("copy", [result], out)
    return out


def where(condition, a, b):
    """a where condition else b, with NumPy's dtype rules (a host scalar adopts the array's dtype)."""
    dtype = np.result_type(*[value.dtype if isinstance(value, CudaArray) else value for value in (a, b)])
    operands = [_as_operand(condition, np.dtype(bool), "where")] + [_as_operand(v, dtype, "where") for v in (a, b)]
    out = CudaArray.empty(_broadcast_shape("where", operands), dtype)
    return elementwise_into("where", operands, out)


def clip(x, low, high):
    out = x
    if low is not None:
        out = np.maximum(out, low)
    if high is not None:
        out = np.minimum(out, high)
    return out if out is not x else x.copy()


# --- reductions ----------------------------------------------------------------------------------

def _axes(array, axis):
    if axis is None:
        return tuple(range(array.ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    for a in axes:
        if not -max(array.ndim, 1) <= a < max(array.ndim, 1):
            raise np.exceptions.AxisError(a, array.ndim)
    return tuple(sorted({int(a) % max(array.ndim, 1) for a in axes}))


def reduce(operation, array, axis=None, keepdims=False, dtype=None):
    """SUM, MAX, MIN, ARGMAX or ARGMIN over ``axis`` (None: all), one kernel launch (two for long
    reductions into few outputs: kernels/cuda/reduction.py)."""
    axes = _axes(array, axis) if array.ndim else ()
    kept = [d for d in range(array.ndim) if d not in axes]
    kept_shape = tuple(array.shape[d] for d in kept)
    out_shape = tuple(1 if d in axes else array.shape[d] for d in range(array.ndim)) if keepdims else kept_shape
    if operation in ("ARGMAX", "ARGMIN"):
        out_dtype = np.dtype(np.int64)
    elif operation == "SUM":
        out_dtype = np.dtype(dtype) if dtype is not None else (
            array.dtype if array.dtype.kind == "f" else np.dtype(np.int64))
    else:
        out_dtype = array.dtype
    source = array.astype(out_dtype, copy=False) if operation == "SUM" else array
    reduced_shape = tuple(array.shape[d] for d in axes)
    if math.prod(reduced_shape) == 0:
        if operation != "SUM":
            raise ValueError(f"zero-size array to reduction operation {operation.lower()} which has no identity")
        return CudaArray.full(out_shape, 0, out_dtype)
    out = CudaArray.empty(kept_shape, out_dtype)
    if out.size:
        kept_view_shape, (kept_strides,) = layout.collapse(kept_shape, tuple(source.element_strides[d] for d in kept))
        reduced_view_shape = reduced_shape or (1,)
        reduced_strides = tuple(source.element_strides[d] for d in axes) or (0,)
        if operation in ("SUM", "MAX", "MIN"):  # the order of elements is free: collapse the reduced part too
            reduced_view_shape, (reduced_strides,) = layout.collapse(reduced_view_shape, reduced_strides)
        reduction_kernels = kernels("reduction")
        reduction_kernels.reduce_axes(getattr(reduction_kernels, operation), source.buffer, source.offset,
                                      kept_view_shape, kept_strides, reduced_view_shape, reduced_strides, out.buffer)
    return out.reshape(out_shape)


def mean(array, axis=None, keepdims=False, dtype=None):
    axes = _axes(array, axis) if array.ndim else ()
    count = math.prod(array.shape[d] for d in axes)
    result_dtype = np.dtype(dtype) if dtype is not None else (array.dtype if array.dtype.kind == "f" else np.dtype(np.float64))
    total = reduce("SUM", array, axis, keepdims, dtype=result_dtype)
    return np.divide(total, result_dtype.type(count) if count else result_dtype.type(np.nan))


# --- NumPy's entry points: the tables CudaArray's protocols read -----------------------------------

def call_ufunc(ufunc, inputs, options):
    """``ufunc(*inputs, out=...)``: the elementwise kernels."""
    out = options.pop("out", None)
    if isinstance(out, tuple):
        (out,) = out
    if options:
        raise TypeError(f"numpy.{ufunc.__name__}: options {sorted(options)} are not supported on CUDA arrays")
    return apply_ufunc(ufunc, inputs, out)


def ufunc_at(ufunc, inputs, options):
    """``np.add.at(target, index, values)``: a scatter that adds up repeated positions."""
    if ufunc is not np.add:
        raise TypeError(f"numpy.{ufunc.__name__}.at is not supported on CUDA arrays")
    target, index, values = inputs
    scatter(target, index, values, accumulate=True)


def _empty_like(array, dtype=None, shape=None):
    return CudaArray.empty(array.shape if shape is None else shape, array.dtype if dtype is None else dtype)


def _full_like(array, value, dtype=None, shape=None):
    out = _empty_like(array, dtype, shape)
    out[...] = value
    return out


def _copyto(target, source, casting="same_kind", where=True):
    if where is not True:
        raise TypeError("numpy.copyto: where= is not supported on CUDA arrays")
    target[...] = source


FUNCTIONS.update({
    np.broadcast_to: lambda array, shape, subok=False: array.broadcast_to(shape),
    np.swapaxes: lambda array, first, second: array.swapaxes(first, second),
    np.transpose: lambda array, axes=None: array.transpose(axes),
    np.reshape: lambda array, shape=None, order="C", **kw: array.reshape(shape if shape is not None else kw["newshape"]),
    np.expand_dims: lambda array, axis: array.expand_dims(axis),
    np.squeeze: lambda array, axis=None: array.squeeze(axis),
    np.ravel: lambda array, order="C": array.reshape(-1),
    np.where: where,
    np.clip: lambda array, a_min=None, a_max=None, out=None, **kw: clip(array, kw.get("min", a_min), kw.get("max", a_max)),
    np.empty_like: lambda array, dtype=None, order="K", subok=True, shape=None: _empty_like(array, dtype, shape),
    np.zeros_like: lambda array, dtype=None, order="K", subok=True, shape=None: _full_like(array, 0, dtype, shape),
    np.ones_like: lambda array, dtype=None, order="K", subok=True, shape=None: _full_like(array, 1, dtype, shape),
    np.full_like: lambda array, fill_value, dtype=None, order="K", subok=True, shape=None: _full_like(
        array, fill_value, dtype, shape),
    np.sum: lambda array, axis=None, dtype=None, out=None, keepdims=False, **kw: reduce("SUM", array, axis, keepdims, dtype),
    np.mean: lambda array, axis=None, dtype=None, out=None, keepdims=False, **kw: mean(array, axis, keepdims, dtype),
    np.max: lambda array, axis=None, out=None, keepdims=False, **kw: reduce("MAX", array, axis, keepdims),
    np.min: lambda array, axis=None, out=None, keepdims=False, **kw: reduce("MIN", array, axis, keepdims),
    np.argmax: lambda array, axis=None, out=None, keepdims=False: reduce("ARGMAX", array, axis, keepdims),
    np.argmin: lambda array, axis=None, out=None, keepdims=False: reduce("ARGMIN", array, axis, keepdims),
    # all / any: the smallest / largest of the elements as 0 or 1 (the reduction kernel takes numbers)
    np.all: lambda array, axis=None, out=None, keepdims=False, **kw: reduce(
        "MIN", (array != 0).astype(np.int64), axis, keepdims).astype(bool),
    np.any: lambda array, axis=None, out=None, keepdims=False, **kw: reduce(
        "MAX", (array != 0).astype(np.int64), axis, keepdims).astype(bool),
    np.may_share_memory: lambda a, b, max_work=None: getattr(a, "buffer", None) is getattr(b, "buffer", False),
    np.shares_memory: lambda a, b, max_work=None: getattr(a, "buffer", None) is getattr(b, "buffer", False),
    np.copyto: _copyto,
    np.shape: lambda array: array.shape,
    np.ndim: lambda array: array.ndim,
    np.size: lambda array, axis=None: array.size if axis is None else array.shape[axis],
})
FUNCTIONS[np.amax], FUNCTIONS[np.amin] = FUNCTIONS[np.max], FUNCTIONS[np.min]
UFUNC_METHODS.update({"__call__": call_ufunc, "at": ufunc_at})
