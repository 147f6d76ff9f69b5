"""Tensor: an array, the device it lives on, and its place on the tape (``grad_fn``, ``grad``).

Every differentiable method is a thin call to an op in minigrad/ops/; the math lives there. What
is here: construction and conversion, operator overloads, in-place updates with their version
counter, and ``backward()``.
"""
import numpy as np

from . import arguments, autograd, backend, dtypes, grad_hooks, ops
from .autograd import VersionCounter
from .device import CANONICAL
from .tensor_comparison import TensorComparison
from .tensor_conversion import TensorConversion
from .tensor_methods import TensorMethods


class Tensor(TensorMethods, TensorConversion, TensorComparison):
    __slots__ = ("data", "device", "grad_fn", "_grad", "_requires_grad", "_version_counter", "__weakref__",
                 "_post_accumulate_grad_hooks")

    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data, dtype=None, device="cpu", requires_grad=False):
        device = backend.check_device(device)
        if isinstance(data, Tensor):
            data = data.data
        if backend.device_of(data) == "cuda":
            data = data.get()  # built on the host, then moved once below
        array = np.asarray(data)
        if dtype is None:
            dtype = dtypes.inferred_dtype(array, from_python=not isinstance(data, (np.ndarray, np.generic)))
        else:
            dtype = dtypes.as_dtype(dtype)
        self.data = np.array(array, dtype=dtype, copy=True)
        if device != "cpu":
            self.data = backend.to_device(self.data, device)
        self.device = device
        self.grad_fn = None
        self._grad = None
        self._version_counter = VersionCounter()
        self._requires_grad = False
        self.requires_grad = requires_grad

    @staticmethod
    def _wrap(array, device, version_counter=None):
        """A plain Tensor around an array the caller owns, without copying or checking (the ops' fast path).

        Always a Tensor, never a subclass: an op on a Parameter gives an ordinary tensor.
        """
        tensor = object.__new__(Tensor)
        tensor.data = array
        tensor.device = CANONICAL.get(device, device)  # "cpu" and "cuda" as mg.device objects
        tensor.grad_fn = None
        tensor._grad = None
        tensor._requires_grad = False
        tensor._version_counter = VersionCounter() if version_counter is None else version_counter
        return tensor

    # --- properties ------------------------------------------------------------------------------

    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    is_leaf = property(lambda self: self.grad_fn is None)
    _version = property(lambda self: self._version_counter.value)

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad can only be set on leaf tensors; use .detach() to get a leaf from this one"
            )
        if value and not dtypes.is_floating(self.dtype):
            raise TypeError(f"only floating point tensors can require gradients, got {self.dtype}")
        self._requires_grad = bool(value)

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                value = Tensor(value, dtype=self.dtype, device=self.device)
            if value.shape != self.shape:
                raise ValueError(f"grad: assigned gradient of shape {value.shape} to a tensor of shape {self.shape}")
        self._grad = value

    # --- copies and the tape -------------------------------------------------------------------

    def clone(self):
        """A copy of the buffer that stays on the tape (gradients flow back to this tensor)."""
        return ops.Clone.apply(self)

    def detach(self):
        """The same buffer as a new leaf that needs no grad (shares the version counter)."""
        return Tensor._wrap(self.data, self.device, self._version_counter)

    def detach_(self):
        """Make this tensor a leaf that needs no grad, in place (its graph is forgotten, its data kept)."""
        self.grad_fn = None
        self._requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad in place; a non-leaf already requires grad, so asking again is a no-op there."""
        if requires_grad and self.grad_fn is not None:
            return self
        if self.grad_fn is not None:
            raise RuntimeError("requires_grad_: you can only change requires_grad flags of leaf tensors; to use "
                               "a computed tensor without gradients, take x.detach()")
        self.requires_grad = requires_grad
        return self

    def zero_grad(self):
        self._grad = None

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` in each backward pass once this leaf's ``.grad`` holds its whole gradient
        (the rest of backward still to run); returns a handle whose ``remove()`` takes it off."""
        return grad_hooks.register_post_accumulate_grad_hook(self, hook)

    def __repr__(self):
        body = np.array2string(backend.to_host(self.data), separator=", ", prefix="tensor(")
        extras = []
        if self.dtype not in (dtypes.float32, dtypes.int64, dtypes.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous: only a one-element tensor "
                "is True or False"
            )
        return bool(self.data)

    __hash__ = object.__hash__  # == is elementwise, so hash by identity, as PyTorch does

    # --- backward --------------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``create_graph=True`` records the gradient computation itself, so each ``.grad`` has a
        ``grad_fn`` and can be differentiated again; ``retain_graph`` defaults to ``create_graph``.
        """
        if retain_graph is None:
            retain_graph = create_graph
        if create_graph and not autograd.is_grad_enabled():
            raise RuntimeError("backward: create_graph=True inside mg.no_grad() cannot record the gradient's "
                               "graph; call it outside no_grad (or inside mg.enable_grad())")
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no grad_fn; did an input have "
                "requires_grad=True, and was grad mode on (not inside mg.no_grad())?"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: a gradient can be implicitly created only for a scalar output, this "
                    f"tensor has shape {self.shape}; pass gradient= of that shape"
                )
            seed = backend.full(self.shape, 1, self.dtype, self.device)
        else:
            seed = backend.as_array(gradient.data if isinstance(gradient, Tensor) else gradient, self.dtype, self.data)
            if seed.shape != self.shape:
                raise ValueError(f"backward: gradient of shape {seed.shape} given for a tensor of shape {self.shape}")
            if create_graph and isinstance(gradient, Tensor) and gradient.dtype == self.dtype:
                seed = gradient  # its graph too: the result is differentiable with respect to it
        autograd.run_backward([self], [seed], retain_graph, create_graph=create_graph)

    # --- in-place updates ------------------------------------------------------------------------

    def _check_in_place(self, name):
        if autograd.is_grad_enabled() and self.requires_grad:
            raise RuntimeError(
                f"{name}: in-place ops on a tensor that requires grad are only allowed under "
                "mg.no_grad() (as in an optimizer step); write x = x + y to record the op instead"
            )

    def _update_in_place(self, name, ufunc, other):
        self._check_in_place(name)
        value = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(self.data, value, out=self.data)
        except (TypeError, ValueError) as error:  # NumPy's casting and broadcasting failures
            kind = TypeError if isinstance(error, TypeError) else ValueError
            value_dtype = getattr(value, "dtype", type(value).__name__)
            raise kind(
                f"{name}: cannot apply a value of shape {np.shape(value)} and dtype {value_dtype} in place "
                f"to a tensor of shape {self.shape} and dtype {self.dtype}"
            ) from None
        self._version_counter.value += 1
        return self

    def __iadd__(self, other):
        return self._update_in_place("add_ (+=)", np.add, other)

    def __isub__(self, other):
        return self._update_in_place("sub_ (-=)", np.subtract, other)

    def __imul__(self, other):
        return self._update_in_place("mul_ (*=)", np.multiply, other)

    def __itruediv__(self, other):
        return self._update_in_place("div_ (/=)", np.divide, other)

    def __imod__(self, other):
        return self._update_in_place("remainder_ (%=)", ops.arithmetic.remainder, other)

    def __ifloordiv__(self, other):
        return self._update_in_place("floor_divide_ (//=)", ops.arithmetic.floor_divide, other)

    add_ = __iadd__
    sub_ = __isub__
    mul_ = __imul__
    div_ = __itruediv__
    remainder_ = __imod__
    floor_divide_ = __ifloordiv__

    def zero_(self):
        self._check_in_place("zero_")
        self.data[...] = 0
        self._version_counter.value += 1
        return self

    def fill_(self, value):
        """Set every element to ``value`` (a number or a 0-d tensor), cast to this tensor's dtype."""
        self._check_in_place("fill_")
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise RuntimeError(f"fill_: only supports a 0-dimension value tensor, got one of shape {value.shape}")
            if value.requires_grad and autograd.is_grad_enabled():
                raise RuntimeError("fill_: the value requires grad, and minigrad does not record in-place ops on "
                                   "the tape; fill under mg.no_grad() or with value.detach()")
            value = backend.to_host(value.data)[()]
        elif not isinstance(value, (bool, int, float, np.generic)):
            raise TypeError(f"fill_: expected a number or a 0-d tensor, got {type(value).__name__}")
        self.data[...] = value
        self._version_counter.value += 1
        return self

    def copy_(self, src, non_blocking=False):
        """Copy ``src``'s elements into this tensor, in place: broadcast to its shape, cast to its
        dtype, moved to its device. Not recorded on the tape (see the error when ``src`` needs grad)."""
        self._check_in_place("copy_")
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_: argument 'src' must be a Tensor, not {type(src).__name__}")
        if src.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("copy_: src requires grad, and minigrad does not record in-place ops on the tape; "
                               "copy under mg.no_grad() (or from src.detach()), or write x = src.clone()")
        try:
            broadcast_shape = np.broadcast_shapes(src.shape, self.shape)
        except ValueError:
            broadcast_shape = None
        if broadcast_shape != self.shape:
            raise RuntimeError(f"copy_: the source of shape {src.shape} does not broadcast to the destination's "
                               f"shape {self.shape}")
        value = backend.to_device(src.data, self.device)
        if value is self.data:
            return self  # x.copy_(x) (or a detached alias of x): nothing to move
        self.data[...] = value if value.dtype == self.dtype else value.astype(self.dtype)
        self._version_counter.value += 1
        return self

    def __setitem__(self, index, value):
        self._check_in_place("setitem")
        index = arguments.array_index(index)
        value = value.data if isinstance(value, Tensor) else value
        stages = ops.shape.index_stages(index, self.ndim)  # integers select first, as in PyTorch
        if stages is None:
            self.data[index] = value
        else:
            self.data[stages[0]][stages[1]] = value
        self._version_counter.value += 1

    # --- operators -------------------------------------------------------------------------------

    def __add__(self, other):
        return ops.Add.apply(*arguments.pair(self, other, name="add"))

    def __radd__(self, other):
        return ops.Add.apply(*arguments.pair(self, other, reflected=True, name="add"))

    def __sub__(self, other):
        return ops.Sub.apply(*arguments.pair(self, other, name="sub"))

    def __rsub__(self, other):
        return ops.Sub.apply(*arguments.pair(self, other, reflected=True, name="sub"))

    def __mul__(self, other):
        return ops.Mul.apply(*arguments.pair(self, other, name="mul"))

    def __rmul__(self, other):
        return ops.Mul.apply(*arguments.pair(self, other, reflected=True, name="mul"))

    def __truediv__(self, other):
        return ops.Div.apply(*arguments.pair(self, other, name="div"))

    def __rtruediv__(self, other):
        return ops.Div.apply(*arguments.pair(self, other, reflected=True, name="div"))

    def __mod__(self, other):
        """The remainder with the sign of ``other`` (Python's %, torch.remainder); differentiable."""
        return ops.Remainder.apply(*arguments.pair(self, other, name="remainder"))

    def __rmod__(self, other):
        return ops.Remainder.apply(*arguments.pair(self, other, reflected=True, name="remainder"))

    def __floordiv__(self, other):
        """The quotient rounded toward -inf (torch.floor_divide); not differentiable: backward through it
        raises, as in PyTorch."""
        return ops.FloorDivide.apply(*arguments.pair(self, other, name="floor_divide"))

    def __rfloordiv__(self, other):
        return ops.FloorDivide.apply(*arguments.pair(self, other, reflected=True, name="floor_divide"))

    remainder = __mod__
    floor_divide = __floordiv__

    def fmod(self, other):
        """The remainder with the sign of ``self`` (C's fmod, torch.fmod); differentiable."""
        return ops.Fmod.apply(*arguments.pair(self, other, name="fmod"))

    def __pow__(self, exponent):
        if self.dtype == dtypes.bool_ and isinstance(exponent, bool):
            return self.clone() if exponent else self == self  # PyTorch's bool ** bool: x, or all True
        if isinstance(exponent, (int, float)):
            return ops.PowConstant.apply(*arguments.power_base(self, exponent), exponent=exponent)
        return ops.Pow.apply(*arguments.pair(self, exponent, name="pow"))

    def __rpow__(self, base):
        return ops.Pow.apply(*arguments.pair(self, base, reflected=True, name="pow"))

    def pow(self, exponent):
        return self**exponent

    def __matmul__(self, other):
        return ops.MatMul.apply(*arguments.pair(self, other, name="matmul"))

    def __rmatmul__(self, other):
        return ops.MatMul.apply(*arguments.pair(self, other, reflected=True, name="matmul"))

    def __neg__(self):
        if self.dtype == dtypes.bool_:
            raise TypeError("neg: negation (the - operator) of a bool tensor is not supported; "
                            "to invert a mask use ~ or logical_not()")
        return ops.Neg.apply(self)

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=arguments.array_index(index))

    # Comparisons record nothing: their results are not differentiable. Both sides are compared in
    # their promoted dtype, as PyTorch compares (a float32 0.1 equals a float32 tensor's 0.1).
    def _compare(self, ufunc, other):
        dtype = dtypes.result_type(self, other)
        mine = self.data if self.dtype == dtype else self.data.astype(dtype)
        other = other.data if isinstance(other, Tensor) else other
        if not hasattr(other, "dtype"):
            other = np.asarray(other, dtype=dtype)  # a number or a list
        elif other.dtype != dtype:
            other = other.astype(dtype)
        result = ufunc(mine, other)
        return Tensor._wrap(result if backend.device_of(result) == "cuda" else np.asarray(result), self.device)

    def __eq__(self, other):
        return self._compare(np.equal, other)

    def __ne__(self, other):
        return self._compare(np.not_equal, other)

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

