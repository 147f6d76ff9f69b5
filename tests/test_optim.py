"""Optimizers: stepping, param groups, state dicts, apply_gradients, errors (PyTorch parity: test_optim_torch.py)."""
import copy
import os
import tempfile

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim

# A 0-d parameter, odd sizes, and one past the kernels' serial threshold (their parallel loop).
SHAPES = [(), (7,), (1031,), (3, 5, 4), (65, 70)]
STEPS = 20
TOLERANCES = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-11, "atol": 1e-13}}


def case_id(case):
    name, options = case
    return name + "-" + "-".join(f"{key}={value}" for key, value in options.items())


def initial_values(dtype, seed=0, shapes=SHAPES):
    generator = np.random.default_rng(seed)
    return [generator.standard_normal(shape).astype(dtype) for shape in shapes]


def gradient_stream(dtype, seed=1, shapes=SHAPES):
    """The gradients of each step, drawn from one fixed generator: both libraries get the same ones."""
    generator = np.random.default_rng(seed)
    while True:
        yield [generator.standard_normal(shape).astype(dtype) for shape in shapes]


def minigrad_trajectory(name, options, values, steps=STEPS, seed=1):
    params = [mg.nn.Parameter(value) for value in values]
    optimizer = getattr(optim, name)(params, **options)
    gradients = gradient_stream(values[0].dtype, seed, [value.shape for value in values])
    trajectory = []
    for _ in range(steps):
        for param, grad in zip(params, next(gradients)):
            param.grad = mg.tensor(grad)
        optimizer.step()
        trajectory.append([param.data.copy() for param in params])
    return trajectory, optimizer, params


# --- stepping -------------------------------------------------------------------------------------

def make_params(dtype=np.float32, shapes=((3, 4), (5,))):
    return [mg.nn.Parameter(value) for value in initial_values(dtype, shapes=shapes)]


def test_parameters_without_gradient_are_skipped():
    params = make_params()
    before = params[1].data.copy()
    params[0].grad = mg.ones(3, 4)
    optimizer = optim.Adam(params, lr=0.1)
    optimizer.step()
    np.testing.assert_array_equal(params[1].data, before)
    assert params[1] not in optimizer.state and optimizer.state[params[0]]["step"] == 1
    assert params[1]._version == 0


def test_step_updates_in_place_bumps_version_and_records_nothing():
    param = make_params()[0]
    buffer = param.data
    param.grad = mg.ones(3, 4)
    version = param._version
    with mg.GradientTape() as tape:
        tape.watch(param)
        optim.SGD([param], lr=0.5).step()
    assert param.data is buffer and param._version == version + 1
    assert param.is_leaf and param.requires_grad and param.grad_fn is None
    assert tape.nodes == []


def test_step_is_exact_for_plain_sgd():
    param = mg.nn.Parameter(np.array([1.0, 2.0, -3.0]))
    param.grad = mg.tensor([0.5, -1.0, 2.0], dtype=mg.float64)
    optim.SGD([param], lr=0.1).step()
    np.testing.assert_allclose(param.data, [0.95, 2.1, -3.2], rtol=1e-15)


def test_step_works_under_enabled_grad_mode_and_returns_closure_loss():
    param = make_params()[0]

    def closure():
        loss = (param * param).sum()
        param.grad = None
        loss.backward()
        return loss

    loss = optim.SGD([param], lr=0.1).step(closure)
    assert float(loss.item()) > 0


def test_non_contiguous_parameter_and_mismatched_gradient_dtype():
    values = initial_values(np.float32, shapes=[(6, 4)])[0]
    contiguous = mg.nn.Parameter(values)
    strided = mg.nn.Parameter(values)
    strided.data = np.asfortranarray(values)  # same values, column-major: reshape(-1) would copy
    for param in (contiguous, strided):
        param.grad = mg.tensor(np.full((6, 4), 0.25), dtype=mg.float64)  # a float64 gradient, float32 parameter
        optim.Adam([param], lr=0.1).step()
    np.testing.assert_array_equal(strided.data, contiguous.data)
    assert strided.data.dtype == np.float32 and strided.data.flags.f_contiguous


def test_integer_hyperparameters_are_accepted():
    params = make_params()
    params[0].grad = mg.ones(3, 4)
    optim.SGD(params, lr=1, momentum=0).step()
    np.testing.assert_allclose(params[0].data, initial_values(np.float32, shapes=[(3, 4)])[0] - 1, rtol=1e-6)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    params = make_params()
    params[0].grad = mg.ones(3, 4)
    grad = params[0].grad
    optimizer = optim.SGD(params, lr=0.1)
    optimizer.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert params[0].grad is None
    else:
        assert params[0].grad is grad and not grad.data.any()
    assert params[1].grad is None


def test_adamw_decays_weights_without_touching_the_gradient_path():
    param = mg.nn.Parameter(np.array([2.0]))
    param.grad = mg.tensor([0.0], dtype=mg.float64)
    optim.AdamW([param], lr=0.1, weight_decay=0.5).step()  # zero gradient: only the decay acts
    np.testing.assert_allclose(param.data, [2.0 * (1 - 0.1 * 0.5)], rtol=1e-15)


# --- param groups ---------------------------------------------------------------------------------

def test_param_groups_hold_every_hyperparameter():
    params = make_params()
    optimizer = optim.Adam([{"params": [params[0]]}, {"params": params[1], "lr": 0.5}], eps=1e-6)
    first, second = optimizer.param_groups
    assert first["params"] == [params[0]] and second["params"] == [params[1]]
    assert (first["lr"], second["lr"], first["eps"], second["eps"]) == (1e-3, 0.5, 1e-6, 1e-6)
    assert set(first) == {"params", "lr", "betas", "eps", "weight_decay", "amsgrad", "maximize",
                          "decoupled_weight_decay"}


def test_add_param_group():
    params = make_params()
    optimizer = optim.SGD([params[0]], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": [params[1]], "lr": 0.01})
    assert optimizer.param_groups[1]["lr"] == 0.01 and optimizer.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="given twice"):
        optimizer.add_param_group({"params": [params[0]]})


def test_generator_of_parameters_is_accepted():
    model = mg.nn.Conv2d(1, 2, 3)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    assert len(optimizer.param_groups[0]["params"]) == 2


# --- state dicts ----------------------------------------------------------------------------------

RESUME_CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {"lr": 0.01}),
    ("RMSprop", {"momentum": 0.9, "centered": True}),
    ("Adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.1}),
    ("Adadelta", {"weight_decay": 0.01}),
    ("NAdam", {"weight_decay": 0.01, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01}),
    ("Adamax", {"maximize": True}),
]


def to_plain_lists(state_dict):
    """What a file format without NumPy might give back: lists for arrays and tuples, string keys."""
    return {
        "state": {str(index): {key: value.tolist() if isinstance(value, np.ndarray) else value
                               for key, value in entry.items()}
                  for index, entry in state_dict["state"].items()},
        "param_groups": [{key: list(value) if isinstance(value, tuple) else value for key, value in group.items()}
                         for group in state_dict["param_groups"]],
        "iterations": state_dict["iterations"],
    }


def through_npz_file(state_dict):
    """mg.save, then mg.load: the .npz serializer that checkpoints use."""
    if not hasattr(mg, "save"):
        pytest.skip("mg.save is not available")
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "optimizer.npz")
        mg.save(state_dict, path)
        return mg.load(path)


@pytest.mark.parametrize("round_trip", [copy.deepcopy, to_plain_lists, through_npz_file],
                         ids=["arrays", "lists", "npz"])
@pytest.mark.parametrize("case", RESUME_CASES, ids=case_id)
def test_save_load_resume_gives_the_same_trajectory(case, round_trip):
    name, options = case
    shapes = [(), (7,), (65, 70)]
    values = initial_values(np.float32, shapes=shapes)
    uninterrupted, _, _ = minigrad_trajectory(name, options, values, steps=10)

    # Five steps, save, then a fresh model and optimizer resume from the saved values and state.
    _, optimizer, params = minigrad_trajectory(name, options, values, steps=5)
    saved_values = [param.data.copy() for param in params]
    saved = round_trip(optimizer.state_dict())
    resumed_params = [mg.nn.Parameter(value) for value in saved_values]
    resumed = getattr(optim, name)(resumed_params, **options)
    resumed.load_state_dict(saved)
    gradients = gradient_stream(np.float32, 1, shapes)
    for _ in range(5):
        next(gradients)  # the gradients the first half already used
    for step in range(5, 10):
        for param, grad in zip(resumed_params, next(gradients)):
            param.grad = mg.tensor(grad)
        resumed.step()
        for value, expected in zip(resumed_params, uninterrupted[step]):
            np.testing.assert_array_equal(value.data, expected)
    assert resumed.iterations == 10


def test_state_dict_layout_and_copies():
    params = make_params()
    optimizer = optim.Adam([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.1}], amsgrad=True)
    for param in params:
        param.grad = mg.ones(*param.shape)
    optimizer.step()
    state_dict = optimizer.state_dict()
    assert set(state_dict) == {"state", "param_groups", "iterations"}
    assert [group["params"] for group in state_dict["param_groups"]] == [[0], [1]]
    assert state_dict["param_groups"][1]["lr"] == 0.1 and state_dict["param_groups"][0]["betas"] == (0.9, 0.999)
    entry = state_dict["state"][1]
    assert list(entry) == ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"] and entry["step"] == 1
    assert isinstance(entry["exp_avg"], np.ndarray) and entry["exp_avg"].shape == (5,)
    entry["exp_avg"][...] = 123.0  # a copy: the optimizer's own state is untouched
    assert not (optimizer.state[params[1]]["exp_avg"] == 123.0).any()


def test_load_state_dict_copies_arrays_in():
    params = make_params()
    optimizer = optim.SGD(params, lr=0.1, momentum=0.9)
    buffer = np.arange(12.0).reshape(3, 4)
    optimizer.load_state_dict({"state": {0: {"momentum_buffer": buffer}}, "param_groups": [
        {"lr": 0.2, "momentum": 0.9, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0, "params": [0, 1]}]})
    loaded = optimizer.state[params[0]]["momentum_buffer"]
    assert loaded is not buffer and loaded.dtype == np.float32 and loaded.flags.c_contiguous
    assert optimizer.param_groups[0]["lr"] == 0.2 and optimizer.param_groups[0]["params"] == params


def test_load_state_dict_errors():
    params = make_params()
    optimizer = optim.Adam(params)
    one_group = optim.Adam(params).state_dict()
    two_groups = optim.Adam([{"params": [params[0]]}, {"params": [params[1]]}]).state_dict()
    with pytest.raises(ValueError, match="2 parameter groups, this optimizer has 1"):
        optimizer.load_state_dict(two_groups)
    short = copy.deepcopy(one_group)
    short["param_groups"][0]["params"] = [0]
    with pytest.raises(ValueError, match="param group 0 has 1 parameters in the state dict and 2"):
        optimizer.load_state_dict(short)
    wrong_shape = copy.deepcopy(one_group)
    wrong_shape["state"] = {1: {"step": 1, "exp_avg": np.zeros(4), "exp_avg_sq": np.zeros(5)}}
    with pytest.raises(ValueError, match="'exp_avg' of parameter 1 has shape"):
        optimizer.load_state_dict(wrong_shape)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        optimizer.load_state_dict({"param_groups": []})
    bad_lr = copy.deepcopy(one_group)
    bad_lr["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="Adam.load_state_dict: Adam: lr must be >= 0"):
        optimizer.load_state_dict(bad_lr)


# --- apply_gradients (TensorFlow style) -----------------------------------------------------------

@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_apply_gradients_equals_step(name):
    options = {"lr": 0.05}
    stepped, applied = make_params(), make_params()
    stepping = getattr(optim, name)(stepped, **options)
    applying = getattr(optim, name)(applied, **options)
    for grads in zip(range(5), gradient_stream(np.float32, shapes=[(3, 4), (5,)])):
        for param, grad in zip(stepped, grads[1]):
            param.grad = mg.tensor(grad)
        stepping.step()
        applying.apply_gradients(zip([mg.tensor(grads[1][0]), grads[1][1]], applied))  # a tensor and an array
    for ours, theirs in zip(applied, stepped):
        np.testing.assert_array_equal(ours.data, theirs.data)
    assert all(param.grad is None for param in applied)  # .grad is neither read nor written
    assert applying.iterations == 5


def test_apply_gradients_linear_regression_with_gradient_tape():
    """The reference workload: y = 2x by GradientTape and apply_gradients."""
    x, y = mg.tensor([1.0, 2.0, 3.0]), mg.tensor([2.0, 4.0, 6.0])
    weight, bias = mg.nn.Parameter(mg.tensor([0.3])), mg.nn.Parameter(mg.tensor([-0.2]))
    optimizer = optim.Adam([weight, bias], lr=0.05)
    for _ in range(1000):
        with mg.GradientTape() as tape:
            loss = ((x * weight + bias - y) ** 2).mean()
        optimizer.apply_gradients(zip(tape.gradient(loss, [weight, bias]), [weight, bias]))
    assert abs(weight.item() - 2.0) < 1e-3 and abs(bias.item()) < 1e-3


def test_apply_gradients_skips_none_and_checks_everything_first():
    params = make_params()
    stranger = mg.nn.Parameter(mg.zeros(2))
    optimizer = optim.SGD(params, lr=0.1)
    before = [param.data.copy() for param in params]
    optimizer.apply_gradients([(None, params[0]), (np.ones(5, np.float32), params[1])])
    np.testing.assert_array_equal(params[0].data, before[0])
    np.testing.assert_allclose(params[1].data, before[1] - 0.1)
    snapshot = [param.data.copy() for param in params]
    with pytest.raises(ValueError, match="not one of this optimizer's parameters"):
        optimizer.apply_gradients([(np.ones((3, 4)), params[0]), (np.ones(2), stranger)])
    with pytest.raises(ValueError, match="appears twice"):
        optimizer.apply_gradients([(np.ones(5), params[1]), (np.ones(5), params[1])])
    with pytest.raises(ValueError, match=r"gradient of shape \(4,\) for a parameter of shape \(5,\)"):
        optimizer.apply_gradients([(np.ones(4), params[1])])
    with pytest.raises(TypeError, match="pairs"):
        optimizer.apply_gradients([params[0]])
    for param, value in zip(params, snapshot):  # nothing moved: errors come before any update
        np.testing.assert_array_equal(param.data, value)


# --- argument errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, options, message", [
    ("SGD", {"lr": -0.1}, "SGD: lr must be >= 0, got -0.1"),
    ("SGD", {"lr": 0.1, "momentum": -1}, "SGD: momentum must be >= 0"),
    ("SGD", {"lr": 0.1, "nesterov": True}, "SGD: Nesterov momentum requires a momentum > 0 and zero dampening"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "zero dampening"),
    ("SGD", {"lr": float("nan")}, "SGD: lr must be >= 0, got nan"),
    ("Adam", {"lr": -1e-3}, "Adam: lr must be >= 0"),
    ("Adam", {"betas": (1.0, 0.999)}, r"Adam: betas\[0\] must be >= 0 and < 1, got 1.0"),
    ("Adam", {"betas": (0.9, -0.1)}, r"Adam: betas\[1\] must be >= 0"),
    ("Adam", {"eps": -1e-8}, "Adam: eps must be >= 0"),
    ("AdamW", {"weight_decay": -0.01}, "AdamW: weight_decay must be >= 0"),
    ("RMSprop", {"alpha": 1.5}, "RMSprop: alpha must be >= 0 and <= 1, got 1.5"),
    ("RMSprop", {"momentum": -0.5}, "RMSprop: momentum must be >= 0"),
    ("Adagrad", {"lr_decay": -0.1}, "Adagrad: lr_decay must be >= 0"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, "Adagrad: initial_accumulator_value must be >= 0"),
])
def test_bad_hyperparameters_raise_with_the_optimizer_and_value(name, options, message):
    with pytest.raises(ValueError, match=message):
        getattr(optim, name)(make_params(), **options)


def test_bad_hyperparameter_types_and_group_values():
    with pytest.raises(TypeError, match="SGD: lr must be a number, got str '0.1'"):
        optim.SGD(make_params(), lr="0.1")
    with pytest.raises(TypeError, match="Adam: betas must be a pair"):
        optim.Adam(make_params(), betas=0.9)
    with pytest.raises(TypeError, match="Adam: amsgrad must be True or False"):
        optim.Adam(make_params(), amsgrad="yes")
    params = make_params()
    with pytest.raises(ValueError, match=r"SGD: lr must be >= 0, got -1 \(param group 1\)"):
        optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": -1}], lr=0.1)


def test_bad_parameter_lists():
    params = make_params()
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: a parameter of shape \\(3, 4\\) is given twice"):
        optim.Adam([params[0], params[1], params[0]])
    with pytest.raises(ValueError, match="given twice"):
        optim.Adam([{"params": [params[0]]}, {"params": [params[0]]}])
    with pytest.raises(TypeError, match="iterable of tensors"):
        optim.SGD(params[0], lr=0.1)
    with pytest.raises(TypeError, match="not a set|ordered iterable"):
        optim.SGD(set(params), lr=0.1)
    with pytest.raises(TypeError, match="can only optimize tensors, got ndarray"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match="floating point"):
        optim.SGD([mg.tensor([1, 2])], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([params[0] * 2], lr=0.1)
    with pytest.raises(ValueError, match="needs a 'params' entry"):
        optim.SGD([{"lr": 0.1}], lr=0.1)


def test_read_only_parameter_raises_clearly():
    param = make_params()[0]
    param.data.flags.writeable = False
    param.grad = mg.ones(3, 4)
    with pytest.raises(ValueError, match="read-only"):
        optim.SGD([param], lr=0.1).step()


def test_importing_minigrad_optim_compiles_nothing():
    import subprocess
    import sys

    program = "import sys, minigrad.optim; print('numba' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False"


# --- the benchmark command runs (what it measures is never asserted) ------------------------------

@pytest.mark.parametrize("optimizer_names", [["adam"], ["sgd", "nadam"]])
def test_benchmark_prints_time_per_step(optimizer_names, capsys):
    from minigrad.bench import adam as adam_bench

    adam_bench.main(["--repeats", "1", "--optimizer", *optimizer_names])
    output = capsys.readouterr().out
    for name in optimizer_names:
        assert f"{name} step over the reference CNN" in output
    assert output.count("  minigrad ") == len(optimizer_names) and "us/step" in output
