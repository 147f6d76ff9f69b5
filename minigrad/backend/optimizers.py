"""The fused optimizer updates."""
import numpy as np

from .routing import kernels, on_either_device


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
