"""Your own Numba kernel as a differentiable op: ``mg.autograd.kernel_op``.

    @numba.njit(parallel=True)
    def swish_forward(x, beta, out):                              # out = x * sigmoid(beta * x)
        for i in numba.prange(x.size):
            out[i] = x[i] / (1 + math.exp(-beta[0] * x[i]))

    @numba.njit(parallel=True)
    def swish_backward(x, beta, out, grad_out, grad_x, grad_beta):
        ...                                                       # fills grad_x and grad_beta

    swish = mg.autograd.kernel_op(swish_forward, swish_backward, flat=True)
    y = swish(x, beta)            # on the tape: y.sum().backward() runs swish_backward

The calling convention is that of minigrad's own kernels (kernels/cpu/): arrays in, results written
into arrays the caller allocates. ``forward(*arguments, out)`` writes every element of ``out``;
``backward(*arguments, out, grad_out, *grads)`` fills one gradient buffer per floating-point Tensor
argument, in order (they start at zero, so a kernel may accumulate into them). A non-Tensor
argument (a number) reaches both kernels as it is and has no gradient.

What the op does around the kernels, as minigrad/backend/ does for minigrad's: checks the call (argument
count, devices, dtypes) and names the op in every error, before any kernel runs; allocates ``out``
(the first Tensor argument's shape, or ``output_shape(*argument_shapes)``) in the arguments' dtype on
their device; hands the kernels contiguous arrays (flattened to one axis with ``flat=True``, the
way the backend ravels for its elementwise kernels); and sends a call on "cuda" tensors to the CUDA
twins, given Numba device arrays. A twin is either a ``@cuda.jit`` kernel, launched with one thread
per element of ``out`` (256 per block, at most 1024 blocks: write it as a grid-stride loop, as
kernels/cuda/elementwise.py does), or a plain function that launches its kernels itself.

The backward kernel is not differentiable: under ``create_graph=True`` the gradient it gives is
computed, but differentiating it again raises (``once_differentiable``'s rule). For a gradient that
is itself differentiable, write the op as a custom Function with a backward in Tensor ops.
"""
import inspect
import math

import numpy as np

from . import autograd, backend
from .cuda.array import CudaArray

THREADS_PER_BLOCK = 256
MAX_BLOCKS = 1024


def kernel_op(forward, backward, *, name=None, cuda_forward=None, cuda_backward=None, output_shape=None,
              flat=False):
    """A differentiable op from a forward kernel and its backward kernel (see the module's docstring).

    ``name`` defaults to the forward kernel's name without ``_forward``; ``output_shape`` is a function of
    the Tensor arguments' shapes (default: the first one's shape); ``flat=True`` hands the kernels
    every array flattened, for elementwise kernels. ``cuda_forward`` / ``cuda_backward`` are the CUDA twins.
    """
    for role, kernel in (("forward", forward), ("backward", backward)):
        if not callable(kernel):
            raise TypeError(f"kernel_op: {role} must be a kernel (a Numba function), got {type(kernel).__name__}")
    if (cuda_forward is None) != (cuda_backward is None):
        raise TypeError("kernel_op: give both CUDA twins (cuda_forward and cuda_backward) or neither")
    if name is None:
        name = _kernel_name(forward).removesuffix("_forward")
    return KernelOp(name, {"cpu": (forward, backward), "cuda": (cuda_forward, cuda_backward)}, output_shape, flat)


class KernelOp:
    """An op made by ``kernel_op``: call it on Tensors (and numbers) like any minigrad function."""

    def __init__(self, name, kernels, output_shape, flat):
        self.name, self.kernels, self.output_shape, self.flat = name, kernels, output_shape, flat
        # Each kernel's parameter names (None where unreadable), read once: the checks run on every call.
        self.kernel_parameters = {id(kernel): _parameters(kernel) for pair in kernels.values() for kernel in pair}
        self.parameters = self.kernel_parameters[id(kernels["cpu"][0])]  # the forward kernel's, for the errors

    def __repr__(self):
        devices = "cpu, cuda" if self.kernels["cuda"][0] is not None else "cpu"
        return f"<kernel op {self.name} ({devices})>"

    def __call__(self, *arguments):
        from .tensor import Tensor

        if self.parameters is not None and len(arguments) != len(self.parameters) - 1:
            names = ", ".join(self.parameters[:-1])
            raise TypeError(f"{self.name}: takes {len(self.parameters) - 1} arguments ({names}), as its forward "
                            f"kernel does before out; got {len(arguments)}")
        tensors = [value for value in arguments if isinstance(value, Tensor)]
        if not tensors:
            raise TypeError(f"{self.name}: expected at least one Tensor argument, got "
                            f"{', '.join(type(value).__name__ for value in arguments) or 'none'}")
        floating = [(position, value) for position, value in enumerate(arguments)
                    if isinstance(value, Tensor) and value.dtype.kind == "f"]
        for position, value in floating[1:]:
            if value.dtype != floating[0][1].dtype:
                raise TypeError(f"{self.name}: argument {position} is {value.dtype}, argument {floating[0][0]} "
                                f"{floating[0][1].dtype}; the kernels take one floating dtype (convert with "
                                ".float() or .double())")
        if tensors[0].device == "cuda" and self.kernels["cuda"][0] is None:
            raise RuntimeError(f"{self.name}: this op has no CUDA kernels (give cuda_forward and cuda_backward to "
                               "kernel_op); it runs on cpu tensors only")
        template = tuple(_TENSOR if isinstance(value, Tensor) else value for value in arguments)
        return KernelFunction.apply(*tensors, op=self, template=template)

    def shape_of_output(self, shapes):
        if self.output_shape is None:
            return shapes[0]
        shape = self.output_shape(*shapes)
        if isinstance(shape, (tuple, list)) and all(isinstance(size, (int, np.integer)) and size >= 0 for size in shape):
            return tuple(int(size) for size in shape)
        raise TypeError(f"{self.name}: output_shape returned {shape!r}, not a tuple of sizes")

    def launch(self, role, device, arrays, size):
        """Run the op's ``role`` kernel ("forward" or "backward") for ``device`` on ``arrays``."""
        kernel = self.kernels[device][0 if role == "forward" else 1]
        wanted = self.kernel_parameters[id(kernel)]
        if wanted is not None and len(wanted) != len(arrays):
            raise TypeError(f"{self.name}: its {role} kernel {_kernel_name(kernel)} takes {len(wanted)} "
                            f"arguments ({', '.join(wanted)}), but this call gives it {len(arrays)}"
                            f"{_BACKWARD_ORDER if role == 'backward' else ''}")
        views = [self._view(array) for array in arrays]
        try:
            if device == "cuda" and hasattr(kernel, "__getitem__"):  # a @cuda.jit kernel: one thread per element
                if size:
                    kernel[min(math.ceil(size / THREADS_PER_BLOCK), MAX_BLOCKS), THREADS_PER_BLOCK](*views)
            else:
                kernel(*views)
        except Exception as error:
            types = ", ".join(_describe(array) for array in arrays)
            error.add_note(f"in kernel op {self.name}: its {role} kernel {_kernel_name(kernel)} ({device}), "
                           f"called with ({types})")
            raise

    def _view(self, array):
        """What a kernel receives: a contiguous array (flat if asked); on the GPU, a Numba device array."""
        if type(array) is CudaArray:
            return array.reshape(-1).numba_array() if self.flat else backend.contiguous(array).numba_array()
        if isinstance(array, np.ndarray):
            array = np.ascontiguousarray(array)
            return array.reshape(-1) if self.flat else array
        return array  # a number


_TENSOR = object()  # a Tensor's place among a call's arguments (its array reaches forward separately)
_BACKWARD_ORDER = ": the arguments of forward, out, grad_out, then one gradient per floating-point Tensor argument"


class KernelFunction(autograd.Function):
    """The tape's node for one call of a kernel op: the instance form, on arrays, like minigrad's own ops."""

    def __init__(self, op, template):
        self.op, self.template = op, template

    @property
    def name(self):
        return self.op.name

    def arguments(self, arrays):
        """The call's arguments with the Tensors' arrays in their places."""
        arrays = iter(arrays)
        return [next(arrays) if value is _TENSOR else value for value in self.template]

    def forward(self, *arrays):
        device = backend.device_of(arrays[0])
        floating = [array for array in arrays if array.dtype.kind == "f"]
        dtype = floating[0].dtype if floating else arrays[0].dtype
        shape = self.op.shape_of_output([array.shape for array in arrays])
        out = CudaArray.empty(shape, dtype) if device == "cuda" else np.empty(shape, dtype=dtype)
        self.op.launch("forward", device, self.arguments(arrays) + [out], out.size)
        self.save_for_backward(*arrays, out)
        return out

    def backward(self, grad_output):
        *arrays, out = self.saved
        device = backend.device_of(out)
        if grad_output.shape != out.shape:
            grad_output = np.broadcast_to(grad_output, out.shape) if device == "cpu" else grad_output.broadcast_to(
                out.shape)
        gradients = [backend.full(array.shape, 0, array.dtype, device) if array.dtype.kind == "f" else None
                     for array in arrays]
        buffers = [gradient for gradient in gradients if gradient is not None]
        self.op.launch("backward", device, self.arguments(arrays) + [out, grad_output] + buffers, out.size)
        return tuple(gradients)

    def differentiable_backward(self, grad_output):
        """The backward kernel's gradients (create_graph), marked so that differentiating them again raises."""
        from .once_differentiable import delayed_error

        message = (f"{self.name}: its gradient comes from a backward kernel, which cannot be differentiated again; "
                   "for higher-order gradients write the op as a custom Function with a backward in Tensor ops")
        first = self.inputs[0]
        return tuple(None if gradient is None else delayed_error(first._wrap(gradient, first.device), message)
                     for gradient in self.backward(grad_output.data))


def _kernel_name(kernel):
    return getattr(kernel, "__name__", None) or getattr(getattr(kernel, "py_func", None), "__name__", "kernel")


def _parameters(kernel):
    """The kernel's parameter names, or None where they cannot be read."""
    try:
        return list(inspect.signature(getattr(kernel, "py_func", kernel)).parameters)
    except (TypeError, ValueError):
        return None


def _describe(value):
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return f"{value.dtype}{list(value.shape)}"
    return type(value).__name__
