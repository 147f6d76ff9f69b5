"""The heavy ops on the GPU: the same functions as minigrad/backend/'s CPU ones, on CudaArrays.

Each function allocates its outputs as CudaArrays and launches the twin in
``minigrad.kernels.cuda`` (same file, function and argument names as ``kernels.cpu``), handing it
Numba views of the arrays. minigrad/backend/ sends a call here when its first array is a CudaArray.
Nothing here waits for the GPU: every launch is queued, and the host goes on to the next op.
"""
import math

import numpy as np

from . import ops_conv_depthwise
from .array import CudaArray
from .runtime import kernels


def _numba(array):
    return array.numba_array()


# --- matmul ---------------------------------------------------------------------------------------

def matmul(a, b, batch_shape):
    if a.dtype != b.dtype or a.dtype.kind != "f":
        dtype = np.result_type(a.dtype, b.dtype)
        if dtype.kind != "f":
            raise TypeError(f"matmul: integer products are not supported on cuda, got {a.dtype} and {b.dtype}")
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    rows, inner, columns = a.shape[-2], a.shape[-1], b.shape[-1]
    matmul_kernels = kernels("matmul")
    if not batch_shape:
        out = CudaArray.empty((rows, columns), a.dtype)
        matmul_kernels.matmul(_numba(a), _numba(b), _numba(out))
        return out
    batch = math.prod(batch_shape)
    # A single batch axis keeps its stride-0 broadcast; several are merged, which copies a shared operand.
    a3 = a.broadcast_to(batch_shape + (rows, inner))
    b3 = b.broadcast_to(batch_shape + (inner, columns))
    if len(batch_shape) != 1:
        a3, b3 = a3.reshape(batch, rows, inner), b3.reshape(batch, inner, columns)
    out = CudaArray.empty((batch, rows, columns), a.dtype)
    matmul_kernels.batched_matmul(_numba(a3), _numba(b3), _numba(out))
    return out.reshape(batch_shape + (rows, columns))


# --- elementwise ----------------------------------------------------------------------------------

def _contiguous(array):
    """A Numba view of ``array``, copied first if it has gaps or another order (the kernels need row-major)."""
    return _numba(array if array.is_contiguous else array.copy())


def _flat(array):
    """A one-dimensional Numba view of ``array``'s elements in row-major order (reshape copies if it must)."""
    return array.reshape(-1).numba_array()


def relu_forward(x):
    out = CudaArray.empty(x.shape, x.dtype)
    kernels("elementwise").relu_forward(_flat(x), _flat(out))
    return out


def relu_backward(x, grad_output):
    grad_input = CudaArray.empty(grad_output.shape, grad_output.dtype)
    kernels("elementwise").relu_backward(_flat(x), _flat(grad_output), _flat(grad_input))
    return grad_input


def dropout_mask(seed, keep_probability, shape, dtype):
    out = CudaArray.empty(shape, dtype)
    if out.size:
        kernels("dropout").dropout_mask(seed, keep_probability, _flat(out))
    return out


# --- fused softmax cross-entropy ------------------------------------------------------------------

def count_targets(targets, class_count, ignore_index):
    return kernels("softmax_xent").count_targets(_flat(targets.astype(np.int64, copy=False)), class_count,
                                                      ignore_index)


def softmax_cross_entropy(logits, targets, label_smoothing, ignore_index):
    losses = CudaArray.empty((logits.shape[0],), logits.dtype)
    grad_logits = CudaArray.empty(logits.shape, logits.dtype)
    targets = targets.astype(np.int64, copy=False)
    kernels("softmax_xent").softmax_cross_entropy(_contiguous(logits), _flat(targets), label_smoothing,
                                                       ignore_index, _numba(losses), _numba(grad_logits))
    return losses, grad_logits


# --- convolution and pooling ----------------------------------------------------------------------

def conv2d_forward(x, weight, bias, geometry, output_size, groups=1):
    out = CudaArray.empty((x.shape[0], weight.shape[0]) + output_size, x.dtype)
    if groups != 1 and out.size:
        return ops_conv_depthwise.conv2d_forward_grouped(conv2d_forward, x, weight, bias, geometry, output_size, groups, out)
    if bias is None:
        bias = CudaArray.full((weight.shape[0],), 0, x.dtype)
    if out.size:
        kernels("conv2d").conv2d_forward(_contiguous(x), _contiguous(weight), _contiguous(bias), *geometry,
                                              _numba(out))
    return out


def conv2d_backward_input(grad_out, weight, geometry, input_shape, groups=1, bias=None):
    grad_x = CudaArray.empty(input_shape, grad_out.dtype)
    if groups != 1 and grad_x.size:
        ops_conv_depthwise.conv2d_backward_input_grouped(conv2d_backward_input, grad_out, weight, geometry,
                                                         groups, grad_x)
        if bias is not None:
            grad_x += bias.reshape(1, -1, 1, 1)
    elif grad_x.size:
        if bias is None:
            bias = CudaArray.full((input_shape[1],), 0, grad_out.dtype)
        kernels("conv2d").conv2d_backward_input(_contiguous(grad_out), _contiguous(weight), *geometry,
                                                     _numba(grad_x), bias=_contiguous(bias))
    return grad_x


def conv2d_backward_weight(x, grad_out, geometry, weight_shape, groups=1):
    if x.shape[0] == 0:
        return CudaArray.full(weight_shape, 0, grad_out.dtype)
    grad_weight = CudaArray.empty(weight_shape, grad_out.dtype)
    if groups != 1:
        return ops_conv_depthwise.conv2d_backward_weight_grouped(conv2d_backward_weight, x, grad_out, geometry,
                                                                 groups, grad_weight)
    kernels("conv2d").conv2d_backward_weight(_contiguous(x), _contiguous(grad_out), *geometry,
                                                  _numba(grad_weight))
    return grad_weight


def conv2d_backward_bias(grad_out):
    if grad_out.size == 0:
        return CudaArray.full((grad_out.shape[1],), 0, grad_out.dtype)
    grad_planes = (grad_out if grad_out.is_contiguous else grad_out.copy()).reshape(
        grad_out.shape[0], grad_out.shape[1], -1)
    grad_bias = CudaArray.empty((grad_out.shape[1],), grad_out.dtype)
    kernels("conv2d").conv2d_backward_bias(_numba(grad_planes), _numba(grad_bias))
    return grad_bias


def max_pool2d_forward(x, geometry, output_size):
    shape = x.shape[:2] + output_size
    out, indices = CudaArray.empty(shape, x.dtype), CudaArray.empty(shape, np.int64)
    if out.size:
        kernels("pool").max_pool2d_forward(_contiguous(x), *geometry, _numba(out), _numba(indices))
    return out, indices


def max_pool2d_backward(grad_out, indices, input_shape):
    grad_x = CudaArray.empty(input_shape, grad_out.dtype)
    if grad_x.size:
        kernels("pool").max_pool2d_backward(_contiguous(grad_out), _contiguous(indices), _numba(grad_x))
    return grad_x


def avg_pool2d_forward(x, geometry, output_size, count_include_pad):
    out = CudaArray.empty(x.shape[:2] + output_size, x.dtype)
    if out.size:
        kernels("pool").avg_pool2d_forward(_contiguous(x), *geometry, count_include_pad, _numba(out))
    return out


def avg_pool2d_backward(grad_out, geometry, input_shape, count_include_pad):
    grad_x = CudaArray.empty(input_shape, grad_out.dtype)
    if grad_x.size:
        kernels("pool").avg_pool2d_backward(_contiguous(grad_out), *geometry, count_include_pad,
                                                 _numba(grad_x))
    return grad_x


# --- optimizer updates (flat, contiguous arrays, updated in place) --------------------------------

_unused_buffers = {}


def _buffer_or_placeholder(buffer, like):
    if buffer is not None:
        return _numba(buffer)
    placeholder = _unused_buffers.get(like.dtype)
    if placeholder is None:
        placeholder = _unused_buffers[like.dtype] = _numba(CudaArray.empty((0,), like.dtype))
    return placeholder


def sgd_update(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov, first_step, maximize):
    kernels("optim").sgd_update(_numba(param), _numba(grad), _buffer_or_placeholder(momentum_buffer, param),
                                     float(lr), float(weight_decay), float(momentum), float(dampening),
                                     bool(nesterov), bool(first_step), bool(maximize))


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale,
                step_size, bias_correction2_sqrt, maximize):
    kernels("optim").adam_update(_numba(param), _numba(grad), _numba(exp_avg), _numba(exp_avg_sq),
                                      _buffer_or_placeholder(max_exp_avg_sq, param), float(beta1), float(beta2),
                                      float(eps), float(weight_decay), float(param_scale), float(step_size),
                                      float(bias_correction2_sqrt), max_exp_avg_sq is not None, bool(maximize))


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay, momentum,
                   maximize):
    kernels("optim").rmsprop_update(_numba(param), _numba(grad), _numba(square_avg),
                                         _buffer_or_placeholder(grad_avg, param),
                                         _buffer_or_placeholder(momentum_buffer, param), float(lr), float(alpha),
                                         float(eps), float(weight_decay), float(momentum), grad_avg is not None,
                                         bool(maximize))


def adagrad_update(param, grad, state_sum, lr, eps, weight_decay, maximize):
    kernels("optim").adagrad_update(_numba(param), _numba(grad), _numba(state_sum), float(lr), float(eps),
                                         float(weight_decay), bool(maximize))


def adadelta_update(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    kernels("optim").adadelta_update(_numba(param), _numba(grad), _numba(square_avg), _numba(acc_delta), float(lr),
                                     float(rho), float(eps), float(weight_decay), bool(maximize))


def nadam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale, bias_correction2,
                 grad_coefficient, exp_avg_coefficient, maximize):
    kernels("optim").nadam_update(_numba(param), _numba(grad), _numba(exp_avg), _numba(exp_avg_sq), float(beta1),
                                  float(beta2), float(eps), float(weight_decay), float(param_scale),
                                  float(bias_correction2), float(grad_coefficient), float(exp_avg_coefficient),
                                  bool(maximize))


def radam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale, step_size, rectified,
                 maximize):
    kernels("optim").radam_update(_numba(param), _numba(grad), _numba(exp_avg), _numba(exp_avg_sq), float(beta1),
                                  float(beta2), float(eps), float(weight_decay), float(param_scale), float(step_size),
                                  bool(rectified), bool(maximize))


def adamax_update(param, grad, exp_avg, exp_inf, beta1, beta2, eps, weight_decay, step_size, maximize):
    kernels("optim").adamax_update(_numba(param), _numba(grad), _numba(exp_avg), _numba(exp_inf), float(beta1),
                                   float(beta2), float(eps), float(weight_decay), float(step_size), bool(maximize))
