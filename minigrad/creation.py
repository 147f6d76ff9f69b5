"""Functions that make tensors: from data, from NumPy, filled, ranges and random draws."""
import numpy as np

from . import backend, dtypes
from .random_state import generator
from .tensor import Tensor


def tensor(data, dtype=None, device="cpu", requires_grad=False):
    """A new leaf tensor holding a copy of ``data`` (floats default to float32, integers to int64)."""
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def from_numpy(array):
    """A tensor sharing ``array``'s memory (float32, float64, int64 or bool, as torch.from_numpy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in dtypes.supported:
        raise TypeError(
            f"from_numpy: arrays of dtype {array.dtype} cannot be shared; minigrad holds float32, "
            "float64, int64 and bool (convert with array.astype(...) or use mg.tensor, which copies)"
        )
    return Tensor._wrap(array, "cpu")


def _shape(shape):
    """Accept ``zeros(2, 3)`` and ``zeros((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(size, (int, np.integer)) and size >= 0 for size in shape):
        raise ValueError(f"invalid shape {shape}: sizes must be non-negative integers")
    return tuple(int(size) for size in shape)


def _make(array, device, requires_grad):
    """A tensor around ``array``, made on the host and moved once to ``device`` (random draws come
    from minigrad's one generator, so a seed gives the same values on either device)."""
    device = backend.check_device(device)
    result = Tensor._wrap(backend.to_device(array, device), device)
    result.requires_grad = requires_grad
    return result


def _float_dtype(dtype):
    return dtypes.default_float if dtype is None else dtypes.as_dtype(dtype)


def zeros(*shape, dtype=None, device="cpu", requires_grad=False):
    return _make(np.zeros(_shape(shape), dtype=_float_dtype(dtype)), device, requires_grad)


def ones(*shape, dtype=None, device="cpu", requires_grad=False):
    return _make(np.ones(_shape(shape), dtype=_float_dtype(dtype)), device, requires_grad)


def empty(*shape, dtype=None, device="cpu", requires_grad=False):
    return _make(np.empty(_shape(shape), dtype=_float_dtype(dtype)), device, requires_grad)


def full(shape, fill_value, dtype=None, device="cpu", requires_grad=False):
    if dtype is None:
        dtype = dtypes.inferred_dtype(np.asarray(fill_value), from_python=True)
    shape = _shape((shape,) if isinstance(shape, (tuple, list)) else (shape,))
    return _make(np.full(shape, fill_value, dtype=dtypes.as_dtype(dtype)), device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device="cpu", requires_grad=False):
    """start, start + step, ... up to (not including) end; integers give int64, as torch.arange."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = dtypes.inferred_dtype(np.asarray(start + end + step), from_python=True)
    return _make(np.arange(start, end, step, dtype=dtypes.as_dtype(dtype)), device, requires_grad)


def rand(*shape, dtype=None, device="cpu", requires_grad=False):
    """Uniform draws in [0, 1) from minigrad's generator (seeded by mg.manual_seed)."""
    array = generator().random(_shape(shape)).astype(_float_dtype(dtype))
    return _make(array, device, requires_grad)


def randn(*shape, dtype=None, device="cpu", requires_grad=False):
    """Standard normal draws from minigrad's generator (seeded by mg.manual_seed)."""
    array = generator().standard_normal(_shape(shape)).astype(_float_dtype(dtype))
    return _make(array, device, requires_grad)
