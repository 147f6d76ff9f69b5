"""Fused optimizer updates: one in-place pass over a flat parameter, its gradient and its state.

Every kernel reads each element of its arrays once and writes each output element once, so an
update costs what moving its arrays through memory costs: no temporaries, no second pass. The
arrays are flat (1-D, contiguous) and share one dtype; scalar hyperparameters arrive as Python
floats (double) and are rounded to that dtype once, before the loop, as PyTorch does, so float32
updates run in float32 SIMD lanes. A buffer that the chosen options leave unused (no momentum, no
amsgrad) may be any array of the dtype: it is never touched. With ``maximize`` every kernel
steps along the gradient instead of against it (g = -grad), as PyTorch's ``maximize=True``.

Each kernel's element math lives in an ``*_at(i, ...)`` helper that its two loops share: a ``prange``
for large arrays, a serial loop below ``SERIAL_BELOW`` elements, where waking the threads would
cost more than the loop itself (a bias of a few dozen values).
"""
import math

import numba
from numba import prange

from .preset import cpu_kernel

# The entry points the backend calls; kernels/cuda/optim.py has the same names and arguments.
__all__ = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update", "nadam_update",
           "radam_update", "adamax_update"]

SERIAL_BELOW = 4096

# The element helpers are inlined as Numba IR into the kernel that calls them (not called as
# compiled functions, as ``serial_kernel`` helpers are): the caller's flags then apply to them, so
# the parallel loop vectorises and the bounds-checked twin checks their indexing too.
element_math = numba.njit(inline="always")


# --- SGD ------------------------------------------------------------------------------------------

@element_math
def sgd_at(i, param, grad, momentum_buffer, lr, weight_decay, momentum, one_minus_dampening, nesterov,
           first_step, maximize):
    gradient = -grad[i] if maximize else grad[i]
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
def sgd_update(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov, first_step,
               maximize):
    """g = grad + wd*p;  b = g (first step) or momentum*b + (1-dampening)*g;  p -= lr * (g + momentum*b if nesterov else b)."""
    cast = param.dtype.type
    lr, weight_decay, momentum = cast(lr), cast(weight_decay), cast(momentum)
    one_minus_dampening = cast(1.0 - dampening)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            sgd_at(i, param, grad, momentum_buffer, lr, weight_decay, momentum, one_minus_dampening, nesterov,
                   first_step, maximize)
    else:
        for i in prange(size):
            sgd_at(i, param, grad, momentum_buffer, lr, weight_decay, momentum, one_minus_dampening, nesterov,
                   first_step, maximize)


# --- Adam and AdamW -------------------------------------------------------------------------------

@element_math
def adam_at(i, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps,
            weight_decay, param_scale, step_size, bias_correction2_sqrt, amsgrad, maximize):
    gradient = -grad[i] if maximize else grad[i]
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
                step_size, bias_correction2_sqrt, amsgrad, maximize):
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
                    eps, weight_decay, param_scale, step_size, bias_correction2_sqrt, amsgrad, maximize)
    else:
        for i in prange(size):
            adam_at(i, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2,
                    eps, weight_decay, param_scale, step_size, bias_correction2_sqrt, amsgrad, maximize)


# --- RMSprop --------------------------------------------------------------------------------------

@element_math
def rmsprop_at(i, param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, one_minus_alpha, eps,
               weight_decay, momentum, centered, maximize):
    gradient = -grad[i] if maximize else grad[i]
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
                   centered, maximize):
    """s = alpha*s + (1-alpha)*g²;  d = sqrt(s - mean(g)² if centered else s) + eps;  p -= lr * (b = momentum*b + g/d if momentum else g/d)."""
    cast = param.dtype.type
    one_minus_alpha = cast(1.0 - alpha)
    lr, alpha, eps, weight_decay, momentum = cast(lr), cast(alpha), cast(eps), cast(weight_decay), cast(momentum)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            rmsprop_at(i, param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, one_minus_alpha, eps,
                       weight_decay, momentum, centered, maximize)
    else:
        for i in prange(size):
            rmsprop_at(i, param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, one_minus_alpha, eps,
                       weight_decay, momentum, centered, maximize)


# --- Adagrad --------------------------------------------------------------------------------------

@element_math
def adagrad_at(i, param, grad, state_sum, lr, eps, weight_decay, maximize):
    gradient = -grad[i] if maximize else grad[i]
    if weight_decay != 0:
        gradient += weight_decay * param[i]
    accumulated = state_sum[i] + gradient * gradient
    state_sum[i] = accumulated
    param[i] -= lr * (gradient / (math.sqrt(accumulated) + eps))


@cpu_kernel
def adagrad_update(param, grad, state_sum, lr, eps, weight_decay, maximize):
    """sum += g²;  p -= lr * g / (sqrt(sum) + eps)  (``lr`` already decayed: lr / (1 + (t-1)*lr_decay))."""
    cast = param.dtype.type
    lr, eps, weight_decay = cast(lr), cast(eps), cast(weight_decay)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            adagrad_at(i, param, grad, state_sum, lr, eps, weight_decay, maximize)
    else:
        for i in prange(size):
            adagrad_at(i, param, grad, state_sum, lr, eps, weight_decay, maximize)


# --- Adadelta -------------------------------------------------------------------------------------

@element_math
def adadelta_at(i, param, grad, square_avg, acc_delta, lr, rho, one_minus_rho, eps, weight_decay, maximize):
    gradient = -grad[i] if maximize else grad[i]
    if weight_decay != 0:
        gradient += weight_decay * param[i]
    mean_square = rho * square_avg[i] + one_minus_rho * gradient * gradient
    square_avg[i] = mean_square
    # The step in the parameter's own units: RMS of past steps over RMS of gradients, times g.
    delta = math.sqrt(acc_delta[i] + eps) / math.sqrt(mean_square + eps) * gradient
    acc_delta[i] = rho * acc_delta[i] + one_minus_rho * delta * delta
    param[i] -= lr * delta


@cpu_kernel
def adadelta_update(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    """s = rho*s + (1-rho)*g²;  d = sqrt(a + eps) / sqrt(s + eps) * g;  a = rho*a + (1-rho)*d²;  p -= lr * d."""
    cast = param.dtype.type
    one_minus_rho = cast(1.0 - rho)
    lr, rho, eps, weight_decay = cast(lr), cast(rho), cast(eps), cast(weight_decay)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            adadelta_at(i, param, grad, square_avg, acc_delta, lr, rho, one_minus_rho, eps, weight_decay, maximize)
    else:
        for i in prange(size):
            adadelta_at(i, param, grad, square_avg, acc_delta, lr, rho, one_minus_rho, eps, weight_decay, maximize)


# --- NAdam ----------------------------------------------------------------------------------------

@element_math
def nadam_at(i, param, grad, exp_avg, exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay,
             param_scale, inverse_bias_correction2, grad_coefficient, exp_avg_coefficient, maximize):
    gradient = -grad[i] if maximize else grad[i]
    if weight_decay != 0:
        gradient += weight_decay * param[i]
    first_moment = exp_avg[i] + one_minus_beta1 * (gradient - exp_avg[i])  # lerp, as in adam_at
    second_moment = beta2 * exp_avg_sq[i] + one_minus_beta2 * gradient * gradient
    exp_avg[i] = first_moment
    exp_avg_sq[i] = second_moment
    denominator = math.sqrt(second_moment * inverse_bias_correction2) + eps
    # Nesterov's look-ahead: this step's gradient and the next step's momentum, each with its own rate.
    update = grad_coefficient * gradient + exp_avg_coefficient * first_moment
    param[i] = param[i] * param_scale - update / denominator


@cpu_kernel
def nadam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale,
                 bias_correction2, grad_coefficient, exp_avg_coefficient, maximize):
    """m = lerp(m, g, 1-b1);  v = b2*v + (1-b2)*g²;  p = p*param_scale - (cg*g + cm*m) / (sqrt(v/bias_correction2) + eps).

    ``cg = lr*(1-mu_t)/(1-prod mu_1..t)`` and ``cm = lr*mu_{t+1}/(1-prod mu_1..t+1)`` (the momentum
    schedule, computed by the optimizer); ``param_scale = 1 - lr*wd`` with decoupled weight decay,
    else ``g = grad + weight_decay * p``.
    """
    cast = param.dtype.type
    one_minus_beta1, one_minus_beta2 = cast(1.0 - beta1), cast(1.0 - beta2)
    beta2, eps, weight_decay, param_scale = cast(beta2), cast(eps), cast(weight_decay), cast(param_scale)
    inverse_bias_correction2 = cast(1.0 / bias_correction2)
    grad_coefficient, exp_avg_coefficient = cast(grad_coefficient), cast(exp_avg_coefficient)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            nadam_at(i, param, grad, exp_avg, exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay,
                     param_scale, inverse_bias_correction2, grad_coefficient, exp_avg_coefficient, maximize)
    else:
        for i in prange(size):
            nadam_at(i, param, grad, exp_avg, exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay,
                     param_scale, inverse_bias_correction2, grad_coefficient, exp_avg_coefficient, maximize)


# --- RAdam ----------------------------------------------------------------------------------------

@element_math
def radam_at(i, param, grad, exp_avg, exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay,
             param_scale, step_size, rectified, maximize):
    gradient = -grad[i] if maximize else grad[i]
    if weight_decay != 0:
        gradient += weight_decay * param[i]
    first_moment = exp_avg[i] + one_minus_beta1 * (gradient - exp_avg[i])  # lerp, as in adam_at
    second_moment = beta2 * exp_avg_sq[i] + one_minus_beta2 * gradient * gradient
    exp_avg[i] = first_moment
    exp_avg_sq[i] = second_moment
    if rectified:
        first_moment = first_moment / (math.sqrt(second_moment) + eps)
    param[i] = param[i] * param_scale - step_size * first_moment


@cpu_kernel
def radam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale, step_size,
                 rectified, maximize):
    """m = lerp(m, g, 1-b1);  v = b2*v + (1-b2)*g²;  p = p*param_scale - step_size * (m / (sqrt(v) + eps) if rectified else m).

    While the variance estimate is too short (the optimizer's rho_t <= 5) the step is plain
    momentum, ``step_size = lr / (1 - b1^t)``; after, ``step_size = lr * r_t * sqrt(1 - b2^t) / (1 - b1^t)``
    with the rectification r_t. ``param_scale``, ``weight_decay``: as in nadam_update.
    """
    cast = param.dtype.type
    one_minus_beta1, one_minus_beta2 = cast(1.0 - beta1), cast(1.0 - beta2)
    beta2, eps, weight_decay = cast(beta2), cast(eps), cast(weight_decay)
    param_scale, step_size = cast(param_scale), cast(step_size)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            radam_at(i, param, grad, exp_avg, exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay,
                     param_scale, step_size, rectified, maximize)
    else:
        for i in prange(size):
            radam_at(i, param, grad, exp_avg, exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay,
                     param_scale, step_size, rectified, maximize)


# --- Adamax ---------------------------------------------------------------------------------------

@element_math
def adamax_at(i, param, grad, exp_avg, exp_inf, one_minus_beta1, beta2, eps, weight_decay, step_size, maximize):
    gradient = -grad[i] if maximize else grad[i]
    if weight_decay != 0:
        gradient += weight_decay * param[i]
    first_moment = exp_avg[i] + one_minus_beta1 * (gradient - exp_avg[i])  # lerp, as in adam_at
    exp_avg[i] = first_moment
    decayed = beta2 * exp_inf[i]
    magnitude = abs(gradient) + eps
    # torch.maximum: a NaN on either side wins (a plain max() would drop one).
    norm = magnitude if (magnitude > decayed or magnitude != magnitude) else decayed
    exp_inf[i] = norm
    param[i] -= step_size * (first_moment / norm)


@cpu_kernel
def adamax_update(param, grad, exp_avg, exp_inf, beta1, beta2, eps, weight_decay, step_size, maximize):
    """m = lerp(m, g, 1-b1);  u = max(b2*u, |g| + eps);  p -= step_size * m / u  (``step_size = lr / (1 - b1^t)``)."""
    cast = param.dtype.type
    one_minus_beta1 = cast(1.0 - beta1)
    beta2, eps, weight_decay, step_size = cast(beta2), cast(eps), cast(weight_decay), cast(step_size)
    size = param.shape[0]
    if size < SERIAL_BELOW:
        for i in range(size):
            adamax_at(i, param, grad, exp_avg, exp_inf, one_minus_beta1, beta2, eps, weight_decay, step_size, maximize)
    else:
        for i in prange(size):
            adamax_at(i, param, grad, exp_avg, exp_inf, one_minus_beta1, beta2, eps, weight_decay, step_size, maximize)
