"""The Tensor's description and conversions: ``size() dim() numel()``, to NumPy and Python values, and
``to()`` another dtype or device (differentiable: recorded Cast and ToDevice ops).

Tensor (minigrad/tensor.py) inherits these, as PyTorch's methods of the same names.
"""
import numpy as np

from . import backend, dtypes, ops
from . import tensor as tensor_module  # a cycle: Tensor is only looked up when a function runs
from .device import Device
from .size import Size


class TensorConversion:
    __slots__ = ()

    # --- the shape, as PyTorch asks for it -------------------------------------------------------

    @property
    def shape(self):
        return tuple.__new__(Size, self.data.shape)

    def size(self, dim=None):
        """The shape as an ``mg.Size``, or the size of dimension ``dim`` (negative counts from the end)."""
        if dim is None:
            return tuple.__new__(Size, self.data.shape)
        return self.data.shape[dimension(self, "size", dim)]

    def dim(self):
        """The number of dimensions (``ndim``)."""
        return self.data.ndim

    ndimension = dim

    def numel(self):
        """The number of elements."""
        return self.data.size

    nelement = numel

    def element_size(self):
        """Bytes per element."""
        return self.data.dtype.itemsize

    # --- to NumPy and Python ---------------------------------------------------------------------

    def numpy(self):
        """The underlying array (shared, not copied), as ``torch.Tensor.numpy`` does."""
        self._require_host("numpy")
        return self.data

    def __array__(self, dtype=None, copy=None):
        self._require_host("np.asarray")
        return self.data if dtype is None else self.data.astype(dtype)

    def _require_host(self, name):
        if self.device != "cpu":
            raise TypeError(
                f"{name}: can't convert a {self.device} tensor to a NumPy array; copy it to the host "
                "first with .cpu()"
            )

    def item(self):
        if self.data.size != 1:
            raise ValueError(
                f"item: only one-element tensors can be converted to a Python scalar, got shape {self.shape}"
            )
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    # --- other dtypes and devices ----------------------------------------------------------------

    def to(self, *args, **kwargs):
        """This tensor as another dtype and/or on another device, as ``torch.Tensor.to``:
        ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``, ``to(device=, dtype=)``.

        Returns ``self`` when nothing changes (unless ``copy=True``); otherwise a new tensor on the
        tape, so gradients flow back through the cast and the move. ``non_blocking`` is accepted and
        has no effect.
        """
        device, dtype, copy = to_arguments("to", args, kwargs)
        result = self
        if dtype is not None and dtype != self.dtype:
            result = ops.Cast.apply(result, dtype=dtype)
        if device is not None and device != self.device:
            result = ops.ToDevice.apply(result, device=device)
        if copy and result is self:
            result = ops.Clone.apply(self)
        return result

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else device)

    def type_as(self, other):
        """This tensor in ``other``'s dtype (and on its device), as ``torch.Tensor.type_as``."""
        if not isinstance(other, tensor_module.Tensor):
            raise TypeError(f"type_as: expected a tensor, got {type(other).__name__}")
        return self.to(other.device, other.dtype)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def bool(self):
        return self.to(dtypes.bool_)


def dimension(tensor, name, dim):
    """``dim`` as an index into ``tensor.shape``, or PyTorch's IndexError naming ``name`` and the range."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: argument 'dim' must be int, not {type(dim).__name__}")
    ndim = tensor.data.ndim
    if ndim == 0:
        raise IndexError(f"{name}: dimension specified as {dim} but the tensor has no dimensions (shape ())")
    if not -ndim <= dim < ndim:
        raise IndexError(f"{name}: dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}] for "
                         f"a tensor of shape {tuple(tensor.data.shape)}, but got {dim})")
    return int(dim) % ndim


def to_arguments(name, args, kwargs):
    """``(device, dtype, copy)`` from the ways ``torch.Tensor.to`` is called (``device`` and ``dtype``
    None where not asked for; the device checked with backend.check_device), for tensors and modules.

    ``to(dtype)``, ``to(device, dtype=None)``, ``to(tensor)``, each followed by ``non_blocking`` and
    ``copy``; ``device=`` and ``dtype=`` by keyword. A string is a dtype if it names one ("float64"),
    else a device.
    """
    unexpected = set(kwargs) - {"device", "dtype", "non_blocking", "copy"}
    if unexpected:
        raise TypeError(f"{name}() got an unexpected keyword argument {sorted(unexpected)[0]!r}")
    given = dict(kwargs)
    positional = list(args)

    def take(option, value):
        if option in given:
            raise TypeError(f"{name}() got multiple values for argument {option!r}")
        given[option] = value

    if positional:
        first = positional.pop(0)
        if isinstance(first, tensor_module.Tensor):  # to(other): its dtype and device
            take("device", first.device)
            take("dtype", first.dtype)
        elif _names_device(first):
            take("device", first)
            if positional and not isinstance(positional[0], bool):
                take("dtype", positional.pop(0))
        else:
            take("dtype", first)
    for option in ("non_blocking", "copy"):
        if positional:
            take(option, positional.pop(0))
    if positional:
        raise TypeError(f"{name}() takes a device, a dtype or a tensor, then non_blocking and copy; got "
                        f"{len(args)} positional arguments {args}")
    device, dtype = given.get("device"), given.get("dtype")
    if device is not None:
        if not _names_device(device):
            raise TypeError(f"{name}: expected a device ('cpu', 'cuda', 'cuda:0' or an mg.device), got "
                            f"{type(device).__name__} {device!r}")
        device = backend.check_device(device)
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
    return device, dtype, bool(given.get("copy", False))


def _names_device(value):
    """A device string or mg.device (any string that is not a dtype's name), or a GPU's index (torch's to(0))."""
    if isinstance(value, str):
        return isinstance(value, Device) or not dtypes.is_dtype_name(value)
    return isinstance(value, int) and not isinstance(value, bool)
