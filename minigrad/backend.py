"""Device dispatch: the one place the engine reaches the Numba kernels and the GPU.

A tensor's array is a NumPy ndarray on the CPU and a CudaArray (minigrad/cuda/array.py) on the
GPU. Elementwise math is NumPy's interface on both (in minigrad/ops/): on a CudaArray, NumPy
hands the call to minigrad/cuda/numpy_api.py, which runs it on GPU kernels. The heavy ops are
here: on the CPU the backend allocates the output arrays and the kernels of
``minigrad.kernels.cpu`` fill them; when the first array is a CudaArray, the function of the
same name in minigrad/cuda/ops.py does the same with ``minigrad.kernels.cuda``. Kernel modules
are imported on first use: ``import minigrad`` loads no Numba and compiles nothing, and asking
for ``"cuda"`` on a machine without a GPU says so.
"""
import functools

import numpy as np

from . import kernels as kernel_modules
from .cuda import ops as cuda_ops
from .cuda import runtime as cuda_runtime
from .cuda import transfer
from .cuda.array import CudaArray
from .device import CANONICAL, Device

ARRAY_TYPES = (np.ndarray, CudaArray)  # what an op's forward may return, on either device


def kernels(name):
    """The CPU kernel module ``minigrad.kernels.cpu.<name>``, imported once."""
    return kernel_modules.load("cpu", name)


def on_either_device(cpu_function):
    """Route a call whose first argument is a CudaArray to minigrad/cuda/ops.py's function of the same name."""
    cuda_function = getattr(cuda_ops, cpu_function.__name__)

    @functools.wraps(cpu_function)
    def function(first, *arguments, **options):
        if type(first) is CudaArray:
            return cuda_function(first, *arguments, **options)
        return cpu_function(first, *arguments, **options)

    return function


# --- devices --------------------------------------------------------------------------------------

def check_device(device):
    """The canonical device (``Device("cpu")`` or ``Device("cuda", 0)``, equal to "cpu" and "cuda") for a
    name or an ``mg.device``, or a clear error for a device minigrad cannot use."""
    written = str(device)  # as the caller wrote it, for the messages: "cuda:0" stays "cuda:0"
    if not isinstance(device, Device):
        if not isinstance(device, (str, int)) or isinstance(device, bool):
            raise TypeError(f"expected a device ('cpu', 'cuda', 'cuda:0' or an mg.device), got "
                            f"{type(device).__name__} {device!r}")
        device = Device(device)
    if device.index not in (None, 0):
        expected = "one GPU, 'cuda' (also written 'cuda:0')" if device.type == "cuda" else "one CPU device, 'cpu'"
        raise ValueError(f"device '{device}': minigrad uses {expected}")
    if device.type == "cuda":
        cuda_runtime.require_gpu(written)
    return CANONICAL[device]


def device_of(array):
    return "cuda" if type(array) is CudaArray else "cpu"


def to_device(array, device):
    """``array`` (NumPy or CudaArray) on ``device``: the same object if it is there already."""
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    return transfer.upload(np.asarray(array))


def to_host(array):
    """A NumPy copy of the array, wherever it lives (what state_dict() returns)."""
    return array.get() if type(array) is CudaArray else np.array(array, copy=True)


def copied(array, dtype):
    """A copy of ``array`` in ``dtype`` on its own device (the buffer is the caller's)."""
    if type(array) is CudaArray:
        return array.astype(dtype)
    return np.array(array, dtype=dtype, copy=True)


def contiguous(array):
    """``array`` itself if it is row-major without gaps, else a row-major copy (on its device)."""
    if type(array) is CudaArray:
        return array if array.is_contiguous else array.copy()
    return np.ascontiguousarray(array)


def as_array(value, dtype, like):
    """``value`` (a number or an array) as an array of ``dtype`` on the device of ``like``."""
    if type(like) is CudaArray:
        if type(value) is CudaArray:
            return value.astype(dtype, copy=False)
        return CudaArray.from_host(np.asarray(value, dtype=dtype))
    if type(value) is CudaArray:
        raise RuntimeError("expected an array on cpu, got one on cuda; move it with .cpu() first")
    return np.asarray(value, dtype=dtype)


def full(shape, value, dtype, device):
    if device == "cuda":
        return CudaArray.full(shape, value, dtype)
    return np.full(shape, value, dtype=dtype)


def full_like(array, value, dtype=None):
    return full(array.shape, value, array.dtype if dtype is None else dtype, device_of(array))


def move(tensor, device):
    """The tensor's array on ``device`` (already checked)."""
    return to_device(tensor.data, device)


# --- matmul ---------------------------------------------------------------------------------------

@on_either_device
def matmul(a, b, batch_shape):
    """a @ b for (..., M, K) and (..., K, N) arrays whose batch axes broadcast to ``batch_shape``."""
    if a.dtype != b.dtype or a.dtype.kind != "f":
        dtype = np.result_type(a, b)
        if dtype.kind != "f":
            return np.matmul(a, b)  # integer products: no gradient, no kernel
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    rows, inner, columns = a.shape[-2], a.shape[-1], b.shape[-1]
    matmul_kernels = kernels("matmul")
    if not batch_shape:
        out = np.empty((rows, columns), dtype=a.dtype)
        matmul_kernels.matmul(a, b, out)
        return out
    batch = int(np.prod(batch_shape))
    # broadcast_to gives stride-0 batch axes where an operand is shared: no copy is made
    a3 = np.broadcast_to(a, batch_shape + (rows, inner)).reshape(batch, rows, inner)
    b3 = np.broadcast_to(b, batch_shape + (inner, columns)).reshape(batch, inner, columns)
    out = np.empty((batch, rows, columns), dtype=a.dtype)
    matmul_kernels.batched_matmul(a3, b3, out)
    return out.reshape(batch_shape + (rows, columns))


# --- large elementwise ops -----------------------------------------------------------------------

# Below this many elements NumPy's single thread is faster than starting a parallel region.
PARALLEL_ELEMENTWISE_SIZE = 1 << 16


@on_either_device
def relu_forward(x):
    if x.size < PARALLEL_ELEMENTWISE_SIZE or x.dtype.kind != "f" or not x.flags.c_contiguous:
        # x < 0 ? 0 : x, as PyTorch: np.maximum would turn -0.0 into 0.0 (its 1 / x is -inf).
        return np.where(x < 0, x.dtype.type(0), x)
    out = np.empty_like(x)
    kernels("elementwise").relu_forward(x.reshape(-1), out.reshape(-1))
    return out


@on_either_device
def relu_backward(x, grad_output):
    if x.size < PARALLEL_ELEMENTWISE_SIZE or not (x.flags.c_contiguous and grad_output.flags.c_contiguous):
        return np.where(x <= 0, 0, grad_output)  # a selection: an infinite gradient stays finite at x < 0
    grad_input = np.empty_like(grad_output)
    kernels("elementwise").relu_backward(x.reshape(-1), grad_output.reshape(-1), grad_input.reshape(-1))
    return grad_input


def dropout_mask(seed, keep_probability, shape, dtype, device):
    """1 / keep_probability where an element is kept, else 0: a counter-based hash of (seed, element)
    decides, the same on both devices, so a model trains to the same losses on the CPU and the GPU."""
    if device == "cuda":
        return cuda_ops.dropout_mask(seed, keep_probability, shape, dtype)
    out = np.empty(shape, dtype=dtype)
    if out.size:
        kernels("dropout").dropout_mask(seed, keep_probability, out.reshape(-1))
    return out


# --- fused softmax cross-entropy ------------------------------------------------------------------

@on_either_device
def count_targets(targets, class_count, ignore_index):
    """(valid, out_of_range) as ints: rows with a class index, rows with neither one nor ``ignore_index``."""
    return kernels("softmax_xent").count_targets(targets, class_count, ignore_index)


@on_either_device
def softmax_cross_entropy(logits, targets, label_smoothing, ignore_index):
    """Per-row losses and their gradients with respect to the logits (targets already checked)."""
    losses = np.empty(logits.shape[0], dtype=logits.dtype)
    grad_logits = np.empty(logits.shape, dtype=logits.dtype)
    kernels("softmax_xent").softmax_cross_entropy(logits, targets, label_smoothing, ignore_index, losses, grad_logits)
    return losses, grad_logits


# --- convolution and pooling ----------------------------------------------------------------------

@on_either_device
def conv2d_forward(x, weight, bias, geometry, output_size):
    """Allocates (N, O, OH, OW); ``geometry`` = (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w)."""
    out = np.empty((x.shape[0], weight.shape[0]) + output_size, dtype=x.dtype)
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=x.dtype)  # the kernel always adds one: O values are free
    if x.shape[0] == 0:
        return out  # an empty batch (the kernels split the batch into tasks; there are none)
    kernels("conv2d").conv2d_forward(x, weight, bias, *geometry, out)
    return out


@on_either_device
def conv2d_backward_input(grad_out, weight, geometry, input_shape):
    grad_x = np.empty(input_shape, dtype=grad_out.dtype)
    if grad_out.shape[0] == 0:
        return grad_x
    kernels("conv2d").conv2d_backward_input(grad_out, weight, *geometry, grad_x)
    return grad_x


@on_either_device
def conv2d_backward_weight(x, grad_out, geometry, weight_shape):
    if x.shape[0] == 0:
        return np.zeros(weight_shape, dtype=grad_out.dtype)  # a sum over no images
    grad_weight = np.empty(weight_shape, dtype=grad_out.dtype)
    kernels("conv2d").conv2d_backward_weight(x, grad_out, *geometry, grad_weight)
    return grad_weight


@on_either_device
def conv2d_backward_bias(grad_out):
    """The sum of grad_out over images and positions, one value per output channel."""
    if grad_out.size == 0:
        return np.zeros(grad_out.shape[1], dtype=grad_out.dtype)
    grad_planes = np.ascontiguousarray(grad_out).reshape(grad_out.shape[0], grad_out.shape[1], -1)
    grad_bias = np.empty(grad_out.shape[1], dtype=grad_out.dtype)
    kernels("conv2d").conv2d_backward_bias(grad_planes, grad_bias)
    return grad_bias


@on_either_device
def max_pool2d_forward(x, geometry, output_size):
    """The pooled values and, for backward, the flat in-plane index each one came from.

    ``geometry`` = (kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w).
    """
    shape = x.shape[:2] + output_size
    out = np.empty(shape, dtype=x.dtype)
    indices = np.empty(shape, dtype=np.int64)
    kernels("pool").max_pool2d_forward(x, *geometry, out, indices)
    return out, indices


@on_either_device
def max_pool2d_backward(grad_out, indices, input_shape):
    grad_x = np.empty(input_shape, dtype=grad_out.dtype)
    kernels("pool").max_pool2d_backward(grad_out, indices, grad_x)
    return grad_x


@on_either_device
def avg_pool2d_forward(x, geometry, output_size, count_include_pad):
    out = np.empty(x.shape[:2] + output_size, dtype=x.dtype)
    kernels("pool").avg_pool2d_forward(x, *geometry, count_include_pad, out)
    return out


@on_either_device
def avg_pool2d_backward(grad_out, geometry, input_shape, count_include_pad):
    grad_x = np.empty(input_shape, dtype=grad_out.dtype)
    kernels("pool").avg_pool2d_backward(grad_out, *geometry, count_include_pad, grad_x)
    return grad_x


# --- optimizer updates ----------------------------------------------------------------------------
# Each updates flat, contiguous arrays of one dtype in place, in one fused pass. Scalars are passed
# as floats and flags as bools so that each kernel compiles once per dtype, whatever the caller
# typed (lr=1 is an int). A state buffer that the options leave unused is given as None and
# replaced by a zero-length placeholder the kernel never touches.

_unused_buffers = {}


def _buffer_or_placeholder(buffer, like):
    if buffer is not None:
        return buffer
    placeholder = _unused_buffers.get(like.dtype)
    if placeholder is None:
        placeholder = _unused_buffers[like.dtype] = np.empty(0, dtype=like.dtype)
    return placeholder


@on_either_device
def sgd_update(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov, first_step, maximize):
    kernels("optim").sgd_update(param, grad, _buffer_or_placeholder(momentum_buffer, param), float(lr),
                                float(weight_decay), float(momentum), float(dampening), bool(nesterov),
                                bool(first_step), bool(maximize))


@on_either_device
def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale,
                step_size, bias_correction2_sqrt, maximize):
    """``max_exp_avg_sq`` is None without amsgrad."""
    kernels("optim").adam_update(param, grad, exp_avg, exp_avg_sq, _buffer_or_placeholder(max_exp_avg_sq, param),
                                 float(beta1), float(beta2), float(eps), float(weight_decay), float(param_scale),
                                 float(step_size), float(bias_correction2_sqrt), max_exp_avg_sq is not None,
                                 bool(maximize))


@on_either_device
def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay, momentum,
                   maximize):
    """``grad_avg`` is None unless centered, ``momentum_buffer`` None without momentum."""
    kernels("optim").rmsprop_update(param, grad, square_avg, _buffer_or_placeholder(grad_avg, param),
                                    _buffer_or_placeholder(momentum_buffer, param), float(lr), float(alpha),
                                    float(eps), float(weight_decay), float(momentum), grad_avg is not None,
                                    bool(maximize))


@on_either_device
def adagrad_update(param, grad, state_sum, lr, eps, weight_decay, maximize):
    kernels("optim").adagrad_update(param, grad, state_sum, float(lr), float(eps), float(weight_decay),
                                    bool(maximize))


@on_either_device
def adadelta_update(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    kernels("optim").adadelta_update(param, grad, square_avg, acc_delta, float(lr), float(rho), float(eps),
                                     float(weight_decay), bool(maximize))


@on_either_device
def nadam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale, bias_correction2,
                 grad_coefficient, exp_avg_coefficient, maximize):
    kernels("optim").nadam_update(param, grad, exp_avg, exp_avg_sq, float(beta1), float(beta2), float(eps),
                                  float(weight_decay), float(param_scale), float(bias_correction2),
                                  float(grad_coefficient), float(exp_avg_coefficient), bool(maximize))


@on_either_device
def radam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale, step_size, rectified,
                 maximize):
    kernels("optim").radam_update(param, grad, exp_avg, exp_avg_sq, float(beta1), float(beta2), float(eps),
                                  float(weight_decay), float(param_scale), float(step_size), bool(rectified),
                                  bool(maximize))


@on_either_device
def adamax_update(param, grad, exp_avg, exp_inf, beta1, beta2, eps, weight_decay, step_size, maximize):
    kernels("optim").adamax_update(param, grad, exp_avg, exp_inf, float(beta1), float(beta2), float(eps),
                                   float(weight_decay), float(step_size), bool(maximize))
