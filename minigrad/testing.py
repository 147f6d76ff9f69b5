"""``mg.testing``: PyTorch's ``assert_close`` and ``make_tensor``, so a test suite for your own layers
reads as one written for PyTorch.

    mg.testing.assert_close(model(x), expected)                       # dtype-aware tolerances
    x = mg.testing.make_tensor(4, 3, dtype=mg.float64, device="cpu", requires_grad=True)
"""
import math
from collections.abc import Mapping, Sequence

import numpy as np

from . import backend, dtypes
from .random_state import generator
from .tensor import Tensor

__all__ = ["assert_close", "make_tensor"]

# PyTorch's default (rtol, atol) by dtype; exact for integers and bools.
DEFAULT_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
                      np.dtype(np.float64): (1e-7, 1e-7)}


def assert_close(actual, expected, *, rtol=None, atol=None, equal_nan=False, check_device=True, check_dtype=True,
                 msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` are close, as ``torch.testing.assert_close``:
    |actual - expected| <= atol + rtol * |expected| elementwise, with tolerances by dtype when both
    are omitted. Tensors, NumPy arrays (compared with their own kind), Python numbers, and sequences
    or mappings of them; shapes, and unless told otherwise dtypes and devices, must match."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"assert_close: both 'rtol' and 'atol' must be either specified or omitted, "
                         f"but got no {'rtol' if rtol is None else 'atol'}")
    _compare(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, msg, path="")


def _compare(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, msg, path):
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            _fail(msg, path, f"The keys of the mappings do not match: {sorted(map(str, actual))} != "
                             f"{sorted(map(str, expected))}.")
        for key in actual:
            _compare(actual[key], expected[key], rtol, atol, equal_nan, check_device, check_dtype, msg,
                     f"{path}[{key!r}]")
        return
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            _fail(msg, path, f"The length of the sequences do not match: {len(actual)} != {len(expected)}.")
        for index, (first, second) in enumerate(zip(actual, expected)):
            _compare(first, second, rtol, atol, equal_nan, check_device, check_dtype, msg, f"{path}[{index}]")
        return
    kinds = (_kind(actual), _kind(expected))
    if None in kinds or kinds[0] != kinds[1]:
        raise TypeError(
            f"assert_close: comparing {type(actual).__name__} with {type(expected).__name__} is not supported{_at(path)}; "
            "compare two Tensors (mg.tensor(x) makes one), two NumPy arrays or two Python numbers")
    if kinds[0] == "number":
        actual_array, expected_array = np.asarray(actual), np.asarray(expected)
        device = None
    else:
        if check_device and kinds[0] == "tensor" and actual.device != expected.device:
            _fail(msg, path, f"The values for attribute 'device' do not match: {actual.device} != {expected.device}.")
        actual_array = backend.to_host(actual.data) if kinds[0] == "tensor" else actual
        expected_array = backend.to_host(expected.data) if kinds[0] == "tensor" else expected
        device = kinds[0]
    if actual_array.shape != expected_array.shape:
        _fail(msg, path, f"The values for attribute 'shape' do not match: {actual_array.shape} != "
                         f"{expected_array.shape}.")
    if check_dtype and device is not None and actual_array.dtype != expected_array.dtype:
        _fail(msg, path, f"The values for attribute 'dtype' do not match: {actual_array.dtype} != "
                         f"{expected_array.dtype}.")
    if rtol is None:
        rtol, atol = max(DEFAULT_TOLERANCES.get(actual_array.dtype, (0.0, 0.0)),
                         DEFAULT_TOLERANCES.get(expected_array.dtype, (0.0, 0.0)))
    report = _mismatch_report(actual_array, expected_array, rtol, atol, equal_nan)
    if report:
        _fail(msg, path, report)


def _mismatch_report(actual, expected, rtol, atol, equal_nan):
    """PyTorch's report of the elements out of tolerance, or "" when there are none."""
    if actual.dtype == np.bool_ or expected.dtype == np.bool_:
        mismatched = actual != expected
    else:
        actual64, expected64 = actual.astype(np.float64), expected.astype(np.float64)
        with np.errstate(invalid="ignore"):
            close = np.isclose(actual64, expected64, rtol=rtol, atol=atol, equal_nan=equal_nan)
        mismatched = ~close
    if not mismatched.any():
        return ""
    total = mismatched.size
    count = int(mismatched.sum())
    lines = ["Tensor-likes are not close!" if actual.ndim else "Scalars are not close!", "",
             f"Mismatched elements: {count} / {total} ({count / total:.1%})"]
    if actual.dtype != np.bool_:
        with np.errstate(invalid="ignore", divide="ignore"):
            absolute = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
            relative = absolute / np.abs(expected.astype(np.float64))
        for name, difference, allowed in (("absolute", absolute, atol), ("relative", relative, rtol)):
            shown = np.where(mismatched, np.nan_to_num(difference, nan=math.inf), -1.0)
            worst = np.unravel_index(int(np.argmax(shown)), shown.shape) if shown.ndim else ()
            where = f" at index {tuple(int(i) for i in worst)}" if actual.ndim else ""
            lines.append(f"Greatest {name} difference: {difference[worst]:g}{where} (up to {allowed:g} allowed)")
    return "\n".join(lines)


def _kind(value):
    if isinstance(value, Tensor):
        return "tensor"
    if isinstance(value, np.ndarray):
        return "ndarray"
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return "number"
    return None


def _is_sequence(value):
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _at(path):
    return f" at {path}" if path else ""


def _fail(msg, path, report):
    if callable(msg):
        report = msg(report)
    elif msg is not None:
        report = msg
    elif path:
        report = f"{report}\n\nThe failure occurred for item {path}"
    raise AssertionError(report)


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False):
    """A random tensor for a test, as ``torch.testing.make_tensor``: floating values uniform in
    [low, high) (default [-9, 9)), integers in [low, high) (default [-9, 10)), bools either way;
    ``exclude_zero`` replaces zeros by the smallest positive value (1 for integers);
    ``noncontiguous`` gives the same values in a strided view. Draws from minigrad's generator
    (``mg.manual_seed``)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dtype = dtypes.as_dtype(dtype)
    random = generator()
    if dtype == np.bool_:
        array = random.integers(0, 2, size=shape).astype(np.bool_)
    elif dtypes.is_floating(dtype):
        low, high = -9.0 if low is None else low, 9.0 if high is None else high
        if not low < high:
            raise ValueError(f"make_tensor: low ({low}) must be below high ({high})")
        array = random.uniform(low, high, size=shape).astype(dtype)
        if exclude_zero:
            array[array == 0] = np.finfo(dtype).tiny
    else:
        low, high = -9 if low is None else math.ceil(low), 10 if high is None else math.ceil(high)
        if not low < high:
            raise ValueError(f"make_tensor: low ({low}) must be below high ({high})")
        array = random.integers(low, high, size=shape).astype(dtype)
        if exclude_zero:
            array[array == 0] = 1
    if noncontiguous and array.size > 1:
        spread = np.repeat(array[..., None], 2, axis=-1)  # every value twice, then every other one
        array = spread[..., 0]
    tensor = Tensor(array, dtype=dtype) if not noncontiguous else Tensor._wrap(array, "cpu")
    tensor = tensor.to(device)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor
