"""kernels/cuda/optim.py against kernels/cpu/optim.py: the same steps on the same arrays, state included.

Each test runs a few steps in a row, so that the state a step writes is what the next one reads.
Unused buffers are zero-length placeholders on both sides; the simulator checks bounds, so a
kernel that touched one would raise.
"""
import math

import numpy as np
import pytest
from minigrad.kernels.cpu import optim as cpu
from minigrad.kernels.cuda import optim as gpu
from numba import cuda

DTYPES = [np.float32, np.float64]
# float32: the CPU kernels contract multiply-adds (fastmath) and the simulator does not, so a few
# roundings apart per step; float64: the same formulas, so agreement to a few ulps.
TOLERANCES = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-14}}
# One element, and a full block of 256 threads followed by a partial one.
SIZES = [1, 300]
STEPS = 3


def random_arrays(size, dtype, count, positive=(), seed=0):
    """``count`` random arrays; those at the indices in ``positive`` are non-negative (second moments)."""
    generator = np.random.default_rng(seed)
    made = []
    for index in range(count):
        values = generator.standard_normal(size)
        made.append((np.abs(values) if index in positive else values).astype(dtype))
    return made


def run_both(name, arrays, unused, arguments_per_step):
    """Run the CPU and the CUDA ``name`` for every step's scalar arguments; compare every array after.

    ``arrays`` are the kernel's array arguments in order; those whose positions are in ``unused``
    are replaced by zero-length placeholders, as the backend passes them.
    """
    dtype = arrays[0].dtype.type
    host = [np.empty(0, dtype) if position in unused else array.copy() for position, array in enumerate(arrays)]
    device = [cuda.device_array(0, dtype) if position in unused else cuda.to_device(array)
              for position, array in enumerate(arrays)]
    for arguments in arguments_per_step:
        getattr(cpu, name)(*host, *arguments)
        getattr(gpu, name)(*device, *arguments)
    for position, (expected, got) in enumerate(zip(host, device)):
        got = got.copy_to_host()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, err_msg=f"{name} array {position}", **TOLERANCES[dtype])
    # The parameter moved: the comparison above is not between two untouched copies.
    assert not np.array_equal(host[0], arrays[0])


# --- SGD ------------------------------------------------------------------------------------------

SGD_OPTIONS = [  # momentum, dampening, nesterov, weight_decay, maximize
    (0.0, 0.0, False, 0.0, False),
    (0.0, 0.0, False, 0.01, True),
    (0.9, 0.0, False, 0.0, False),
    (0.9, 0.1, False, 0.01, True),
    (0.9, 0.0, True, 0.01, False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("momentum, dampening, nesterov, weight_decay, maximize", SGD_OPTIONS)
def test_sgd_matches_the_cpu_kernel(momentum, dampening, nesterov, weight_decay, maximize, size, dtype):
    arrays = random_arrays(size, dtype, 3)
    unused = () if momentum != 0 else (2,)
    steps = [(0.1, weight_decay, momentum, dampening, nesterov, step == 0, maximize) for step in range(STEPS)]
    run_both("sgd_update", arrays, unused, steps)


# --- Adam and AdamW -------------------------------------------------------------------------------

def adam_steps(lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize=False):
    """Each step's scalars as the optimizer computes them: bias corrections for t = 1, 2, ..."""
    steps = []
    for t in range(1, STEPS + 1):
        l2_term = 0.0 if decoupled_weight_decay else weight_decay
        param_scale = 1.0 - lr * weight_decay if decoupled_weight_decay else 1.0
        step_size = lr / (1 - beta1 ** t)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** t)
        steps.append((beta1, beta2, eps, l2_term, param_scale, step_size, bias_correction2_sqrt, amsgrad, maximize))
    return steps


ADAM_OPTIONS = [  # weight_decay, decoupled (AdamW), amsgrad, maximize
    (0.0, False, False, False),
    (0.01, False, False, True),
    (0.01, True, False, False),
    (0.0, False, True, True),
    (0.01, True, True, False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("weight_decay, decoupled, amsgrad, maximize", ADAM_OPTIONS)
def test_adam_matches_the_cpu_kernel(weight_decay, decoupled, amsgrad, maximize, size, dtype):
    arrays = random_arrays(size, dtype, 5, positive=(3, 4))
    arrays[4] += arrays[3]  # a running maximum is at least the second moment it started from
    unused = () if amsgrad else (4,)
    run_both("adam_update", arrays, unused,
             adam_steps(1e-2, 0.9, 0.999, 1e-8, weight_decay, decoupled, amsgrad, maximize))


# --- RMSprop --------------------------------------------------------------------------------------

RMSPROP_OPTIONS = [  # centered, momentum, weight_decay, maximize
    (False, 0.0, 0.0, False),
    (False, 0.9, 0.01, True),
    (True, 0.0, 0.01, True),
    (True, 0.9, 0.0, False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("centered, momentum, weight_decay, maximize", RMSPROP_OPTIONS)
def test_rmsprop_matches_the_cpu_kernel(centered, momentum, weight_decay, maximize, size, dtype):
    arrays = random_arrays(size, dtype, 5, positive=(2,))
    # A mean square is at least its mean squared; the margin keeps the centered variance from
    # cancelling to a few ulps, where two correct float32 kernels may rightly disagree.
    arrays[2] += 1 + arrays[3] * arrays[3]
    unused = tuple(position for position, used in ((3, centered), (4, momentum > 0)) if not used)
    steps = [(1e-2, 0.99, 1e-8, weight_decay, momentum, centered, maximize)] * STEPS
    run_both("rmsprop_update", arrays, unused, steps)


# --- Adagrad --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lr_decay, weight_decay, maximize", [(0.0, 0.0, False), (0.1, 0.01, True)])
def test_adagrad_matches_the_cpu_kernel(lr_decay, weight_decay, maximize, size, dtype):
    arrays = random_arrays(size, dtype, 3, positive=(2,))
    # The optimizer decays the rate before the call: lr / (1 + (t-1) * lr_decay) at step t.
    steps = [(1e-1 / (1 + (t - 1) * lr_decay), 1e-10, weight_decay, maximize) for t in range(1, STEPS + 1)]
    run_both("adagrad_update", arrays, (), steps)


# --- Adadelta, NAdam, RAdam, Adamax -----------------------------------------------------------------
# At 300 elements only (a full block and a partial one): the one-element grid is the same loop as
# above, and the simulator's threads are what these tests spend their time on.

def nadam_steps(beta1, beta2, eps, weight_decay, decoupled, maximize, lr=1e-2, momentum_decay=4e-3):
    """Each step's scalars as minigrad/optim/nadam.py computes them (the momentum schedule's product)."""
    steps, mu_product = [], 1.0
    for t in range(1, STEPS + 1):
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product *= mu
        steps.append((beta1, beta2, eps, 0.0 if decoupled else weight_decay,
                      1 - lr * weight_decay if decoupled else 1.0, 1 - beta2**t, lr * (1 - mu) / (1 - mu_product),
                      lr * mu_next / (1 - mu_product * mu_next), maximize))
    return steps


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [300])
@pytest.mark.parametrize("weight_decay, maximize", [(0.0, False), (0.01, True)])
def test_adadelta_matches_the_cpu_kernel(weight_decay, maximize, size, dtype):
    arrays = random_arrays(size, dtype, 4, positive=(2, 3))
    run_both("adadelta_update", arrays, (), [(1.0, 0.9, 1e-6, weight_decay, maximize)] * STEPS)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [300])
@pytest.mark.parametrize("weight_decay, decoupled, maximize", [(0.01, False, True), (0.01, True, False)])
def test_nadam_matches_the_cpu_kernel(weight_decay, decoupled, maximize, size, dtype):
    arrays = random_arrays(size, dtype, 4, positive=(3,))
    run_both("nadam_update", arrays, (), nadam_steps(0.9, 0.999, 1e-8, weight_decay, decoupled, maximize))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [300])
@pytest.mark.parametrize("weight_decay, param_scale, maximize", [(0.01, 1.0, True), (0.0, 0.999, False)])
def test_radam_matches_the_cpu_kernel(weight_decay, param_scale, maximize, size, dtype):
    arrays = random_arrays(size, dtype, 4, positive=(3,))
    # A plain momentum step, then two rectified ones, as RAdam's early steps go.
    steps = [(0.9, 0.999, 1e-8, weight_decay, param_scale, step_size, rectified, maximize)
             for step_size, rectified in ((1e-2 / 0.1, False), (3e-3, True), (2e-3, True))]
    run_both("radam_update", arrays, (), steps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [300])
@pytest.mark.parametrize("weight_decay, maximize", [(0.0, False), (0.01, True)])
def test_adamax_matches_the_cpu_kernel(weight_decay, maximize, size, dtype):
    arrays = random_arrays(size, dtype, 4, positive=(3,))
    steps = [(0.9, 0.5, 1e-8, weight_decay, 2e-3 / (1 - 0.9**t), maximize) for t in range(1, STEPS + 1)]
    run_both("adamax_update", arrays, (), steps)


# --- through minigrad.optim: the backend sends CUDA tensors to these twins ---------------------------

@pytest.mark.parametrize("name, options", [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {"maximize": True}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {"lr_decay": 0.1, "maximize": True}),
    ("Adadelta", {"weight_decay": 0.01, "maximize": True}),
    ("NAdam", {"weight_decay": 0.01, "decoupled_weight_decay": True}),
    ("RAdam", {"betas": (0.8, 0.9), "weight_decay": 0.01}),  # rho_t passes 5 at step 4: both branches
    ("Adamax", {"weight_decay": 0.01, "maximize": True}),
])
def test_an_optimizer_on_cuda_tensors_follows_its_cpu_twin(name, options):
    import minigrad as mg
    from minigrad.cuda.array import CudaArray

    values = random_arrays(37, np.float32, 2)
    runs = {}
    for device in ("cpu", "cuda"):
        params = [mg.nn.Parameter(mg.tensor(value, device=device)) for value in values]
        optimizer = getattr(mg.optim, name)(params, **options)
        for step in range(5):
            for param, grad in zip(params, random_arrays(37, np.float32, 2, seed=step + 1)):
                param.grad = mg.tensor(grad, device=device)
            optimizer.step()
        runs[device] = params, optimizer
    (cpu_params, cpu_optimizer), (cuda_params, cuda_optimizer) = runs["cpu"], runs["cuda"]
    for cpu_param, cuda_param in zip(cpu_params, cuda_params):
        assert type(cuda_param.data) is CudaArray
        np.testing.assert_allclose(cuda_param.cpu().data, cpu_param.data, **TOLERANCES[np.float32])
        for key, value in cuda_optimizer.state[cuda_param].items():
            if hasattr(value, "dtype"):
                assert type(value) is CudaArray, key
                np.testing.assert_allclose(value.get(), cpu_optimizer.state[cpu_param][key], err_msg=key,
                                           **TOLERANCES[np.float32])


# --- the launch -----------------------------------------------------------------------------------

def test_the_grid_stride_loop_covers_arrays_larger_than_the_grid(monkeypatch):
    # One block of 256 threads for 1000 elements: each thread takes three or four.
    monkeypatch.setattr(gpu, "MAX_BLOCKS", 1)
    arrays = random_arrays(1000, np.float32, 5, positive=(3, 4))
    run_both("adam_update", arrays, (), adam_steps(1e-2, 0.9, 0.999, 1e-8, 0.0, False, True))


def test_an_empty_parameter_launches_nothing():
    empty = cuda.device_array(0, np.float32)
    gpu.sgd_update(empty, empty, empty, 0.1, 0.0, 0.9, 0.0, False, True, False)
    gpu.adam_update(empty, empty, empty, empty, empty, 0.9, 0.999, 1e-8, 0.0, 1.0, 0.1, 0.1, True, False)
    gpu.rmsprop_update(empty, empty, empty, empty, empty, 0.01, 0.99, 1e-8, 0.0, 0.9, True, False)
    gpu.adagrad_update(empty, empty, empty, 0.1, 1e-10, 0.0, False)
    gpu.adadelta_update(empty, empty, empty, empty, 1.0, 0.9, 1e-6, 0.0, False)
    gpu.nadam_update(empty, empty, empty, empty, 0.9, 0.999, 1e-8, 0.0, 1.0, 0.1, 0.1, 0.1, False)
    gpu.radam_update(empty, empty, empty, empty, 0.9, 0.999, 1e-8, 0.0, 1.0, 0.1, True, False)
    gpu.adamax_update(empty, empty, empty, empty, 0.9, 0.999, 1e-8, 0.0, 0.1, False)
