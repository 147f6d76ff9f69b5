"""The dtypes minigrad tensors hold: NumPy dtype objects, so ``t.dtype == mg.float32`` reads naturally.

PyTorch's aliases name the same objects: ``mg.float`` is float32, ``mg.double`` float64, ``mg.long``
int64, ``mg.int`` int32 and ``mg.bool`` bool (exported by minigrad/__init__.py, not defined here, where
they would hide Python's own float, int and bool).
"""
import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

default_float = float32
supported = (float32, float64, int32, int64, bool_)
_supported_names = "float32, float64, int32, int64 and bool"

_names = {"float32": float32, "float": float32, "float64": float64, "double": float64, "int32": int32,
          "int": int32, "int64": int64, "long": int64, "bool": bool_}


def is_dtype_name(name):
    """True for the names as_dtype accepts ("float32", "double", ...)."""
    return name in _names


def as_dtype(dtype):
    """Normalise a dtype given as a NumPy dtype/type or a name ("float32", "float64", "int32", "int64", "bool")."""
    if isinstance(dtype, str):
        if dtype not in _names:
            raise TypeError(f"unknown dtype {dtype!r}; minigrad supports {_supported_names}")
        return _names[dtype]
    try:
        normalised = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; minigrad supports {_supported_names}") from None
    if normalised not in supported:
        raise TypeError(f"dtype {normalised} is not supported; minigrad supports {_supported_names}")
    return normalised


def inferred_dtype(array, from_python=False):
    """The minigrad dtype for data given without a dtype, as torch.tensor infers it.

    Python floats become float32 (the default); NumPy float arrays keep float64 if they have it, and
    int32 arrays int32; other integers become int64.
    """
    kind = array.dtype.kind
    if kind == "f":
        return float64 if array.dtype == float64 and not from_python else float32
    if kind in "iu":
        return int32 if array.dtype == int32 and not from_python else int64
    if kind == "b":
        return bool_
    raise TypeError(f"cannot make a tensor from data of dtype {array.dtype}")


def is_floating(dtype):
    return dtype == float32 or dtype == float64


# --- PyTorch's type promotion -----------------------------------------------------------------------
# Every binary op and comparison takes its dtype from result_type, so the rules live here alone.

def category(dtype):
    """0 for bool, 1 for integers, 2 for floating point: a higher category wins a promotion."""
    return 2 if dtype.kind == "f" else 1 if dtype.kind in "iu" else 0


def promote_types(first, second):
    """The dtype two dtypes meet in (``torch.promote_types``): the higher category's, and within
    one category the wider (float32 with int64 is float32, where NumPy would give float64)."""
    if first == second:
        return first
    first_category, second_category = category(first), category(second)
    if first_category != second_category:
        return first if first_category > second_category else second
    return np.promote_types(first, second)


def result_type(*operands):
    """The dtype of a binary op's result (``torch.result_type``).

    Operands fall in three groups: tensors with dimensions, 0-d tensors, and Python numbers (whose
    dtype is bool, int64 or the default float). A group only decides the result where its category
    is higher than every group before it: ``float32 tensor * float64 0-d tensor`` is float32,
    ``int64 tensor * 2.5`` is float32, ``int64 tensor * float64 0-d tensor`` is float64.
    NumPy arrays count as tensors (of the dtype minigrad would give them).
    """
    groups = [None, None, None]  # dimensioned tensors, 0-d tensors, Python numbers
    for operand in operands:
        if isinstance(operand, (bool, int, float, np.generic)):
            group = 2
            dtype = bool_ if isinstance(operand, (bool, np.bool_)) else (
                default_float if isinstance(operand, (float, np.floating)) else int64)
        else:
            group = 0 if operand.ndim else 1
            dtype = operand.dtype if operand.dtype in supported else inferred_dtype(np.asarray(operand))
        groups[group] = dtype if groups[group] is None else promote_types(groups[group], dtype)
    return _combined(groups[0], _combined(groups[1], groups[2]))


def _combined(higher, lower):
    """A group's result (``higher``) unless a later group (``lower``) has a higher category."""
    if higher is None:
        return lower
    if lower is None or category(lower) <= category(higher):
        return higher
    return lower
