"""Learning-rate schedules: their formulas, PyTorch's schedulers, TensorFlow's decays attached three ways."""
import copy
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.optim import lr_scheduler

STEPS = 30


def make_optimizer(lr=0.1, group_lrs=None):
    """SGD over one parameter, or over one parameter per group when ``group_lrs`` is given."""
    if group_lrs is None:
        return optim.SGD([mg.nn.Parameter(mg.zeros(2))], lr=lr)
    return optim.SGD([{"params": [mg.nn.Parameter(mg.zeros(2))], "lr": group_lr} for group_lr in group_lrs], lr=lr)


def rates(scheduler, steps=STEPS):
    """The rate of every group before the first step() and after each of ``steps`` more."""
    seen = [scheduler.get_last_lr()]
    for _ in range(steps):
        scheduler.step()
        seen.append(scheduler.get_last_lr())
    return seen


# --- PyTorch's schedulers: formulas ---------------------------------------------------------------

TORCH_CASES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}, lambda lr, e: lr * 0.5 ** (e // 7)),
    ("StepLR", {"step_size": 1}, lambda lr, e: lr * 0.1**e),
    ("ExponentialLR", {"gamma": 0.9}, lambda lr, e: lr * 0.9**e),
    ("CosineAnnealingLR", {"T_max": 10}, lambda lr, e: lr * (1 + math.cos(math.pi * e / 10)) / 2),
    ("CosineAnnealingLR", {"T_max": 12, "eta_min": 0.001},
     lambda lr, e: 0.001 + (lr - 0.001) * (1 + math.cos(math.pi * e / 12)) / 2),
]


def torch_case_id(case):
    return case[0] + "-" + "-".join(f"{key}={value}" for key, value in case[1].items())


@pytest.mark.parametrize("case", TORCH_CASES, ids=torch_case_id)
def test_pytorch_style_schedulers_follow_their_formula_per_group(case):
    name, options, formula = case
    optimizer = make_optimizer(group_lrs=[0.1, 0.02])
    scheduler = getattr(lr_scheduler, name)(optimizer, **options)
    assert scheduler.last_epoch == 0
    for epoch, values in enumerate(rates(scheduler)):
        np.testing.assert_allclose(values, [formula(0.1, epoch), formula(0.02, epoch)], rtol=1e-13, atol=1e-16)
    assert scheduler.last_epoch == STEPS
    assert [group["lr"] for group in optimizer.param_groups] == scheduler.get_last_lr()
    assert [group["initial_lr"] for group in optimizer.param_groups] == [0.1, 0.02]


@pytest.mark.parametrize("case", TORCH_CASES, ids=torch_case_id)
def test_pytorch_style_schedulers_match_pytorch(case):
    torch = pytest.importorskip("torch")
    name, options, _ = case
    ours = getattr(lr_scheduler, name)(make_optimizer(group_lrs=[0.1, 0.02]), **options)
    torch_optimizer = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr}
                                       for lr in (0.1, 0.02)], lr=0.1)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_optimizer, **options)
    expected = [theirs.get_last_lr()]
    for _ in range(STEPS):
        torch_optimizer.step()  # PyTorch wants the optimizer stepped first
        theirs.step()
        expected.append(theirs.get_last_lr())
    np.testing.assert_allclose(rates(ours), expected, rtol=1e-12, atol=1e-15)


def test_scheduler_drives_the_rate_the_optimizer_uses():
    param = mg.nn.Parameter(mg.zeros(1, dtype=mg.float64))
    optimizer = optim.SGD([param], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    for _ in range(4):
        param.grad = mg.ones(1, dtype=mg.float64)
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(param.data, [-(1.0 + 1.0 + 0.5 + 0.5)])


def test_pytorch_style_state_dict_round_trip():
    """As in PyTorch, the scheduler's state and the optimizer's (which holds the current lr) resume the run together."""
    optimizer = make_optimizer()
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=20, eta_min=0.01)
    for _ in range(7):
        scheduler.step()
    state = scheduler.state_dict()
    assert state["last_epoch"] == 7 and state["T_max"] == 20 and "optimizer" not in state
    assert all(isinstance(value, (int, float, bool, str, list, type(None))) for value in state.values())
    restored_optimizer = make_optimizer()
    restored = lr_scheduler.CosineAnnealingLR(restored_optimizer, T_max=20, eta_min=0.01)
    restored_optimizer.load_state_dict(optimizer.state_dict())
    restored.load_state_dict(copy.deepcopy(state))
    assert rates(restored, 10) == rates(scheduler, 10)
    with pytest.raises(ValueError, match="unexpected keys"):
        lr_scheduler.StepLR(make_optimizer(), step_size=3).load_state_dict(state)


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match="has no 'initial_lr'"):  # PyTorch raises KeyError too
        lr_scheduler.ExponentialLR(make_optimizer(), gamma=0.9, last_epoch=4)
    optimizer = make_optimizer(lr=0.5)
    first = lr_scheduler.ExponentialLR(optimizer, gamma=0.9)  # records initial_lr
    for _ in range(5):
        first.step()
    # resumed at epoch 4, it takes the lr the group has (that of epoch 5), as PyTorch's does
    resumed = lr_scheduler.ExponentialLR(optimizer, gamma=0.9, last_epoch=4)
    assert resumed.last_epoch == 5 and resumed.base_lrs == [0.5]
    assert resumed.get_last_lr() == first.get_last_lr() == pytest.approx([0.5 * 0.9**5])
    resumed.step()
    assert resumed.get_last_lr() == pytest.approx([0.5 * 0.9**6])


@pytest.mark.parametrize("make, message", [
    (lambda: lr_scheduler.StepLR(make_optimizer(), step_size=0), "StepLR: step_size must be a positive integer"),
    (lambda: lr_scheduler.StepLR(make_optimizer(), step_size=2.5), "step_size must be a positive integer, got 2.5"),
    (lambda: lr_scheduler.ExponentialLR(make_optimizer(), gamma=-0.5), "ExponentialLR: gamma must be >= 0"),
    (lambda: lr_scheduler.CosineAnnealingLR(make_optimizer(), T_max=0), "CosineAnnealingLR: T_max must be > 0"),
    (lambda: lr_scheduler.CosineAnnealingLR(make_optimizer(), T_max=5, eta_min=-1), "eta_min must be >= 0"),
    (lambda: lr_scheduler.StepLR(make_optimizer(), 3, last_epoch=-2), "last_epoch must be an integer >= -1"),
])
def test_pytorch_style_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_pytorch_style_needs_an_optimizer():
    with pytest.raises(TypeError, match="StepLR: needs the optimizer"):
        lr_scheduler.StepLR(None, step_size=3)
    with pytest.raises(TypeError, match="expected an optimizer"):
        lr_scheduler.ExponentialLR(object(), gamma=0.9)


# --- TensorFlow's decays --------------------------------------------------------------------------

TF_CASES = [
    ("ExponentialDecay", lambda lr, rate, p: lr * rate**p),
    ("NaturalExpDecay", lambda lr, rate, p: lr * math.exp(-rate * p)),
    ("InverseTimeDecay", lambda lr, rate, p: lr / (1 + rate * p)),
]


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("name, formula", TF_CASES, ids=[case[0] for case in TF_CASES])
def test_decay_is_a_function_of_the_step(name, formula, staircase):
    schedule = getattr(lr_scheduler, name)(0.1, decay_steps=4, decay_rate=0.5, staircase=staircase)
    for step in [0, 1, 3, 4, 5, 8, 11, 100, 2.5]:
        progress = math.floor(step / 4) if staircase else step / 4
        assert schedule(step) == pytest.approx(formula(0.1, 0.5, progress), rel=1e-14)
    if staircase:
        assert schedule(0) == schedule(3) == 0.1 and schedule(4) < 0.1
    # used on its own, step() walks the same values
    assert rates(schedule, 12) == [[schedule(step)] for step in range(13)]


def test_decay_matches_tensorflow_values():
    """Values from the tf.keras formulas: lr * rate^(step/steps) and friends, at step 1000 of decay_steps 1000."""
    assert lr_scheduler.ExponentialDecay(0.1, 1000, 0.96)(1000) == pytest.approx(0.096)
    assert lr_scheduler.ExponentialDecay(0.1, 1000, 0.96)(500) == pytest.approx(0.1 * 0.96**0.5)
    assert lr_scheduler.NaturalExpDecay(0.1, 1000, 0.5)(1000) == pytest.approx(0.1 * math.exp(-0.5))
    assert lr_scheduler.InverseTimeDecay(0.1, 1000, 0.5)(1000) == pytest.approx(0.1 / 1.5)
    assert lr_scheduler.InverseTimeDecay(0.1, 1000, 0.5, staircase=True)(1999) == pytest.approx(0.1 / 1.5)


@pytest.mark.parametrize("name", [case[0] for case in TF_CASES])
def test_decay_attached_with_optimizer_keyword(name):
    optimizer = make_optimizer(group_lrs=[0.3, 0.4])
    schedule = getattr(lr_scheduler, name)(0.1, 10, 0.5, optimizer=optimizer)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.1]  # the schedule sets the rate
    for step in range(1, 25):
        schedule.step()
        assert [group["lr"] for group in optimizer.param_groups] == [schedule(step)] * 2
        assert schedule.get_last_lr() == [schedule(step)] * 2


def test_decay_passed_as_lr_follows_the_update_count():
    schedule = lr_scheduler.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    param = mg.nn.Parameter(mg.zeros(1, dtype=mg.float64))
    optimizer = optim.SGD([param], lr=schedule)
    assert optimizer.lr_schedule is schedule and optimizer.param_groups[0]["lr"] == 0.1
    used = []
    for step in range(6):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.apply_gradients([(np.ones(1), param)])
        if step % 2:
            schedule.step()  # a loop that also calls step() changes nothing: the count is the optimizer's
    assert used == [schedule(step) for step in range(6)]
    assert schedule.last_epoch == optimizer.iterations == 6
    np.testing.assert_allclose(param.data, [-sum(used)], rtol=1e-15)


def test_decay_passed_as_lr_resumes_from_the_optimizer_state_dict():
    def run(steps, state=None):
        param = mg.nn.Parameter(mg.zeros(1, dtype=mg.float64))
        optimizer = optim.Adam([param], lr=lr_scheduler.InverseTimeDecay(0.1, 3, 1.0))
        if state is not None:
            param.data[...] = state[0]
            optimizer.load_state_dict(state[1])
        for _ in range(steps):
            param.grad = mg.ones(1, dtype=mg.float64)
            optimizer.step()
        return param, optimizer

    param, optimizer = run(10)
    half_param, half_optimizer = run(5)
    resumed_param, resumed_optimizer = run(5, (half_param.data.copy(), half_optimizer.state_dict()))
    np.testing.assert_array_equal(resumed_param.data, param.data)
    assert resumed_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]


def test_decay_passed_as_lr_rejects_per_group_rates():
    params = [mg.nn.Parameter(mg.zeros(1)), mg.nn.Parameter(mg.zeros(1))]
    schedule = lr_scheduler.NaturalExpDecay(0.1, 10, 0.5)
    with pytest.raises(ValueError, match="lr is a schedule .* param group 1 gives its own lr"):
        optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.5}], lr=schedule)


def test_a_schedule_drives_one_optimizer():
    schedule = lr_scheduler.ExponentialDecay(0.1, 10, 0.5, optimizer=make_optimizer())
    with pytest.raises(ValueError, match="already drives an optimizer"):
        optim.SGD([mg.nn.Parameter(mg.zeros(1))], lr=schedule)


def test_decay_state_dict_round_trip():
    schedule = lr_scheduler.ExponentialDecay(0.1, 5, 0.9, staircase=True, optimizer=make_optimizer())
    for _ in range(8):
        schedule.step()
    state = schedule.state_dict()
    assert state["last_epoch"] == 8 and state["staircase"] is True and "optimizer" not in state
    restored = lr_scheduler.ExponentialDecay(0.1, 5, 0.9, staircase=True, optimizer=make_optimizer())
    restored.load_state_dict(state)
    assert rates(restored, 10) == rates(schedule, 10)


@pytest.mark.parametrize("arguments, error, message", [
    ((0.1, 0, 0.5), ValueError, "ExponentialDecay: decay_steps must be > 0, got 0"),
    ((0.1, -10, 0.5), ValueError, "decay_steps must be > 0"),
    ((-0.1, 10, 0.5), ValueError, "initial_learning_rate must be >= 0"),
    ((0.1, 10, -0.5), ValueError, "decay_rate must be >= 0"),
    ((0.1, 10, float("inf")), ValueError, "decay_rate must be >= 0, got inf"),
    (("0.1", 10, 0.5), TypeError, "initial_learning_rate must be a number"),
])
def test_decay_argument_errors(arguments, error, message):
    with pytest.raises(error, match=message):
        lr_scheduler.ExponentialDecay(*arguments)


def test_decay_step_and_staircase_errors():
    with pytest.raises(TypeError, match="staircase must be True or False"):
        lr_scheduler.InverseTimeDecay(0.1, 10, 0.5, staircase="yes")
    with pytest.raises(ValueError, match="NaturalExpDecay: step must be >= 0, got -1"):
        lr_scheduler.NaturalExpDecay(0.1, 10, 0.5)(-1)


# --- one loop, any kind ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda optimizer: lr_scheduler.StepLR(optimizer, step_size=3),
    lambda optimizer: lr_scheduler.ExponentialLR(optimizer, gamma=0.9),
    lambda optimizer: lr_scheduler.CosineAnnealingLR(optimizer, T_max=5),
    lambda optimizer: lr_scheduler.ExponentialDecay(0.1, 3, 0.5, optimizer=optimizer),
    lambda optimizer: lr_scheduler.NaturalExpDecay(0.1, 3, 0.5, optimizer=optimizer),
    lambda optimizer: lr_scheduler.InverseTimeDecay(0.1, 3, 0.5, staircase=True, optimizer=optimizer),
], ids=["StepLR", "ExponentialLR", "CosineAnnealingLR", "ExponentialDecay", "NaturalExpDecay", "InverseTimeDecay"])
def test_every_kind_steps_and_saves_the_same_way(make):
    param = mg.nn.Parameter(mg.zeros(3))
    optimizer = optim.Adam([param], lr=0.1)
    scheduler = make(optimizer)
    for _ in range(6):
        param.grad = mg.ones(3)
        optimizer.step()
        scheduler.step()
    assert scheduler.last_epoch == 6
    assert scheduler.get_last_lr() == [optimizer.param_groups[0]["lr"]] and 0 < scheduler.get_last_lr()[0] < 0.1
    state = scheduler.state_dict()
    assert all(isinstance(value, (int, float, bool, str, list, type(None))) for value in state.values())
    fresh_optimizer = optim.Adam([mg.nn.Parameter(mg.zeros(3))], lr=0.1)
    fresh = make(fresh_optimizer)
    fresh_optimizer.load_state_dict(optimizer.state_dict())  # the current lr is the optimizer's state
    fresh.load_state_dict(state)
    fresh.step()
    scheduler.step()
    assert fresh.get_last_lr() == scheduler.get_last_lr()
