"""minigrad: a small tape-based reverse-mode autodiff framework with Numba kernels.

    import minigrad as mg
    w = mg.randn(3, requires_grad=True)
    loss = (w * w).sum()
    loss.backward()          # w.grad == 2 * w
"""
import os as _os

# Installed, kernels/ is mapped to minigrad/kernels by setuptools. Run from a source checkout
# (`python -m minigrad.bench` in the repository root), it sits beside this package instead.
_checkout_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "kernels")) and _os.path.isdir(
    _os.path.join(_checkout_root, "kernels", "cpu")
):
    __path__.append(_checkout_root)

from . import autograd, cuda, data, func, nn, optim, plot, progress, testing, viz  # noqa: E402
from .backend import host_memory as _host_memory  # noqa: E402

_host_memory.keep_freed_memory()  # the next step's arrays reuse this one's pages (see host_memory.py)
from . import distributed  # noqa: E402  (mg.distributed; imports no MPI until init() runs under mpiexec)
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly  # noqa: E402
from .autograd import GradientTape, enable_grad, is_grad_enabled, no_grad  # noqa: E402
from .creation import arange, empty, from_numpy, full, ones, rand, randn, tensor, zeros  # noqa: E402
from .creation import (as_tensor, empty_like, eye, full_like, linspace, logspace, ones_like, rand_like,  # noqa: E402
                       randint, randint_like, randn_like, zeros_like)
from .comparison import (allclose, eq, equal, ge, greater, greater_equal, gt, isclose, isfinite, isinf,  # noqa: E402
                         isnan, le, less, less_equal, logical_and, logical_not, logical_or, logical_xor, lt, ne,
                         not_equal, numel)
from .comparison import all, any  # noqa: E402, A004  (torch.all and torch.any; Python's are not used here)
from .device import Device as device  # noqa: E402  (torch.device; the name now means the class, not the module)
from .size import Size  # noqa: E402
from .dtypes import bool_, float32, float64, int64  # noqa: E402
from .dtypes import int32  # noqa: E402
from . import return_types  # noqa: E402  (torch.return_types: the (values, indices) pairs)
from .functions import (amax, amin, argmax, argmin, cat, chunk, clamp, clip, concat, concatenate,  # noqa: E402
                        cumsum, exp, flatten, gather, log, log_softmax, logsumexp, masked_fill, matmul, maximum,
                        mean, minimum, norm, permute, relu, reshape, scatter_add, sigmoid, softmax, sort, split, sqrt,
                        squeeze, stack, std, tanh, topk, transpose, unsqueeze, var, where)
from .functions import abs, max, min, pow, sum  # noqa: E402, A004  (torch's; kept out of __all__)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
from .pointwise import floor_divide, fmod, remainder  # noqa: E402
from .backend.precompile import PrecompileResult, precompile  # noqa: E402  (imports no Numba until called)
from .random_state import get_rng_state, manual_seed, set_rng_state  # noqa: E402
from .serialization import CheckpointError, load, save  # noqa: E402
from .tensor import Tensor  # noqa: E402

__all__ = [
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "rand", "randn",
    "remainder", "floor_divide", "fmod",
    "as_tensor", "linspace", "logspace", "eye", "randint", "zeros_like", "ones_like", "full_like", "empty_like",
    "rand_like", "randn_like", "randint_like", "device", "Size", "int32", "numel", "eq", "ne", "lt", "le", "gt", "ge",
    "greater", "greater_equal", "less", "less_equal", "not_equal", "equal", "isclose", "allclose", "isnan", "isinf",
    "isfinite", "logical_not", "logical_and", "logical_or", "logical_xor",
    "return_types", "amax", "amin", "argmax", "argmin", "cat", "chunk", "clamp", "clip", "concat", "concatenate",
    "cumsum", "exp", "flatten", "gather", "log", "log_softmax", "logsumexp", "masked_fill", "matmul", "maximum",
    "mean", "minimum", "norm", "permute", "relu", "reshape", "scatter_add", "sigmoid", "softmax", "sort", "split",
    "sqrt", "squeeze", "stack", "std", "tanh", "topk", "transpose", "unsqueeze", "var", "where",
    "manual_seed", "get_rng_state", "set_rng_state", "float32", "float64", "int64", "bool_", "no_grad", "enable_grad", "is_grad_enabled",
    "GradientTape", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "AnomalyError", "gradcheck", "gradgradcheck", "GradcheckError", "autograd", "func", "testing", "cuda", "nn", "optim", "data", "plot", "progress", "viz", "save", "load", "CheckpointError",
    "precompile", "PrecompileResult",
]

# PyTorch's dtype aliases, last: after them, float, int and bool in this file are dtypes, not Python's
# types (and they stay out of __all__, so `from minigrad import *` does not hide the built-ins).
float, double, long, int, bool = float32, float64, int64, int32, bool_  # noqa: A001
