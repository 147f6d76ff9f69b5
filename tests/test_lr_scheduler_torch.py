"""PyTorch's schedulers, step by step against torch 2.13: the same rates to the last bit, per group, with SGD and Adam.

Each case builds the same optimizer (two param groups of different lrs) and the same scheduler in
both libraries, feeds both the same gradients, and compares after every step: every group's lr,
its momentum or betas (which OneCycleLR cycles), ``get_last_lr()`` and ``last_epoch``; at the end,
the parameters. Then the state-dict round trip, written with mg.save, resumes the same trajectory.
"""
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import lr_scheduler as mg_schedulers

torch = pytest.importorskip("torch")
torch_schedulers = torch.optim.lr_scheduler

GROUP_LRS = (0.1, 0.02)
GRADIENT = np.array([0.5, -1.0, 2.0])


class Library:
    """One framework's way to build the optimizer, give its parameters gradients and read them back."""

    def __init__(self, name):
        self.name = name
        self.schedulers = mg_schedulers if name == "minigrad" else torch_schedulers

    def optimizer(self, kind):
        if self.name == "minigrad":
            params = [mg.nn.Parameter(mg.zeros(3, dtype=mg.float64)) for _ in GROUP_LRS]
            optimizers = {"sgd": mg.optim.SGD, "adam": mg.optim.Adam}
        else:
            params = [torch.zeros(3, dtype=torch.float64, requires_grad=True) for _ in GROUP_LRS]
            optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
        groups = [{"params": [param], "lr": lr} for param, lr in zip(params, GROUP_LRS)]
        if kind == "sgd":
            return optimizers["sgd"](groups, lr=0.1, momentum=0.9)
        return optimizers["adam"](groups, lr=0.1, betas=(0.9, 0.999))

    def set_gradients(self, optimizer, step):
        for index, group in enumerate(optimizer.param_groups):
            gradient = GRADIENT * (1 + index) / (1 + step % 5)
            for param in group["params"]:
                param.grad = (mg.tensor(gradient, dtype=mg.float64) if self.name == "minigrad"
                              else torch.tensor(gradient, dtype=torch.float64))

    def parameters(self, optimizer):
        return [np.array(param.detach().numpy() if self.name == "torch" else param.numpy(), dtype=np.float64)
                for group in optimizer.param_groups for param in group["params"]]


MINIGRAD, TORCH = Library("minigrad"), Library("torch")


def observed(scheduler, optimizer):
    """What a step leaves behind: each group's lr and momentum or beta1, get_last_lr(), last_epoch."""
    groups = [(group["lr"], group.get("momentum"), group["betas"][0] if "betas" in group else None)
              for group in optimizer.param_groups]
    return groups, list(scheduler.get_last_lr()), getattr(scheduler, "last_epoch", None)


def run(library, case, kind, steps, metrics=None):
    """Build ``case`` in ``library`` and train ``steps`` steps: the observations after construction and each step."""
    optimizer = library.optimizer(kind)
    scheduler = case(library.schedulers, optimizer)
    seen = [observed(scheduler, optimizer)]
    for step in range(steps):
        library.set_gradients(optimizer, step)
        optimizer.step()
        scheduler.step(*([] if metrics is None else [metrics[step]]))
        seen.append(observed(scheduler, optimizer))
    return seen, library.parameters(optimizer)


def assert_same_run(case, kind, steps, metrics=None):
    ours, our_params = run(MINIGRAD, case, kind, steps, metrics)
    theirs, their_params = run(TORCH, case, kind, steps, metrics)
    for step, (mine, reference) in enumerate(zip(ours, theirs)):
        assert mine == reference, f"step {step}: minigrad {mine} != torch {reference}"
    for mine, reference in zip(our_params, their_params):
        np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-14)  # the lr reached the update


def per_group_lambdas(schedulers):
    return [lambda epoch: 1 / (epoch + 1), lambda epoch: 0.9**epoch]


# name, how to build it from a scheduler module and an optimizer, steps (enough for every phase and restart)
CASES = [
    ("LambdaLR", lambda S, o: S.LambdaLR(o, lambda epoch: 0.95**epoch), 25),
    ("LambdaLR-per-group", lambda S, o: S.LambdaLR(o, per_group_lambdas(S)), 25),
    ("MultiplicativeLR", lambda S, o: S.MultiplicativeLR(o, lambda epoch: 0.9 if epoch % 3 else 1.05), 25),
    ("MultiplicativeLR-per-group", lambda S, o: S.MultiplicativeLR(o, [lambda epoch: 0.95, lambda epoch: 0.8]), 20),
    ("StepLR", lambda S, o: S.StepLR(o, step_size=4, gamma=0.5), 25),
    ("MultiStepLR", lambda S, o: S.MultiStepLR(o, milestones=[3, 7, 12], gamma=0.5), 20),
    # as PyTorch: milestones in any order, a repeated one decays twice
    ("MultiStepLR-unordered-repeated", lambda S, o: S.MultiStepLR(o, milestones=[12, 3, 7, 7]), 20),
    ("ConstantLR", lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=4), 10),
    ("ConstantLR-defaults", lambda S, o: S.ConstantLR(o), 10),
    ("LinearLR-warmup", lambda S, o: S.LinearLR(o, start_factor=0.25, total_iters=6), 12),
    ("LinearLR-decay", lambda S, o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=8), 12),
    ("ExponentialLR", lambda S, o: S.ExponentialLR(o, gamma=0.9), 25),
    ("CosineAnnealingLR", lambda S, o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001), 30),  # two periods and more
    ("CosineAnnealingWarmRestarts", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=5), 17),
    # restarts after 3, 9 and 21 steps
    ("CosineAnnealingWarmRestarts-T_mult", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
     30),
    # to last_epoch == total_steps: one step past the schedule's last (total_steps - 1), which PyTorch allows
    ("OneCycleLR", lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=20), 20),
    ("OneCycleLR-linear-per-group", lambda S, o: S.OneCycleLR(
        o, max_lr=[1.0, 0.3], epochs=3, steps_per_epoch=4, pct_start=0.25, anneal_strategy="linear",
        base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.95], div_factor=10.0, final_div_factor=100.0), 12),
    ("OneCycleLR-three-phase", lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=30, pct_start=0.2,
                                                         three_phase=True), 30),
    ("OneCycleLR-three-phase-linear", lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=25, three_phase=True,
                                                                anneal_strategy="linear"), 25),
    ("OneCycleLR-no-momentum", lambda S, o: S.OneCycleLR(o, max_lr=0.4, total_steps=15, cycle_momentum=False), 15),
    ("SequentialLR-warmup-cosine", lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=4), S.CosineAnnealingLR(o, T_max=10)], milestones=[5]), 25),
    ("SequentialLR-three", lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o, factor=0.5, total_iters=2), S.ExponentialLR(o, gamma=0.8),
            S.MultiStepLR(o, milestones=[2, 4])], milestones=[3, 8]), 16),
    ("SequentialLR-restarts-onecycle", lambda S, o: S.SequentialLR(
        o, [S.CosineAnnealingWarmRestarts(o, T_0=3), S.OneCycleLR(o, max_lr=0.3, total_steps=10)], milestones=[7]),
     17),
    ("ChainedScheduler", lambda S, o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=4),
                                                          S.ExponentialLR(o, gamma=0.9)]), 15),
    ("ChainedScheduler-three", lambda S, o: S.ChainedScheduler(
        [S.LinearLR(o, start_factor=0.2, total_iters=5), S.CosineAnnealingLR(o, T_max=12, eta_min=0.001),
         S.MultiStepLR(o, milestones=[6, 9], gamma=0.5)], optimizer=o), 20),
]


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name, case, steps", CASES, ids=[case[0] for case in CASES])
def test_trajectory_matches_pytorch(name, case, steps, kind):
    assert_same_run(case, kind, steps)


# A metric that improves, stalls (ties, gains below the threshold), improves again, then stalls for good.
METRICS = [5.0, 4.0, 4.0, 3.9999, 4.2, 4.1, 3.0, 3.0, 2.9999, 3.1, 3.05, 2.0, 2.5, 2.5, 2.4, 2.45, 2.3, 2.3,
           2.3, 2.3, 2.3, 2.3, 2.3, 2.3, 2.3, 2.3]

PLATEAU_CASES = [
    ("min-rel", lambda S, o: S.ReduceLROnPlateau(o, patience=1), METRICS),
    ("min-abs-cooldown", lambda S, o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=0.05,
                                                          threshold_mode="abs", cooldown=2), METRICS),
    ("max-rel-min_lr", lambda S, o: S.ReduceLROnPlateau(o, mode="max", factor=0.3, patience=0, min_lr=0.001),
     [-value for value in METRICS]),
    ("max-abs-per-group-min_lr", lambda S, o: S.ReduceLROnPlateau(
        o, mode="max", patience=1, threshold=0.01, threshold_mode="abs", min_lr=[0.005, 0.0001], cooldown=1),
     [-value for value in METRICS]),
    ("eps-stops-tiny-changes", lambda S, o: S.ReduceLROnPlateau(o, factor=0.5, patience=0, eps=0.004), METRICS),
]


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name, case, metrics", PLATEAU_CASES, ids=[case[0] for case in PLATEAU_CASES])
def test_reduce_on_plateau_matches_pytorch(name, case, metrics, kind):
    assert_same_run(case, kind, len(metrics), metrics)


def test_reduce_on_plateau_takes_a_tensor_metric():
    optimizer = MINIGRAD.optimizer("sgd")
    scheduler = mg_schedulers.ReduceLROnPlateau(optimizer, patience=0)
    for value in (1.0, 2.0):
        scheduler.step(mg.tensor(value))
    assert scheduler.get_last_lr() == pytest.approx([0.01, 0.002]) and scheduler.best == 1.0


def jump(scheduler, optimizer, epochs):
    """step(epoch) at each of ``epochs`` (PyTorch's deprecated form: the closed form at that epoch)."""
    seen = []
    for epoch in epochs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scheduler.step(epoch)
        seen.append(observed(scheduler, optimizer))
    return seen


@pytest.mark.parametrize("name, case", [
    ("StepLR", lambda S, o: S.StepLR(o, step_size=3, gamma=0.5)),
    ("MultiStepLR", lambda S, o: S.MultiStepLR(o, milestones=[2, 5, 5])),
    ("ConstantLR", lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=4)),
    ("LinearLR", lambda S, o: S.LinearLR(o, start_factor=0.5, total_iters=6)),
    ("ExponentialLR", lambda S, o: S.ExponentialLR(o, gamma=0.7)),
    ("CosineAnnealingLR", lambda S, o: S.CosineAnnealingLR(o, T_max=6, eta_min=0.01)),
    ("LambdaLR", lambda S, o: S.LambdaLR(o, lambda epoch: 1 / (1 + epoch))),
])
def test_step_with_an_epoch_uses_the_closed_form_as_pytorch(name, case):
    epochs = [3, 4, 9, 2, 6, 6, 0, 11]
    results = []
    for library in (MINIGRAD, TORCH):
        optimizer = library.optimizer("sgd")
        scheduler = case(library.schedulers, optimizer)
        seen = jump(scheduler, optimizer, epochs)
        scheduler.step()  # and on from there, chainable again
        results.append(seen + [observed(scheduler, optimizer)])
    assert results[0] == results[1]
    with pytest.warns(UserWarning, match=r"step\(epoch\) is deprecated"):
        case(mg_schedulers, MINIGRAD.optimizer("sgd")).step(3)


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_with_fractional_epochs_match_pytorch(T_mult):
    """The documented loop: step(epoch + batch / batches) within each epoch, jumping across restarts."""
    epochs = [epoch + batch / 4 for epoch in range(30) for batch in range(4)] + [0.5, 40.0, 13.0, 7.25]
    results = []
    for library in (MINIGRAD, TORCH):
        optimizer = library.optimizer("adam")
        scheduler = library.schedulers.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=T_mult, eta_min=1e-4)
        seen = jump(scheduler, optimizer, epochs)
        seen.append((scheduler.T_cur, scheduler.T_i))
        results.append(seen)
    assert results[0] == results[1]


# --- state dicts ----------------------------------------------------------------------------------

ROUND_TRIP_CASES = [case for case in CASES if case[0] in {
    "LambdaLR-per-group", "MultiplicativeLR", "StepLR", "MultiStepLR-unordered-repeated", "ConstantLR",
    "LinearLR-warmup", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts-T_mult",
    "OneCycleLR-three-phase", "OneCycleLR-linear-per-group", "SequentialLR-warmup-cosine",
    "SequentialLR-restarts-onecycle", "ChainedScheduler-three"}]


def resume(case, kind, steps, stop, tmp_path, metrics=None):
    """Run ``stop`` steps, save optimizer and scheduler with mg.save, load both into fresh ones, run the rest."""
    optimizer = MINIGRAD.optimizer(kind)
    scheduler = case(mg_schedulers, optimizer)
    for step in range(stop):
        MINIGRAD.set_gradients(optimizer, step)
        optimizer.step()
        scheduler.step(*([] if metrics is None else [metrics[step]]))
    mg.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "run.npz")
    checkpoint = mg.load(tmp_path / "run.npz")
    params = MINIGRAD.parameters(optimizer)
    optimizer = MINIGRAD.optimizer(kind)
    for param, value in zip((param for group in optimizer.param_groups for param in group["params"]), params):
        param.data[...] = value
    scheduler = case(mg_schedulers, optimizer)  # as PyTorch advises: the scheduler first, then the states
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    seen = [observed(scheduler, optimizer)]
    for step in range(stop, steps):
        MINIGRAD.set_gradients(optimizer, step)
        optimizer.step()
        scheduler.step(*([] if metrics is None else [metrics[step]]))
        seen.append(observed(scheduler, optimizer))
    return seen, MINIGRAD.parameters(optimizer)


@pytest.mark.parametrize("name, case, steps", ROUND_TRIP_CASES, ids=[case[0] for case in ROUND_TRIP_CASES])
def test_state_dict_round_trip_mid_run_continues_the_same_trajectory(name, case, steps, tmp_path):
    kind = "adam" if "OneCycle" in name else "sgd"
    whole, whole_params = run(MINIGRAD, case, kind, steps)
    stop = steps // 2 + 1
    resumed, resumed_params = resume(case, kind, steps, stop, tmp_path)
    assert resumed == whole[stop:]
    for mine, reference in zip(resumed_params, whole_params):
        np.testing.assert_array_equal(mine, reference)


@pytest.mark.parametrize("name, case, metrics", PLATEAU_CASES[1:3], ids=[case[0] for case in PLATEAU_CASES[1:3]])
def test_reduce_on_plateau_round_trip(name, case, metrics, tmp_path):
    whole, _ = run(MINIGRAD, case, "sgd", len(metrics), metrics)
    resumed, _ = resume(case, "sgd", len(metrics), 9, tmp_path, metrics)
    assert resumed == whole[9:]


@pytest.mark.parametrize("name, case, steps", [case for case in CASES if case[0] in {
    "MultiStepLR", "CosineAnnealingLR", "OneCycleLR", "CosineAnnealingWarmRestarts-T_mult"}])
def test_loads_a_pytorch_state_dict(name, case, steps):
    """A PyTorch scheduler's state dict (and its optimizer's lrs) resumes in minigrad where PyTorch left off."""
    optimizer, theirs = TORCH.optimizer("sgd"), None
    theirs = case(torch_schedulers, optimizer)
    for _ in range(steps // 2):
        optimizer.step()
        theirs.step()
    ours_optimizer = MINIGRAD.optimizer("sgd")
    ours = case(mg_schedulers, ours_optimizer)
    for our_group, their_group in zip(ours_optimizer.param_groups, optimizer.param_groups):
        our_group.update({key: value for key, value in their_group.items() if key != "params" and key in our_group})
    ours.load_state_dict(theirs.state_dict())
    for _ in range(steps - steps // 2):
        optimizer.step()
        theirs.step()
        ours.step()
        assert ours.get_last_lr() == theirs.get_last_lr()


def test_lambda_state_dict_saves_callable_objects_not_functions():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate**epoch

    for library in (MINIGRAD, TORCH):
        scheduler = library.schedulers.LambdaLR(library.optimizer("sgd"), [lambda epoch: 1.0, Decay(0.5)])
        assert scheduler.state_dict()["lr_lambdas"] == [None, {"rate": 0.5}]
    fresh = mg_schedulers.LambdaLR(MINIGRAD.optimizer("sgd"), [lambda epoch: 1.0, Decay(0.9)])
    fresh.load_state_dict(scheduler.state_dict())  # torch's state dict, into minigrad
    assert fresh.lr_lambdas[1].rate == 0.5


def test_state_dict_keys_are_pytorchs():
    """The same names as PyTorch's state dicts (minigrad's SequentialLR also keeps base_lrs)."""
    for name, case, _ in CASES:
        states = [case(library.schedulers, library.optimizer("adam")).state_dict() for library in (MINIGRAD, TORCH)]
        theirs = set(states[1]) - {"_get_lr_called_within_step"}
        assert set(states[0]) - {"base_lrs"} == theirs - {"base_lrs"}, name
    for library in (MINIGRAD, TORCH):
        state = library.schedulers.ReduceLROnPlateau(library.optimizer("sgd")).state_dict()
        assert math.isinf(state["best"]) and state["last_epoch"] == 0
