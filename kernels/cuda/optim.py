"""Fused optimizer updates on the GPU: one in-place pass over a flat parameter, its gradient and its state.

Scheme: one thread per element in a grid-stride loop (``THREADS_PER_BLOCK`` threads a block, at
most ``MAX_BLOCKS`` blocks; past that each thread walks on by the grid's width). Each thread reads
its element of every array it needs once and writes its element of the parameter and of each
state buffer once; elements never talk to each other, so there is no shared memory, no reduction
and no synchronisation. The update rules are those of kernels/cpu/optim.py, line for line.

Scalars: the entry points round the Python-float hyperparameters to the parameter's dtype on the
host, as the CPU kernels do before their loops (``one_minus_*`` terms are formed in double first,
as there), so a float32 update runs entirely in float32 arithmetic, which GPUs do many times
faster than float64. Flags arrive as Python bools. A state buffer that the flags leave unused
(no momentum, no amsgrad, not centered) comes as a zero-length placeholder: the kernel reads it
only under the flag that says it is used.

Performance: an update does a handful of flops per element and moves 3 to 6 arrays through
memory, so it is bandwidth-bound. Adam on the reference CNN's 3.27 M float32 parameters moves
about 6 * 4 B * 3.27 M = 78 MB; on an H100 (about 3 TB/s) that is some 30 µs a step, against
milliseconds for the same pass on two CPU cores.
"""
import math

from numba import boolean, cuda, float32, float64

# The entry points the backend calls: the same names and arguments as kernels/cpu/optim.py.
__all__ = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update",  # noqa: RUF022
           "nadam_update", "radam_update", "adamax_update"]  # (the CPU order)

THREADS_PER_BLOCK = 256
# About what an H100 keeps resident at once (132 multiprocessors, 8 blocks of 256 threads each).
MAX_BLOCKS = 1024


def blocks_for(size):
    """Enough blocks for one thread per element, at most MAX_BLOCKS (the loops stride past that)."""
    return min(math.ceil(size / THREADS_PER_BLOCK), MAX_BLOCKS)


# --- SGD ------------------------------------------------------------------------------------------

@cuda.jit
def sgd_kernel(param, grad, momentum_buffer, lr, weight_decay, momentum, one_minus_dampening, nesterov,
               first_step, maximize):
    """g = grad + wd*p;  b = g (first step) or momentum*b + (1-dampening)*g;  p -= lr * (g + momentum*b if nesterov else b)."""
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        gradient = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            gradient += weight_decay * param[i]
        if momentum != 0:  # only then is momentum_buffer a real buffer
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


def sgd_update(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov, first_step,
               maximize):
    """SGD with optional weight decay, (Nesterov) momentum and dampening, in place on device arrays."""
    if param.size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to update
    cast = param.dtype.type
    sgd_kernel[blocks_for(param.size), THREADS_PER_BLOCK](
        param, grad, momentum_buffer, cast(lr), cast(weight_decay), cast(momentum), cast(1.0 - dampening),
        bool(nesterov), bool(first_step), bool(maximize))


# --- Adam and AdamW -------------------------------------------------------------------------------

@cuda.jit
def adam_kernel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps,
                weight_decay, param_scale, step_size, bias_correction2_sqrt, amsgrad, maximize):
    """m = lerp(m, g, 1-b1);  v = b2*v + (1-b2)*g²;  p = p*param_scale - step_size * m / (sqrt(v)/bias_correction2_sqrt + eps)."""
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        gradient = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            gradient += weight_decay * param[i]
        # exp_avg.lerp(grad, 1 - beta1), written as PyTorch's lerp computes it for weights below 1/2
        first_moment = exp_avg[i] + one_minus_beta1 * (gradient - exp_avg[i])
        second_moment = beta2 * exp_avg_sq[i] + one_minus_beta2 * gradient * gradient
        exp_avg[i] = first_moment
        exp_avg_sq[i] = second_moment
        if amsgrad:  # only then is max_exp_avg_sq a real buffer
            # max(running maximum, v) as Numba computes it on the CPU, spelled out: the built-in
            # max() in a CUDA kernel compiles a device function, which wants a GPU to compile for.
            largest = max_exp_avg_sq[i]
            if second_moment > largest:  # noqa: PLR1730 (see above)
                largest = second_moment
            second_moment = largest
            max_exp_avg_sq[i] = second_moment
        denominator = math.sqrt(second_moment) / bias_correction2_sqrt + eps
        param[i] = param[i] * param_scale - step_size * (first_moment / denominator)


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale,
                step_size, bias_correction2_sqrt, amsgrad, maximize):
    """Adam / AdamW (``weight_decay`` 0 and ``param_scale = 1 - lr*wd``), optionally amsgrad, in place.

    ``step_size = lr / (1 - b1^t)``, ``bias_correction2_sqrt = sqrt(1 - b2^t)``, as in the CPU kernel.
    """
    if param.size == 0:
        return
    cast = param.dtype.type
    adam_kernel[blocks_for(param.size), THREADS_PER_BLOCK](
        param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, cast(1.0 - beta1), cast(beta2), cast(1.0 - beta2),
        cast(eps), cast(weight_decay), cast(param_scale), cast(step_size), cast(bias_correction2_sqrt),
        bool(amsgrad), bool(maximize))


# --- RMSprop --------------------------------------------------------------------------------------

@cuda.jit
def rmsprop_kernel(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, one_minus_alpha, eps,
                   weight_decay, momentum, centered, maximize):
    """s = alpha*s + (1-alpha)*g²;  d = sqrt(s - mean(g)² if centered else s) + eps;  p -= lr * (b = momentum*b + g/d if momentum else g/d)."""
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        gradient = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            gradient += weight_decay * param[i]
        mean_square = alpha * square_avg[i] + one_minus_alpha * gradient * gradient
        square_avg[i] = mean_square
        if centered:  # only then is grad_avg a real buffer
            mean = grad_avg[i] + one_minus_alpha * (gradient - grad_avg[i])
            grad_avg[i] = mean
            mean_square -= mean * mean  # the variance of the gradient instead of its second moment
        scaled = gradient / (math.sqrt(mean_square) + eps)
        if momentum > 0:  # only then is momentum_buffer a real buffer
            scaled = momentum * momentum_buffer[i] + scaled
            momentum_buffer[i] = scaled
        param[i] -= lr * scaled


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay, momentum,
                   centered, maximize):
    """RMSprop, optionally centered and with momentum, in place on device arrays."""
    if param.size == 0:
        return
    cast = param.dtype.type
    rmsprop_kernel[blocks_for(param.size), THREADS_PER_BLOCK](
        param, grad, square_avg, grad_avg, momentum_buffer, cast(lr), cast(alpha), cast(1.0 - alpha), cast(eps),
        cast(weight_decay), cast(momentum), bool(centered), bool(maximize))


# --- Adagrad --------------------------------------------------------------------------------------

@cuda.jit
def adagrad_kernel(param, grad, state_sum, lr, eps, weight_decay, maximize):
    """sum += g²;  p -= lr * g / (sqrt(sum) + eps)."""
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        gradient = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            gradient += weight_decay * param[i]
        accumulated = state_sum[i] + gradient * gradient
        state_sum[i] = accumulated
        param[i] -= lr * (gradient / (math.sqrt(accumulated) + eps))


def adagrad_update(param, grad, state_sum, lr, eps, weight_decay, maximize):
    """Adagrad in place; ``lr`` already decayed: lr / (1 + (t-1)*lr_decay)."""
    if param.size == 0:
        return
    cast = param.dtype.type
    adagrad_kernel[blocks_for(param.size), THREADS_PER_BLOCK](
        param, grad, state_sum, cast(lr), cast(eps), cast(weight_decay), bool(maximize))


# --- Adadelta -------------------------------------------------------------------------------------

@cuda.jit
def adadelta_kernel(param, grad, square_avg, acc_delta, lr, rho, one_minus_rho, eps, weight_decay, maximize):
    """s = rho*s + (1-rho)*g²;  d = sqrt(a + eps) / sqrt(s + eps) * g;  a = rho*a + (1-rho)*d²;  p -= lr * d."""
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        gradient = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            gradient += weight_decay * param[i]
        mean_square = rho * square_avg[i] + one_minus_rho * gradient * gradient
        square_avg[i] = mean_square
        # The step in the parameter's own units: RMS of past steps over RMS of gradients, times g.
        delta = math.sqrt(acc_delta[i] + eps) / math.sqrt(mean_square + eps) * gradient
        acc_delta[i] = rho * acc_delta[i] + one_minus_rho * delta * delta
        param[i] -= lr * delta


def adadelta_update(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    """Adadelta in place on device arrays."""
    if param.size == 0:
        return
    cast = param.dtype.type
    adadelta_kernel[blocks_for(param.size), THREADS_PER_BLOCK](
        param, grad, square_avg, acc_delta, cast(lr), cast(rho), cast(1.0 - rho), cast(eps), cast(weight_decay),
        bool(maximize))


# --- NAdam ----------------------------------------------------------------------------------------

@cuda.jit
def nadam_kernel(param, grad, exp_avg, exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay,
                 param_scale, inverse_bias_correction2, grad_coefficient, exp_avg_coefficient, maximize):
    """m = lerp(m, g, 1-b1);  v = b2*v + (1-b2)*g²;  p = p*param_scale - (cg*g + cm*m) / (sqrt(v/bias_correction2) + eps)."""
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        gradient = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            gradient += weight_decay * param[i]
        first_moment = exp_avg[i] + one_minus_beta1 * (gradient - exp_avg[i])  # lerp, as in adam_kernel
        second_moment = beta2 * exp_avg_sq[i] + one_minus_beta2 * gradient * gradient
        exp_avg[i] = first_moment
        exp_avg_sq[i] = second_moment
        denominator = math.sqrt(second_moment * inverse_bias_correction2) + eps
        # Nesterov's look-ahead: this step's gradient and the next step's momentum, each with its own rate.
        update = grad_coefficient * gradient + exp_avg_coefficient * first_moment
        param[i] = param[i] * param_scale - update / denominator


def nadam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale,
                 bias_correction2, grad_coefficient, exp_avg_coefficient, maximize):
    """NAdam in place; the coefficients of the momentum schedule as in the CPU kernel."""
    if param.size == 0:
        return
    cast = param.dtype.type
    nadam_kernel[blocks_for(param.size), THREADS_PER_BLOCK](
        param, grad, exp_avg, exp_avg_sq, cast(1.0 - beta1), cast(beta2), cast(1.0 - beta2), cast(eps),
        cast(weight_decay), cast(param_scale), cast(1.0 / bias_correction2), cast(grad_coefficient),
        cast(exp_avg_coefficient), bool(maximize))


# --- RAdam ----------------------------------------------------------------------------------------

@cuda.jit
def radam_kernel(param, grad, exp_avg, exp_avg_sq, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay,
                 param_scale, step_size, rectified, maximize):
    """m = lerp(m, g, 1-b1);  v = b2*v + (1-b2)*g²;  p = p*param_scale - step_size * (m / (sqrt(v) + eps) if rectified else m)."""
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        gradient = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            gradient += weight_decay * param[i]
        first_moment = exp_avg[i] + one_minus_beta1 * (gradient - exp_avg[i])  # lerp, as in adam_kernel
        second_moment = beta2 * exp_avg_sq[i] + one_minus_beta2 * gradient * gradient
        exp_avg[i] = first_moment
        exp_avg_sq[i] = second_moment
        if rectified:
            first_moment = first_moment / (math.sqrt(second_moment) + eps)
        param[i] = param[i] * param_scale - step_size * first_moment


def radam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale, step_size,
                 rectified, maximize):
    """RAdam in place; ``step_size`` holds the bias corrections and the rectification, as in the CPU kernel."""
    if param.size == 0:
        return
    cast = param.dtype.type
    radam_kernel[blocks_for(param.size), THREADS_PER_BLOCK](
        param, grad, exp_avg, exp_avg_sq, cast(1.0 - beta1), cast(beta2), cast(1.0 - beta2), cast(eps),
        cast(weight_decay), cast(param_scale), cast(step_size), bool(rectified), bool(maximize))


# --- Adamax ---------------------------------------------------------------------------------------

@cuda.jit
def adamax_kernel(param, grad, exp_avg, exp_inf, one_minus_beta1, beta2, eps, weight_decay, step_size, maximize):
    """m = lerp(m, g, 1-b1);  u = max(b2*u, |g| + eps);  p -= step_size * m / u."""
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        gradient = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            gradient += weight_decay * param[i]
        first_moment = exp_avg[i] + one_minus_beta1 * (gradient - exp_avg[i])  # lerp, as in adam_kernel
        exp_avg[i] = first_moment
        decayed = beta2 * exp_inf[i]
        magnitude = math.fabs(gradient) + eps
        # torch.maximum: a NaN on either side wins; spelled out for the reason given in adam_kernel.
        norm = decayed
        if magnitude > decayed or magnitude != magnitude:  # noqa: PLR1730, PLR0124
            norm = magnitude
        exp_inf[i] = norm
        param[i] -= step_size * (first_moment / norm)


def adamax_update(param, grad, exp_avg, exp_inf, beta1, beta2, eps, weight_decay, step_size, maximize):
    """Adamax in place; ``step_size = lr / (1 - b1^t)``."""
    if param.size == 0:
        return
    cast = param.dtype.type
    adamax_kernel[blocks_for(param.size), THREADS_PER_BLOCK](
        param, grad, exp_avg, exp_inf, cast(1.0 - beta1), cast(beta2), cast(eps), cast(weight_decay),
        cast(step_size), bool(maximize))


# --- the argument types tests/test_cuda_kernels.py compiles every kernel for ----------------------

def _signatures(arrays, scalars, flags):
    """float32 and float64 variants: ``arrays`` vectors, then ``scalars`` of the same dtype, then bools."""
    return [(dtype[:],) * arrays + (dtype,) * scalars + (boolean,) * flags for dtype in (float32, float64)]


PTX_SIGNATURES = {
    "sgd_kernel": _signatures(arrays=3, scalars=4, flags=3),
    "adam_kernel": _signatures(arrays=5, scalars=8, flags=2),
    "rmsprop_kernel": _signatures(arrays=5, scalars=6, flags=2),
    "adagrad_kernel": _signatures(arrays=3, scalars=3, flags=1),
    "adadelta_kernel": _signatures(arrays=4, scalars=5, flags=1),
    "nadam_kernel": _signatures(arrays=4, scalars=9, flags=1),
    "radam_kernel": _signatures(arrays=4, scalars=7, flags=2),
    "adamax_kernel": _signatures(arrays=4, scalars=5, flags=1),
}
