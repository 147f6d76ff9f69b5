"""The fused optimizer kernels against plain NumPy updates, and against their bounds-checked twins."""
import numpy as np
import pytest
from minigrad.kernels.cpu import optim as kernels
from minigrad.kernels.cpu.preset import checked_twin

# float32: a few roundings of values of order 1, so an absolute floor where an update cancels.
TOLERANCES = {np.float32: {"rtol": 2e-6, "atol": 1e-6}, np.float64: {"rtol": 1e-13, "atol": 1e-15}}
# Both sides of SERIAL_BELOW, and an odd size that leaves a remainder after the SIMD lanes.
SIZES = [1, 7, kernels.SERIAL_BELOW - 1, kernels.SERIAL_BELOW, 10_007]
DTYPES = [np.float32, np.float64]


def arrays(size, dtype, count, seed=0, positive=()):
    """``count`` random arrays; those at the indices in ``positive`` are non-negative (second moments)."""
    generator = np.random.default_rng(seed)
    made = []
    for index in range(count):
        values = generator.standard_normal(size)
        made.append((np.abs(values) if index in positive else values).astype(dtype))
    return made


def rmsprop_arrays(size, dtype):
    param, grad, square_avg, grad_avg, buffer = arrays(size, dtype, 5, positive=(2,))
    # A mean square is at least its mean squared; the margin keeps the variance from cancelling
    # to a few ulps, where the float32 kernel and the float64 reference would rightly disagree.
    square_avg += 1 + grad_avg * grad_avg
    return param, grad, square_avg, grad_avg, buffer


def unused(dtype):
    return np.empty(0, dtype)


# --- NumPy references, in float64 ---------------------------------------------------------------

def sgd_reference(param, grad, buffer, lr, weight_decay, momentum, dampening, nesterov, first_step, maximize):
    param, grad, buffer = (np.asarray(a, np.float64) for a in (param, grad, buffer))
    grad = (-grad if maximize else grad) + weight_decay * param
    if momentum != 0:
        buffer = grad.copy() if first_step else momentum * buffer + (1 - dampening) * grad
        grad = grad + momentum * buffer if nesterov else buffer
    return param - lr * grad, buffer


def adam_reference(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale,
                   step_size, bias_correction2_sqrt, amsgrad, maximize):
    param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq = (
        np.asarray(a, np.float64) for a in (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq))
    grad = (-grad if maximize else grad) + weight_decay * param
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
    second = exp_avg_sq
    if amsgrad:
        max_exp_avg_sq = np.maximum(max_exp_avg_sq, exp_avg_sq)
        second = max_exp_avg_sq
    param = param * param_scale - step_size * exp_avg / (np.sqrt(second) / bias_correction2_sqrt + eps)
    return param, exp_avg, exp_avg_sq, max_exp_avg_sq


def rmsprop_reference(param, grad, square_avg, grad_avg, buffer, lr, alpha, eps, weight_decay, momentum, centered,
                      maximize):
    param, grad, square_avg, grad_avg, buffer = (
        np.asarray(a, np.float64) for a in (param, grad, square_avg, grad_avg, buffer))
    grad = (-grad if maximize else grad) + weight_decay * param
    square_avg = alpha * square_avg + (1 - alpha) * grad**2
    variance = square_avg
    if centered:
        grad_avg = alpha * grad_avg + (1 - alpha) * grad
        variance = square_avg - grad_avg**2
    scaled = grad / (np.sqrt(variance) + eps)
    if momentum > 0:
        buffer = momentum * buffer + scaled
        scaled = buffer
    return param - lr * scaled, square_avg, grad_avg, buffer


def adagrad_reference(param, grad, state_sum, lr, eps, weight_decay, maximize):
    param, grad, state_sum = (np.asarray(a, np.float64) for a in (param, grad, state_sum))
    grad = (-grad if maximize else grad) + weight_decay * param
    state_sum = state_sum + grad**2
    return param - lr * grad / (np.sqrt(state_sum) + eps), state_sum


def adadelta_reference(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    param, grad, square_avg, acc_delta = (np.asarray(a, np.float64) for a in (param, grad, square_avg, acc_delta))
    grad = (-grad if maximize else grad) + weight_decay * param
    square_avg = rho * square_avg + (1 - rho) * grad**2
    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
    acc_delta = rho * acc_delta + (1 - rho) * delta**2
    return param - lr * delta, square_avg, acc_delta


def nadam_reference(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale, bias_correction2,
                    grad_coefficient, exp_avg_coefficient, maximize):
    param, grad, exp_avg, exp_avg_sq = (np.asarray(a, np.float64) for a in (param, grad, exp_avg, exp_avg_sq))
    grad = (-grad if maximize else grad) + weight_decay * param
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    denominator = np.sqrt(exp_avg_sq / bias_correction2) + eps
    param = param * param_scale - (grad_coefficient * grad + exp_avg_coefficient * exp_avg) / denominator
    return param, exp_avg, exp_avg_sq


def radam_reference(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale, step_size,
                    rectified, maximize):
    param, grad, exp_avg, exp_avg_sq = (np.asarray(a, np.float64) for a in (param, grad, exp_avg, exp_avg_sq))
    grad = (-grad if maximize else grad) + weight_decay * param
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad**2
    update = exp_avg / (np.sqrt(exp_avg_sq) + eps) if rectified else exp_avg
    return param * param_scale - step_size * update, exp_avg, exp_avg_sq


def adamax_reference(param, grad, exp_avg, exp_inf, beta1, beta2, eps, weight_decay, step_size, maximize):
    param, grad, exp_avg, exp_inf = (np.asarray(a, np.float64) for a in (param, grad, exp_avg, exp_inf))
    grad = (-grad if maximize else grad) + weight_decay * param
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_inf = np.maximum(beta2 * exp_inf, np.abs(grad) + eps)
    return param - step_size * exp_avg / exp_inf, exp_avg, exp_inf


# --- the kernels against them --------------------------------------------------------------------

SGD_OPTIONS = [  # lr, weight_decay, momentum, dampening, nesterov, first_step, maximize
    (0.1, 0.0, 0.0, 0.0, False, False, False),
    (0.1, 0.01, 0.9, 0.0, False, True, False),
    (0.1, 0.01, 0.9, 0.3, False, False, True),
    (0.05, 0.0, 0.9, 0.0, True, False, False),
    (0.05, 0.1, 0.5, 0.0, True, True, True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("options", SGD_OPTIONS)
def test_sgd_update_matches_numpy(dtype, size, options):
    param, grad, buffer = arrays(size, dtype, 3)
    expected_param, expected_buffer = sgd_reference(param, grad, buffer, *options)
    momentum = options[2]
    kernels.sgd_update(param, grad, buffer if momentum else unused(dtype), *options)
    np.testing.assert_allclose(param, expected_param, **TOLERANCES[dtype])
    if momentum:
        np.testing.assert_allclose(buffer, expected_buffer, **TOLERANCES[dtype])


ADAM_OPTIONS = [  # beta1, beta2, eps, weight_decay, param_scale, step_size, bias_correction2_sqrt, amsgrad, maximize
    (0.9, 0.999, 1e-8, 0.0, 1.0, 1e-3 / (1 - 0.9), (1 - 0.999) ** 0.5, False, False),
    (0.9, 0.999, 1e-8, 0.1, 1.0, 1e-2 / (1 - 0.9**3), (1 - 0.999**3) ** 0.5, True, True),
    (0.8, 0.99, 1e-6, 0.0, 1 - 1e-2 * 0.1, 1e-2 / (1 - 0.8**7), (1 - 0.99**7) ** 0.5, False, True),
    (0.0, 0.5, 1e-3, 0.0, 0.99, 0.1, 0.5, True, False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("options", ADAM_OPTIONS)
def test_adam_update_matches_numpy(dtype, size, options):
    param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq = arrays(size, dtype, 5, positive=(3, 4))
    expected = adam_reference(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *options)
    amsgrad = options[-2]
    kernels.adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq if amsgrad else unused(dtype), *options)
    for actual, wanted in zip((param, exp_avg, exp_avg_sq, max_exp_avg_sq), expected):
        np.testing.assert_allclose(actual, wanted, **TOLERANCES[dtype])


RMSPROP_OPTIONS = [  # lr, alpha, eps, weight_decay, momentum, centered, maximize
    (0.01, 0.99, 1e-8, 0.0, 0.0, False, False),
    (0.01, 0.9, 1e-8, 0.1, 0.9, False, True),
    (0.01, 0.99, 1e-6, 0.0, 0.0, True, True),
    (0.001, 0.95, 1e-8, 0.01, 0.5, True, False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("options", RMSPROP_OPTIONS)
def test_rmsprop_update_matches_numpy(dtype, size, options):
    param, grad, square_avg, grad_avg, buffer = rmsprop_arrays(size, dtype)
    expected = rmsprop_reference(param, grad, square_avg, grad_avg, buffer, *options)
    momentum, centered = options[4], options[5]
    kernels.rmsprop_update(param, grad, square_avg, grad_avg if centered else unused(dtype),
                           buffer if momentum else unused(dtype), *options)
    outputs = [(param, expected[0]), (square_avg, expected[1])]
    outputs += [(grad_avg, expected[2])] if centered else []
    outputs += [(buffer, expected[3])] if momentum else []
    for actual, wanted in outputs:
        np.testing.assert_allclose(actual, wanted, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("options", [(0.01, 1e-10, 0.0, False), (0.1, 1e-6, 0.1, True)])
def test_adagrad_update_matches_numpy(dtype, size, options):
    param, grad, state_sum = arrays(size, dtype, 3, positive=(2,))
    expected_param, expected_sum = adagrad_reference(param, grad, state_sum, *options)
    kernels.adagrad_update(param, grad, state_sum, *options)
    np.testing.assert_allclose(param, expected_param, **TOLERANCES[dtype])
    np.testing.assert_allclose(state_sum, expected_sum, **TOLERANCES[dtype])


# Each row: the scalars after the arrays (options that cover every flag), and which arrays are
# non-negative state (square averages, norms).
NEW_KERNELS = {
    "adadelta_update": (adadelta_reference, (2, 3), [
        (1.0, 0.9, 1e-6, 0.0, False),
        (0.5, 0.8, 1e-4, 0.1, True),
        (2.0, 1.0, 1e-6, 0.01, False),  # rho = 1: the averages never move, the step still does
    ]),
    "nadam_update": (nadam_reference, (3,), [
        (0.9, 0.999, 1e-8, 0.0, 1.0, 1 - 0.999, 2e-3 * 0.55 / 0.6, 2e-3 * 0.45 / 0.8, False),
        (0.8, 0.99, 1e-6, 0.1, 1.0, 1 - 0.99**3, 0.01, 0.02, True),
        (0.9, 0.999, 1e-8, 0.0, 1 - 1e-2 * 0.1, 1 - 0.999**7, 0.003, 0.004, False),
    ]),
    "radam_update": (radam_reference, (3,), [
        (0.9, 0.999, 1e-8, 0.0, 1.0, 1e-3 / (1 - 0.9), False, False),
        (0.9, 0.999, 1e-8, 0.1, 1.0, 1e-3 * 0.2, True, False),
        (0.8, 0.9, 1e-6, 0.0, 0.999, 0.01, True, True),
    ]),
    "adamax_update": (adamax_reference, (3,), [
        (0.9, 0.999, 1e-8, 0.0, 2e-3 / (1 - 0.9), False),
        (0.8, 0.5, 1e-6, 0.1, 0.01, True),  # a fast decay: |g| + eps wins the maximum often
    ]),
}
NEW_KERNEL_CASES = [(name, options) for name, (_, _, rows) in NEW_KERNELS.items() for options in rows]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name, options", NEW_KERNEL_CASES,
                         ids=[f"{name}{row}" for name, (_, _, rows) in NEW_KERNELS.items() for row in range(len(rows))])
def test_adaptive_updates_match_numpy(name, options, dtype, size):
    reference, positive, _ = NEW_KERNELS[name]
    state = arrays(size, dtype, 4, positive=positive)
    expected = reference(*state, *options)
    getattr(kernels, name)(*state, *options)
    for position, (actual, wanted) in enumerate(zip([state[0], *state[2:]], expected)):
        np.testing.assert_allclose(actual, wanted, **TOLERANCES[dtype], err_msg=f"array {position}")


def test_float32_update_stays_float32():
    """Scalars are rounded to the arrays' dtype: float32 in, float32 math and storage out."""
    param, grad, state_sum = arrays(10, np.float32, 3, positive=(2,))
    kernels.adagrad_update(param, grad, state_sum, 0.1, 1e-10, 0.0, False)
    assert param.dtype == state_sum.dtype == np.float32


def test_zero_length_arrays_are_a_no_op():
    empty = np.empty(0, np.float32)
    kernels.adam_update(empty, empty, empty, empty, empty, 0.9, 0.999, 1e-8, 0.0, 1.0, 1e-3, 0.1, True, False)
    kernels.sgd_update(empty, empty, empty, 0.1, 0.0, 0.9, 0.0, False, True, False)
    for name, (_, _, rows) in NEW_KERNELS.items():
        getattr(kernels, name)(empty, empty, empty, empty, *rows[0])


# --- the bounds-checked twins: the same results, and no index out of range ------------------------

TWIN_CALLS = {
    "sgd_update": lambda dtype, size: (arrays(size, dtype, 3), (0.1, 0.01, 0.9, 0.1, False, False, True)),
    "adam_update": lambda dtype, size: (arrays(size, dtype, 5, positive=(3, 4)),
                                        (0.9, 0.999, 1e-8, 0.01, 1.0, 1e-3, 0.5, True, True)),
    "rmsprop_update": lambda dtype, size: (rmsprop_arrays(size, dtype), (0.01, 0.99, 1e-8, 0.0, 0.9, True, True)),
    "adagrad_update": lambda dtype, size: (arrays(size, dtype, 3, positive=(2,)), (0.01, 1e-10, 0.1, True)),
    **{name: (lambda dtype, size, name=name: (arrays(size, dtype, 4, positive=NEW_KERNELS[name][1]),
                                              NEW_KERNELS[name][2][1]))
       for name in NEW_KERNELS},
}


@pytest.mark.parametrize("name", sorted(TWIN_CALLS))
@pytest.mark.parametrize("size", [5, kernels.SERIAL_BELOW + 3])
def test_checked_twin_agrees(name, size):
    kernel = getattr(kernels, name)
    fast_arrays, scalars = TWIN_CALLS[name](np.float64, size)
    checked_arrays = [array.copy() for array in fast_arrays]
    kernel(*fast_arrays, *scalars)
    checked_twin(kernel)(*checked_arrays, *scalars)
    for fast, checked in zip(fast_arrays, checked_arrays):
        np.testing.assert_allclose(checked, fast, **TOLERANCES[np.float64])


def test_checked_twin_catches_a_short_buffer():
    param, grad, state_sum = arrays(10, np.float64, 3, positive=(2,))
    with pytest.raises(IndexError):
        checked_twin(kernels.adagrad_update)(param, grad, state_sum[:5], 0.1, 1e-10, 0.0, False)
