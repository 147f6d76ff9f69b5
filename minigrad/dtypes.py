"""The dtypes minigrad tensors hold: NumPy dtype objects, so ``t.dtype == mg.float32`` reads naturally."""
import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

default_float = float32
supported = (float32, float64, int64, bool_)

_names = {"float32": float32, "float": float32, "float64": float64, "double": float64,
          "int64": int64, "long": int64, "bool": bool_}


def as_dtype(dtype):
    """Normalise a dtype given as a NumPy dtype/type or a name ("float32", "float64", "int64", "bool")."""
    if isinstance(dtype, str):
        if dtype not in _names:
            raise TypeError(f"unknown dtype {dtype!r}; minigrad supports float32, float64, int64 and bool")
        return _names[dtype]
    try:
        normalised = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; minigrad supports float32, float64, int64 and bool") from None
    if normalised not in supported:
        raise TypeError(f"dtype {normalised} is not supported; minigrad supports float32, float64, int64 and bool")
    return normalised


def inferred_dtype(array, from_python=False):
    """The minigrad dtype for data given without a dtype, as torch.tensor infers it.

    Python floats become float32 (the default); NumPy float arrays keep float64 if they have it;
    integers become int64.
    """
    kind = array.dtype.kind
    if kind == "f":
        return float64 if array.dtype == float64 and not from_python else float32
    if kind in "iu":
        return int64
    if kind == "b":
        return bool_
    raise TypeError(f"cannot make a tensor from data of dtype {array.dtype}")


def is_floating(dtype):
    return dtype == float32 or dtype == float64
