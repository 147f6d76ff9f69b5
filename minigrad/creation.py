"""Functions that make tensors: from data, from NumPy, filled, ranges and random draws."""
import math

import numpy as np

from . import arguments, backend, dtypes
from .random_state import generator
from .tensor import Tensor


def tensor(data, dtype=None, device="cpu", requires_grad=False):
    """A new leaf tensor holding a copy of ``data`` (floats default to float32, integers to int64)."""
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def from_numpy(array):
    """A tensor sharing ``array``'s memory (float32, float64, int32, int64 or bool, as torch.from_numpy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in dtypes.supported:
        raise TypeError(
            f"from_numpy: arrays of dtype {array.dtype} cannot be shared; minigrad holds float32, "
            "float64, int32, int64 and bool (convert with array.astype(...) or use mg.tensor, which copies)"
        )
    return Tensor._wrap(array, "cpu")


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, without copying where it can (torch.as_tensor): a tensor of this dtype and
    device is returned as it is, a NumPy array of a dtype minigrad holds is shared (on the CPU)."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    device = "cpu" if device is None else backend.check_device(device)
    if isinstance(data, np.ndarray) and data.dtype in dtypes.supported and device == "cpu" and (
            dtype is None or dtypes.as_dtype(dtype) == data.dtype):
        return from_numpy(data)
    return Tensor(data, dtype=dtype, device=device)


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


def arange(start, end=None, step=1, *, dtype=None, device="cpu", requires_grad=False):
    """start, start + step, ... up to (not including) end; int64 when every argument is an integer,
    float32 (the default float) when any is a float, as torch.arange."""
    if end is None:
        start, end = 0, start
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange: {name} must be a number, got {type(value).__name__} {value!r}")
    if dtype is None:
        integral = all(isinstance(value, (int, np.integer)) for value in (start, end, step))
        dtype = dtypes.int64 if integral else dtypes.default_float
    dtype = dtypes.as_dtype(dtype)
    if not dtypes.is_floating(dtype):
        start, end, step = int(start), int(end), int(step)  # torch casts all three to the integer dtype first
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: the bounds start={start}, end={end} are inconsistent with the sign of step={step}")
    if not dtypes.is_floating(dtype):
        return _make(np.arange(start, end, step, dtype=dtype), device, requires_grad)
    # start + i * step in float64, rounded once to the dtype, as torch (NumPy's arange steps by a rounded
    # delta); torch's vector loop can differ from this in the last bit of some elements
    count = math.ceil((end - start) / step)
    return _make((start + step * np.arange(count, dtype=np.float64)).astype(dtype), device, requires_grad)


def linspace(start, end, steps, *, dtype=None, device="cpu", requires_grad=False):
    """``steps`` evenly spaced values from start to end, both included (torch.linspace; float32 by default)."""
    steps = _count("linspace", "steps", steps)
    dtype = _float_dtype(dtype)
    if not dtypes.is_floating(dtype):
        start, end = int(start), int(end)  # torch casts the ends to the integer dtype first
    return _make(_evenly_spaced(start, end, steps).astype(dtype), device, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device="cpu", requires_grad=False):
    """base ** linspace(start, end, steps) (torch.logspace; float32 by default)."""
    steps = _count("logspace", "steps", steps)
    dtype = _float_dtype(dtype)
    return _make(np.power(float(base), _evenly_spaced(start, end, steps)).astype(dtype), device, requires_grad)


def _evenly_spaced(start, end, steps):
    """torch.linspace's float64 values: the first half counted up from start, the second down from end,
    so both ends are exact."""
    if steps == 1:
        return np.array([start], dtype=np.float64)
    step = (end - start) / (steps - 1)
    index = np.arange(steps, dtype=np.float64)
    return np.where(index < steps // 2, start + step * index, end - step * (steps - 1 - index))


def eye(n, m=None, *, dtype=None, device="cpu", requires_grad=False):
    """The (n, m) matrix with ones on the diagonal (m defaults to n); float32 by default, as torch.eye."""
    n = _count("eye", "n", n)
    m = n if m is None else _count("eye", "m", m)
    return _make(np.eye(n, m, dtype=_float_dtype(dtype)), device, requires_grad)


def _count(name, argument, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: {argument} must be an int, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name}: {argument} must be non-negative, got {value}")
    return int(value)


def rand(*shape, dtype=None, device="cpu", requires_grad=False):
    """Uniform draws in [0, 1) from minigrad's generator (seeded by mg.manual_seed)."""
    dtype = _random_dtype("rand", dtype)
    return _make(generator().random(_shape(shape)).astype(dtype), device, requires_grad)


def randn(*shape, dtype=None, device="cpu", requires_grad=False):
    """Standard normal draws from minigrad's generator (seeded by mg.manual_seed)."""
    dtype = _random_dtype("randn", dtype)
    return _make(generator().standard_normal(_shape(shape)).astype(dtype), device, requires_grad)


def randint(*args, size=None, dtype=None, device="cpu", requires_grad=False):
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or ``randint(low, high, size)``,
    int64 by default (torch.randint)."""
    if size is None:
        if len(args) not in (2, 3):
            raise TypeError(f"randint: expected (high, size) or (low, high, size), got {len(args)} arguments {args}")
        *bounds, size = args
    else:
        bounds = list(args)
        if len(bounds) not in (1, 2):
            raise TypeError(f"randint: expected high or (low, high) with size=, got {len(args)} arguments {args}")
    low, high = (0, bounds[0]) if len(bounds) == 1 else bounds
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint: size must be a tuple of ints, not {type(size).__name__}")
    dtype = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    return _make(_integers("randint", low, high, _shape(tuple(size)), dtype), device, requires_grad)


def _integers(name, low, high, shape, dtype):
    for argument, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name}: {argument} must be an int, got {type(value).__name__} {value!r}")
    if low >= high:
        raise ValueError(f"{name}: expects low to be less than high, but got low={low} >= high={high}")
    return generator().integers(low, high, size=shape).astype(dtype)


def _random_dtype(name, dtype):
    dtype = _float_dtype(dtype)
    if not dtypes.is_floating(dtype):
        raise TypeError(f"{name}: draws need a floating point dtype, got {dtype}")
    return dtype


# --- like another tensor: its shape, and by default its dtype and device ------------------------------

def zeros_like(input, *, dtype=None, device=None, requires_grad=False):  # noqa: A002  (PyTorch's names)
    return _filled_like("zeros_like", input, 0, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):  # noqa: A002
    return _filled_like("ones_like", input, 1, dtype, device, requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):  # noqa: A002
    dtype, device = _like("empty_like", input, dtype, device)
    return _make(np.empty(input.shape, dtype=dtype), device, requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """A tensor of ``input``'s shape filled with ``fill_value``, in ``input``'s dtype unless ``dtype`` is given."""
    return _filled_like("full_like", input, fill_value, dtype, device, requires_grad)


def _filled_like(name, input, fill_value, dtype, device, requires_grad):  # noqa: A002
    dtype, device = _like(name, input, dtype, device)
    return _make(np.full(input.shape, fill_value, dtype=dtype), device, requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False):  # noqa: A002
    dtype, device = _like("rand_like", input, dtype, device)
    return rand(input.shape, dtype=_random_dtype("rand_like", dtype), device=device, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False):  # noqa: A002
    dtype, device = _like("randn_like", input, dtype, device)
    return randn(input.shape, dtype=_random_dtype("randn_like", dtype), device=device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """Integers from [low, high) in ``input``'s shape and dtype: ``randint_like(x, high)`` or ``(x, low, high)``."""
    if high is None:
        low, high = 0, low
    dtype, device = _like("randint_like", input, dtype, device)
    return _make(_integers("randint_like", low, high, tuple(input.shape), dtype), device, requires_grad)


def _like(name, input, dtype, device):  # noqa: A002
    arguments.tensor_argument(name, input)
    return (input.dtype if dtype is None else dtypes.as_dtype(dtype),
            input.device if device is None else device)
