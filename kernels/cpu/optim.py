"""Fused optimizer updates: one in-place pass over a flat parameter, its gradient and its state.

Every kernel reads each element of its arrays once and writes each output element once, so an
update costs what moving its arrays through memory costs: no temporaries, no second pass. The
arrays are flat (1-D, contiguous) and share one dtype; scalar hyperparameters arrive as Python
floats (double) and are rounded to that dtype once, before the loop, as PyTorch does, so float32
updates run in float32 SIMD lanes. A buffer that the chosen options leave unused (no momentum, no
amsgrad) may be any array of the dtype: it is never touched.

Each kernel's element math lives in an ``*_at(i, ...)`` helper that its two loops share: a ``prange``
for large arrays, a serial loop below ``SERIAL_BELOW`` elements, where waking the threads would
cost more than the loop itself (a bias of a few dozen values).
"""
import math

import numba
from numba import prange

from .preset import cpu_kernel

# The entry points the backend calls; kernels/cuda/optim.py has the same names and arguments.
__all__ = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update"]

SERIAL_BELOW = 4096

# The element helpers are inlined as Numba IR into the kernel that calls them (not called as
# compiled functions, as ``serial_kernel`` helpers are): the caller's flags then apply to them, so
# the parallel loop vectorises and the bounds-checked twin checks their indexing too.
element_math = numba.njit(inline="always")


# --- SGD ------------------------------------------------------------------------------------------

@element_math
def sgd_at(i, param, grad, momentum_buffer, lr, weight_decay, momentum, one_minus_dampening, nesterov,
           first_step):
    gradient = grad[i]
    if weight_decay != 0:
        gradient += weight_decay * param[i]
    if momentum != 0:
        # PyTorch's first step takes the gradient itself as the buffer, without dampening.
        if first_step:
            buffered = gradient
        else:
            buffered = momentum * momentum_buffer[i] + one_minus_dampening * gradient
        momentum_buffer[i] = buffered
        if nesterov:
            gradient = gradient + momentum * buffered
        else:
            gradient = buffered
    param[i] -= lr * gradient


@cpu_kernel
def sgd_update(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov, first_step):
    """g = grad + wd*p;  b = g (first step) or momentum*b + (1-dampening)*g;  p -= lr * (g + momentum*b if nesterov else b)."""
    cast = param.dtype.type
    lr, weight_decay, momentum = cast(lr), cast(weight_decay), cast(momentum)
    one_minus_dampening = cast(1.0 - dampening)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            sgd_at(i, param, grad, momentum_buffer, lr, weight_decay, momentum, one_minus_dampening, nesterov,
                   first_step)
    else:
        for i in prange(size):
            sgd_at(i, param, grad, momentum_buffer, lr, weight_decay, momentum, one_minus_dampening, nesterov,
                   first_step)


# --- Adam and AdamW -------------------------------------------------------------------------------

@element_math
def adam_at(i, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps,
            weight_decay, param_scale, step_size, bias_correction2_sqrt, amsgrad):
    gradient = grad[i]
    if weight_decay != 0:
        gradient += weight_decay * param[i]
    # exp_avg.lerp(grad, 1 - beta1), written as PyTorch's lerp computes it for weights below 1/2
    first_moment = exp_avg[i] + one_minus_beta1 * (gradient - exp_avg[i])
    second_moment = beta2 * exp_avg_sq[i] + one_minus_beta2 * gradient * gradient
    exp_avg[i] = first_moment
    exp_avg_sq[i] = second_moment
    if amsgrad:
        second_moment = max(max_exp_avg_sq[i], second_moment)
        max_exp_avg_sq[i] = second_moment
    denominator = math.sqrt(second_moment) / bias_correction2_sqrt + eps
    param[i] = param[i] * param_scale - step_size * (first_moment / denominator)


@cpu_kernel
def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale,
                step_size, bias_correction2_sqrt, amsgrad):
    """m = lerp(m, g, 1-b1);  v = b2*v + (1-b2)*g²;  p = p*param_scale - step_size * m / (sqrt(v)/bias_correction2_sqrt + eps).

    ``g = grad + weight_decay * p`` (Adam's L2 term; pass 0 for AdamW, whose decoupled decay is
    ``param_scale = 1 - lr*wd``). With ``amsgrad``, v in the denominator is the running maximum
    kept in ``max_exp_avg_sq``. ``step_size = lr / (1 - b1^t)``, ``bias_correction2_sqrt = sqrt(1 - b2^t)``.
    """
    cast = param.dtype.type
    one_minus_beta1, one_minus_beta2 = cast(1.0 - beta1), cast(1.0 - beta2)
    beta2, eps, weight_decay = cast(beta2), cast(eps), cast(weight_decay)
    param_scale, step_size, bias_correction2_sqrt = cast(param_scale), cast(step_size), cast(bias_correction2_sqrt)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            adam_at(i, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2,
                    eps, weight_decay, param_scale, step_size, bias_correction2_sqrt, amsgrad)
    else:
        for i in prange(size):
            adam_at(i, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2,
                    eps, weight_decay, param_scale, step_size, bias_correction2_sqrt, amsgrad)


# --- RMSprop --------------------------------------------------------------------------------------

@element_math
def rmsprop_at(i, param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, one_minus_alpha, eps,
               weight_decay, momentum, centered):
    gradient = grad[i]
    if weight_decay != 0:
        gradient += weight_decay * param[i]
    mean_square = alpha * square_avg[i] + one_minus_alpha * gradient * gradient
    square_avg[i] = mean_square
    if centered:
        mean = grad_avg[i] + one_minus_alpha * (gradient - grad_avg[i])
        grad_avg[i] = mean
        mean_square -= mean * mean  # the variance of the gradient instead of its second moment
    scaled = gradient / (math.sqrt(mean_square) + eps)
    if momentum > 0:
        scaled = momentum * momentum_buffer[i] + scaled
        momentum_buffer[i] = scaled
    param[i] -= lr * scaled


@cpu_kernel
def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay, momentum,
                   centered):
    """s = alpha*s + (1-alpha)*g²;  d = sqrt(s - mean(g)² if centered else s) + eps;  p -= lr * (b = momentum*b + g/d if momentum else g/d)."""
    cast = param.dtype.type
    one_minus_alpha = cast(1.0 - alpha)
    lr, alpha, eps, weight_decay, momentum = cast(lr), cast(alpha), cast(eps), cast(weight_decay), cast(momentum)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            rmsprop_at(i, param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, one_minus_alpha, eps,
                       weight_decay, momentum, centered)
    else:
        for i in prange(size):
            rmsprop_at(i, param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, one_minus_alpha, eps,
                       weight_decay, momentum, centered)


# --- Adagrad --------------------------------------------------------------------------------------

@element_math
def adagrad_at(i, param, grad, state_sum, lr, eps, weight_decay):
    gradient = grad[i]
    if weight_decay != 0:
        gradient += weight_decay * param[i]
    accumulated = state_sum[i] + gradient * gradient
    state_sum[i] = accumulated
    param[i] -= lr * (gradient / (math.sqrt(accumulated) + eps))


@cpu_kernel
def adagrad_update(param, grad, state_sum, lr, eps, weight_decay):
    """sum += g²;  p -= lr * g / (sqrt(sum) + eps)  (``lr`` already decayed: lr / (1 + (t-1)*lr_decay))."""
    cast = param.dtype.type
    lr, eps, weight_decay = cast(lr), cast(eps), cast(weight_decay)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            adagrad_at(i, param, grad, state_sum, lr, eps, weight_decay)
    else:
        for i in prange(size):
            adagrad_at(i, param, grad, state_sum, lr, eps, weight_decay)
