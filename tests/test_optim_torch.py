"""Every optimizer against PyTorch: trajectories and state, groups, defaults, refused hyperparameters; and
Adadelta, NAdam, RAdam and Adamax through the checks tests/test_optim.py gives the first optimizers.

The helpers (parameter values, the shared gradient stream, minigrad's trajectory) are test_optim.py's.
"""
import copy

import numpy as np
import pytest
from test_optim import (SHAPES, STEPS, TOLERANCES, case_id, gradient_stream, initial_values, make_params,
                        minigrad_trajectory)

import minigrad as mg
from minigrad import optim

CASES = [  # (optimizer name, options), every option of every optimizer at least once
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.01}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01, "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.05, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"alpha": 0.9, "weight_decay": 0.1}),
    ("RMSprop", {"momentum": 0.9}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"lr": 0.001, "momentum": 0.5, "centered": True, "weight_decay": 0.01, "eps": 1e-6}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"initial_accumulator_value": 0.5, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.05, "lr_decay": 0.01, "eps": 1e-6}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4}),
    ("Adadelta", {"weight_decay": 0.1}),
    ("Adadelta", {"lr": 2.0, "weight_decay": 0.01, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"betas": (0.8, 0.99), "eps": 1e-6, "momentum_decay": 0.01, "maximize": True}),
    # rho_t passes 5 at step 6 with b2 = 0.999 and at step 4 with b2 = 0.9: both branches are taken.
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"betas": (0.8, 0.9), "eps": 1e-6, "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adamax", {"betas": (0.8, 0.99), "eps": 1e-6, "maximize": True}),
    # maximize (and Adam's decoupled_weight_decay) on the first optimizers
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "maximize": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.01, "maximize": True}),
    ("RMSprop", {"momentum": 0.5, "centered": True, "weight_decay": 0.01, "maximize": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "maximize": True}),
]
NAMES = ["Adadelta", "NAdam", "RAdam", "Adamax"]
ALL_NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", *NAMES]


def torch_trajectory(torch, name, options, values, steps=STEPS, seed=1):
    params = [torch.tensor(value, requires_grad=True) for value in values]
    optimizer = getattr(torch.optim, name)(params, **options)
    gradients = gradient_stream(values[0].dtype, seed, [value.shape for value in values])
    trajectory = []
    for _ in range(steps):
        for param, grad in zip(params, next(gradients)):
            param.grad = torch.tensor(grad)
        optimizer.step()
        trajectory.append([param.detach().numpy().copy() for param in params])
    return trajectory, optimizer, params


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_and_state_match_pytorch(case, dtype):
    torch = pytest.importorskip("torch")
    name, options = case
    values = initial_values(dtype)
    ours, optimizer, params = minigrad_trajectory(name, options, values)
    theirs, torch_optimizer, torch_params = torch_trajectory(torch, name, options, values)
    for step, (our_values, their_values) in enumerate(zip(ours, theirs)):
        for our_value, their_value in zip(our_values, their_values):
            assert our_value.dtype == dtype
            np.testing.assert_allclose(our_value, their_value, **TOLERANCES[dtype], err_msg=f"step {step + 1}")
    # The state has PyTorch's names and values (NAdam's mu_product a number, PyTorch's a 0-d tensor).
    for param, torch_param in zip(params, torch_params):
        our_state, their_state = optimizer.state[param], torch_optimizer.state[torch_param]
        assert list(our_state) == [key for key, value in their_state.items() if value is not None]
        for key, value in our_state.items():
            expected = np.asarray(their_state[key].detach() if key != "step" else their_state[key])
            # Buffers that sum terms of both signs (momentum) cancel: scale the absolute floor to them.
            scale = max(1.0, float(np.abs(expected).max()))
            tolerance = TOLERANCES[dtype]
            np.testing.assert_allclose(value, expected, rtol=tolerance["rtol"], atol=tolerance["atol"] * scale,
                                       err_msg=key)


def test_radam_takes_both_branches_in_the_trajectories_above():
    """rho_t = rho_inf - 2t b2^t / (1 - b2^t) crosses 5 inside the 20 steps the trajectories run."""
    for beta2 in (0.999, 0.9):
        rho_inf = 2 / (1 - beta2) - 1
        rho = [rho_inf - 2 * t * beta2**t / (1 - beta2**t) for t in range(1, 21)]
        assert rho[0] <= 5 < rho[-1]


GROUP_OPTIONS = {"SGD": {"momentum": 0.9}, "Adam": {"amsgrad": True}, "AdamW": {"weight_decay": 0.1},
                 "RMSprop": {"centered": True}, "Adagrad": {"lr_decay": 0.1},
                 "Adadelta": {"rho": 0.5, "weight_decay": 0.1}, "NAdam": {"decoupled_weight_decay": True,
                                                                         "weight_decay": 0.1},
                 "RAdam": {"betas": (0.5, 0.9)}, "Adamax": {"maximize": True}}


@pytest.mark.parametrize("name", ALL_NAMES)
def test_param_groups_with_their_own_options_match_pytorch(name):
    torch = pytest.importorskip("torch")
    values = initial_values(np.float64, shapes=[(4, 3), (5,), (6,)])

    def run(library, make_param, set_grad, read):
        params = [make_param(value) for value in values]
        optimizer = getattr(library.optim, name)([{"params": params[:2]},
                                                  {"params": [params[2]], "lr": 0.003, **GROUP_OPTIONS[name]}])
        for _, grads in zip(range(10), gradient_stream(np.float64, shapes=[value.shape for value in values])):
            for param, grad in zip(params, grads):
                set_grad(param, grad)
            optimizer.step()
        return [read(param) for param in params], optimizer

    ours, optimizer = run(mg, mg.nn.Parameter, lambda p, g: setattr(p, "grad", mg.tensor(g)), lambda p: p.data)
    theirs, _ = run(torch, lambda v: torch.tensor(v, requires_grad=True),
                    lambda p, g: setattr(p, "grad", torch.tensor(g)), lambda p: p.detach().numpy())
    for our_value, their_value in zip(ours, theirs):
        np.testing.assert_allclose(our_value, their_value, rtol=1e-12, atol=1e-14)
    assert [group["lr"] for group in optimizer.param_groups] == [optimizer.defaults["lr"], 0.003]


def test_defaults_and_group_keys_are_pytorchs():
    torch = pytest.importorskip("torch")
    implementation_switches = {"foreach", "capturable", "differentiable", "fused"}  # minigrad has one kernel
    for name in ALL_NAMES:
        ours = getattr(optim, name)(make_params())
        theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
        expected = {key: value for key, value in theirs.defaults.items() if key not in implementation_switches}
        assert ours.defaults == expected, name


@pytest.mark.parametrize("name", ALL_NAMES)
def test_zero_grad_sets_gradients_to_none_by_default(name):
    params = make_params()
    for param in params:
        param.grad = mg.ones(*param.shape)
    getattr(optim, name)(params).zero_grad()
    assert all(param.grad is None for param in params)


def test_state_dict_layout():
    params = make_params()
    optimizer = optim.NAdam(params)
    for param in params:
        param.grad = mg.ones(*param.shape)
    optimizer.step()
    entry = optimizer.state_dict()["state"][1]
    assert list(entry) == ["step", "mu_product", "exp_avg", "exp_avg_sq"] and entry["step"] == 1
    assert isinstance(entry["mu_product"], float) and isinstance(entry["exp_avg"], np.ndarray)
    assert optimizer.state_dict()["param_groups"][0]["momentum_decay"] == 4e-3
    wrong_shape = copy.deepcopy(optimizer.state_dict())
    wrong_shape["state"][1]["exp_avg_sq"] = np.zeros(4)
    with pytest.raises(ValueError, match="'exp_avg_sq' of parameter 1 has shape"):
        optimizer.load_state_dict(wrong_shape)


# --- argument errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, options, message", [
    ("Adadelta", {"lr": -1.0}, "Adadelta: lr must be >= 0, got -1.0"),
    ("Adadelta", {"rho": 1.5}, "Adadelta: rho must be >= 0 and <= 1, got 1.5"),
    ("Adadelta", {"rho": -0.1}, "Adadelta: rho must be >= 0"),
    ("Adadelta", {"eps": -1e-6}, "Adadelta: eps must be >= 0, got -1e-06"),
    ("Adadelta", {"weight_decay": -0.1}, "Adadelta: weight_decay must be >= 0, got -0.1"),
    ("NAdam", {"lr": -2e-3}, "NAdam: lr must be >= 0, got -0.002"),
    ("NAdam", {"betas": (1.0, 0.999)}, r"NAdam: betas\[0\] must be >= 0 and < 1, got 1.0"),
    ("NAdam", {"betas": (0.9, -0.5)}, r"NAdam: betas\[1\] must be >= 0 and < 1, got -0.5"),
    ("NAdam", {"momentum_decay": -1e-3}, "NAdam: momentum_decay must be >= 0, got -0.001"),
    ("NAdam", {"weight_decay": -1.0}, "NAdam: weight_decay must be >= 0"),
    ("RAdam", {"eps": -1e-8}, "RAdam: eps must be >= 0, got -1e-08"),
    ("RAdam", {"betas": (0.9, 1.0)}, r"RAdam: betas\[1\] must be >= 0 and < 1, got 1.0"),
    ("RAdam", {"weight_decay": float("nan")}, "RAdam: weight_decay must be >= 0, got nan"),
    ("Adamax", {"lr": -0.1}, "Adamax: lr must be >= 0, got -0.1"),
    ("Adamax", {"betas": (-0.1, 0.999)}, r"Adamax: betas\[0\] must be >= 0 and < 1, got -0.1"),
    ("Adamax", {"weight_decay": -0.5}, "Adamax: weight_decay must be >= 0, got -0.5"),
])
def test_bad_hyperparameters_raise_where_pytorch_does(name, options, message):
    with pytest.raises(ValueError, match=message):
        getattr(optim, name)(make_params(), **options)
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="Invalid"):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **options)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_bad_flags_and_types(name):
    with pytest.raises(TypeError, match=f"{name}: maximize must be True or False, got 'yes'"):
        getattr(optim, name)(make_params(), maximize="yes")
    with pytest.raises(TypeError, match=f"{name}: lr must be a number, got str"):
        getattr(optim, name)(make_params(), lr="0.1")
    params = make_params()
    with pytest.raises(ValueError, match=rf"{name}: lr must be >= 0, got -1 \(param group 1\)"):
        getattr(optim, name)([{"params": [params[0]]}, {"params": [params[1]], "lr": -1}])


def test_boundary_values_pytorch_accepts_are_accepted():
    params = make_params()
    optim.Adadelta(params, rho=1.0, eps=0.0, lr=0.0)
    optim.NAdam(params, betas=(0.0, 0.0), momentum_decay=0.0)
    optim.RAdam(params, betas=(0.0, 0.0))
    with pytest.raises(TypeError, match="RAdam: decoupled_weight_decay must be True or False"):
        optim.RAdam(params, decoupled_weight_decay=1)
    with pytest.raises(TypeError, match="NAdam: betas must be a pair"):
        optim.NAdam(params, betas=0.9)


@pytest.mark.parametrize("name", NAMES)
def test_apply_gradients_equals_step(name):
    stepped, applied = make_params(), make_params()
    stepping, applying = getattr(optim, name)(stepped), getattr(optim, name)(applied)
    for _, grads in zip(range(3), gradient_stream(np.float32, shapes=[(3, 4), (5,)])):
        for param, grad in zip(stepped, grads):
            param.grad = mg.tensor(grad)
        stepping.step()
        applying.apply_gradients(zip(grads, applied))
    for ours, theirs in zip(applied, stepped):
        np.testing.assert_array_equal(ours.data, theirs.data)
    assert not np.array_equal(stepped[0].data, make_params()[0].data)


def test_shapes_cover_the_kernels_serial_and_parallel_loops():
    from minigrad.kernels.cpu import optim as kernels

    sizes = [int(np.prod(shape)) for shape in SHAPES]
    assert min(sizes) < kernels.SERIAL_BELOW <= max(sizes)
    assert any(size % 16 for size in sizes)  # a remainder after any SIMD width
