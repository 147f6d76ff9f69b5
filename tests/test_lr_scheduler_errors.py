"""Bad arguments to the schedulers: refused at the call, naming the scheduler and the value; PyTorch refuses them too
(with the same exception type) unless the table says it takes them."""
import pytest

import minigrad as mg
from minigrad.optim import lr_scheduler as mg_schedulers

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")  # torch's step-order warning


def minigrad_optimizer(kind="sgd"):
    groups = [{"params": [mg.nn.Parameter(mg.zeros(2))], "lr": lr} for lr in (0.1, 0.02)]
    if kind == "adagrad":
        return mg.optim.Adagrad(groups, lr=0.1)
    return mg.optim.SGD(groups, lr=0.1, momentum=0.9)


def torch_optimizer(kind="sgd"):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.02)]
    if kind == "adagrad":
        return torch.optim.Adagrad(groups, lr=0.1)
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9)


def other_optimizer_pair(S, o):
    """Two schedulers of two different optimizers."""
    other = minigrad_optimizer() if S is mg_schedulers else torch_optimizer()
    return [S.ExponentialLR(o, 0.9), S.ExponentialLR(other, 0.9)]


# (id, build from a scheduler module and an optimizer, our error, our message, PyTorch's error or None where it accepts)
BAD = [
    ("MultiStepLR-milestones-not-a-list", lambda S, o: S.MultiStepLR(o, milestones=5), TypeError,
     "MultiStepLR: milestones must be a list of integers, got int", TypeError),
    ("MultiStepLR-milestone-not-an-integer", lambda S, o: S.MultiStepLR(o, milestones=[2, "4"]), TypeError,
     r"MultiStepLR: milestones must be integers, got '4' in \[2, '4'\]", None),
    ("ConstantLR-factor-above-1", lambda S, o: S.ConstantLR(o, factor=1.5), ValueError,
     r"ConstantLR: factor must be > 0 and <= 1, got 1.5", ValueError),
    ("ConstantLR-factor-negative", lambda S, o: S.ConstantLR(o, factor=-0.5), ValueError,
     r"ConstantLR: factor must be > 0 and <= 1, got -0.5", ValueError),
    # PyTorch takes 0, then divides by it at total_iters (ZeroDivisionError)
    ("ConstantLR-factor-zero", lambda S, o: S.ConstantLR(o, factor=0.0), ValueError,
     r"ConstantLR: factor must be > 0 and <= 1, got 0.0", None),
    ("ConstantLR-total_iters-zero", lambda S, o: S.ConstantLR(o, total_iters=0), ValueError,
     "ConstantLR: total_iters must be a positive integer, got 0", None),
    ("LinearLR-start_factor-zero", lambda S, o: S.LinearLR(o, start_factor=0), ValueError,
     r"LinearLR: start_factor must be > 0 and <= 1, got 0", ValueError),
    ("LinearLR-start_factor-above-1", lambda S, o: S.LinearLR(o, start_factor=2.0), ValueError,
     r"LinearLR: start_factor must be > 0 and <= 1, got 2.0", ValueError),
    ("LinearLR-end_factor-negative", lambda S, o: S.LinearLR(o, end_factor=-0.1), ValueError,
     r"LinearLR: end_factor must be >= 0 and <= 1, got -0.1", ValueError),
    ("LinearLR-total_iters-float", lambda S, o: S.LinearLR(o, total_iters=2.5), ValueError,
     "LinearLR: total_iters must be a positive integer, got 2.5", None),
    ("LambdaLR-too-few-lambdas", lambda S, o: S.LambdaLR(o, [lambda epoch: 1.0]), ValueError,
     "LambdaLR: lr_lambda must have one value per param group: got 1 values for 2 param groups", ValueError),
    ("LambdaLR-not-callable", lambda S, o: S.LambdaLR(o, 0.5), TypeError,
     "LambdaLR: lr_lambda must be a function of the epoch, got float 0.5", TypeError),
    ("MultiplicativeLR-not-callable", lambda S, o: S.MultiplicativeLR(o, [lambda epoch: 0.9, 2]), TypeError,
     "MultiplicativeLR: lr_lambda must be a function of the epoch, got int 2 at index 1", TypeError),
    # PyTorch divides by it at the first step
    ("StepLR-step_size-zero", lambda S, o: S.StepLR(o, step_size=0).step(), ValueError,
     "StepLR: step_size must be a positive integer, got 0", ZeroDivisionError),
    ("CosineAnnealingWarmRestarts-T_0-zero", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError,
     "CosineAnnealingWarmRestarts: T_0 must be a positive integer, got 0", ValueError),
    ("CosineAnnealingWarmRestarts-T_0-float", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2.5), ValueError,
     "CosineAnnealingWarmRestarts: T_0 must be a positive integer, got 2.5", ValueError),
    ("CosineAnnealingWarmRestarts-T_mult-zero", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0),
     ValueError, "CosineAnnealingWarmRestarts: T_mult must be a positive integer, got 0", ValueError),
    ("CosineAnnealingWarmRestarts-T_mult-float", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=1.5),
     ValueError, "CosineAnnealingWarmRestarts: T_mult must be a positive integer, got 1.5", ValueError),
    ("CosineAnnealingWarmRestarts-negative-epoch", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3).step(-1),
     ValueError, r"CosineAnnealingWarmRestarts.step: epoch must be a number >= 0, got -1", ValueError),
    ("OneCycleLR-no-length", lambda S, o: S.OneCycleLR(o, max_lr=0.1), ValueError,
     "OneCycleLR: give total_steps, or both epochs and steps_per_epoch; got total_steps=None", ValueError),
    ("OneCycleLR-epochs-without-steps_per_epoch", lambda S, o: S.OneCycleLR(o, max_lr=0.1, epochs=3), ValueError,
     "OneCycleLR: give total_steps, or both epochs and steps_per_epoch", ValueError),
    ("OneCycleLR-total_steps-zero", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError,
     "OneCycleLR: total_steps must be a positive integer, got 0", ValueError),
    ("OneCycleLR-epochs-negative", lambda S, o: S.OneCycleLR(o, max_lr=0.1, epochs=-2, steps_per_epoch=5),
     ValueError, "OneCycleLR: epochs must be a positive integer, got -2", ValueError),
    ("OneCycleLR-steps_per_epoch-float", lambda S, o: S.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=2.5),
     ValueError, "OneCycleLR: steps_per_epoch must be a positive integer, got 2.5", ValueError),
    ("OneCycleLR-pct_start-above-1", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5),
     ValueError, r"OneCycleLR: pct_start must be >= 0 and <= 1, got 1.5", ValueError),
    ("OneCycleLR-anneal_strategy", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
     ValueError, "OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'exp'", ValueError),
    ("OneCycleLR-max_lr-per-group", lambda S, o: S.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10),
     ValueError, "OneCycleLR: max_lr must have one value per param group: got 3 values for 2 param groups",
     ValueError),
    ("OneCycleLR-base_momentum-per-group", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10,
                                                                     base_momentum=[0.8]),
     ValueError, "OneCycleLR: base_momentum must have one value per param group: got 1 values", ValueError),
    # PyTorch divides by zero at the first step, where the warm-up phase has no length
    ("OneCycleLR-phase-of-no-length", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=0.1),
     ValueError, r"OneCycleLR: a phase of the schedule has no length .*pct_start \* total_steps = 1\)",
     ZeroDivisionError),
    ("OneCycleLR-div_factor-zero", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, div_factor=0),
     ValueError, "OneCycleLR: div_factor must be > 0, got 0", ZeroDivisionError),
    ("SequentialLR-no-schedulers", lambda S, o: S.SequentialLR(o, [], milestones=[]), ValueError,
     "SequentialLR: expected at least one scheduler, got none", ValueError),
    ("SequentialLR-milestone-count", lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o), S.ExponentialLR(o, 0.9)], milestones=[2, 4]), ValueError,
     r"SequentialLR: expected one milestone fewer than schedulers, got 2 schedulers and 2 milestones \[2, 4\]",
     ValueError),
    ("SequentialLR-milestones-decreasing", lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o), S.ExponentialLR(o, 0.9), S.StepLR(o, 2)], milestones=[6, 3]), ValueError,
     r"SequentialLR: milestones must be increasing, got \[6, 3\]", None),
    ("SequentialLR-plateau", lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o), S.ReduceLROnPlateau(o)], milestones=[2]), ValueError,
     r"SequentialLR: can't hold a ReduceLROnPlateau \(index 1\)", ValueError),
    ("SequentialLR-other-optimizer", lambda S, o: S.SequentialLR(o, other_optimizer_pair(S, o), milestones=[2]),
     ValueError, "SequentialLR: every scheduler must drive the same optimizer, but the ExponentialLR at index 1",
     ValueError),
    ("SequentialLR-not-a-scheduler", lambda S, o: S.SequentialLR(o, [S.ConstantLR(o), object()], milestones=[2]),
     TypeError, "SequentialLR: the scheduler at index 1 .object. has no optimizer attribute", TypeError),
    ("ChainedScheduler-no-schedulers", lambda S, o: S.ChainedScheduler([], optimizer=o), ValueError,
     "ChainedScheduler: expected at least one scheduler, got none", ValueError),
    ("ChainedScheduler-plateau", lambda S, o: S.ChainedScheduler([S.ExponentialLR(o, 0.9), S.ReduceLROnPlateau(o)]),
     ValueError, r"ChainedScheduler: can't hold a ReduceLROnPlateau \(index 1\)", ValueError),
    ("ChainedScheduler-other-optimizer", lambda S, o: S.ChainedScheduler(other_optimizer_pair(S, o)), ValueError,
     "ChainedScheduler: every scheduler must drive the same optimizer", ValueError),
    ("ReduceLROnPlateau-factor-1", lambda S, o: S.ReduceLROnPlateau(o, factor=1.0), ValueError,
     r"ReduceLROnPlateau: factor must be < 1.0 \(the lr is multiplied by it\), got 1.0", ValueError),
    ("ReduceLROnPlateau-mode", lambda S, o: S.ReduceLROnPlateau(o, mode="avg"), ValueError,
     "ReduceLROnPlateau: mode must be 'min' or 'max', got 'avg'", ValueError),
    ("ReduceLROnPlateau-threshold_mode", lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="percent"), ValueError,
     "ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got 'percent'", ValueError),
    ("ReduceLROnPlateau-min_lr-per-group", lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1, 0.2, 0.3]), ValueError,
     "ReduceLROnPlateau: min_lr must have one value per param group: got 3 values for 2 param groups", ValueError),
    ("ReduceLROnPlateau-patience-negative", lambda S, o: S.ReduceLROnPlateau(o, patience=-1), ValueError,
     "ReduceLROnPlateau: patience must be an integer >= 0, got -1", None),
    ("ReduceLROnPlateau-metric-of-many", lambda S, o: S.ReduceLROnPlateau(o).step(
        mg.ones(3) if S is mg_schedulers else torch.ones(3)), ValueError,
     r"ReduceLROnPlateau.step: metrics must be one number, got Tensor of shape \(3,\)", ValueError),
    ("resume-without-initial_lr", lambda S, o: S.ExponentialLR(o, 0.9, last_epoch=3), KeyError,
     "ExponentialLR: last_epoch=3 resumes a schedule, but param group 0 has no 'initial_lr'", KeyError),
    ("OneCycleLR-resume-without-its-keys", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, last_epoch=3),
     KeyError, "OneCycleLR: last_epoch=3 resumes a schedule, but param group 0 has no 'initial_lr', 'max_lr', "
     "'min_lr', 'max_momentum', 'base_momentum'", KeyError),
    ("not-an-optimizer", lambda S, o: S.StepLR([1, 2], step_size=3), TypeError,
     "StepLR: expected an optimizer .with param_groups holding an 'lr'., got list", TypeError),
]


@pytest.mark.parametrize("name, make, error, message, torch_error", BAD, ids=[case[0] for case in BAD])
def test_bad_arguments_are_refused_naming_the_scheduler_and_value(name, make, error, message, torch_error):
    with pytest.raises(error, match=message):
        make(mg_schedulers, minigrad_optimizer())
    if torch_error is None:  # PyTorch takes it (and misbehaves later, or never): minigrad refuses more
        make(torch.optim.lr_scheduler, torch_optimizer())
    else:
        with pytest.raises(torch_error):
            make(torch.optim.lr_scheduler, torch_optimizer())


def test_one_cycle_needs_momentum_or_betas_and_changes_nothing_when_refused():
    optimizer = minigrad_optimizer("adagrad")
    before = [dict(group) for group in optimizer.param_groups]
    with pytest.raises(ValueError, match="OneCycleLR: cycle_momentum=True needs an optimizer with momentum or betas"):
        mg_schedulers.OneCycleLR(optimizer, max_lr=0.1, total_steps=10)
    assert optimizer.param_groups == before  # (PyTorch's has written initial_lr, max_lr, min_lr by then)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        torch.optim.lr_scheduler.OneCycleLR(torch_optimizer("adagrad"), max_lr=0.1, total_steps=10)
    mg_schedulers.OneCycleLR(optimizer, max_lr=0.1, total_steps=10, cycle_momentum=False)  # fine without cycling


def test_one_cycle_stepping_past_total_steps_raises_as_pytorch_and_changes_nothing():
    ours = mg_schedulers.OneCycleLR(optimizer := minigrad_optimizer(), max_lr=1.0, total_steps=6)
    theirs = torch.optim.lr_scheduler.OneCycleLR(torch_optimizer(), max_lr=1.0, total_steps=6)
    for _ in range(6):  # to last_epoch 6: one past the last step of the schedule, which PyTorch allows
        ours.step()
        theirs.step()
    assert ours.get_last_lr() == theirs.get_last_lr() and ours.last_epoch == theirs.last_epoch == 6
    lrs, momenta = ours.get_last_lr(), [group["momentum"] for group in optimizer.param_groups]
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 7 times; total_steps is 6"):
        ours.step()
    with pytest.raises(ValueError, match="Tried to step 7 times. The specified number of total steps is 6"):
        theirs.step()
    assert ours.last_epoch == 6 and ours.get_last_lr() == lrs == [group["lr"] for group in optimizer.param_groups]
    assert [group["momentum"] for group in optimizer.param_groups] == momenta


def test_milestones_out_of_order_are_taken_as_pytorch_takes_them():
    """MultiStepLR counts its milestones (PyTorch's Counter): order does not matter, a repeat decays twice."""
    optimizer = minigrad_optimizer()
    scheduler = mg_schedulers.MultiStepLR(optimizer, milestones=[4, 2, 4], gamma=0.5)
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(5):
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.0125, 0.0125])
    assert dict(scheduler.milestones) == {4: 2, 2: 1}


def test_load_state_dict_of_another_kind_is_refused():
    optimizer = minigrad_optimizer()
    state = mg_schedulers.OneCycleLR(optimizer, max_lr=0.1, total_steps=10).state_dict()
    with pytest.raises(ValueError, match=r"CosineAnnealingLR.load_state_dict: unexpected keys \['_anneal_func_type'"):
        mg_schedulers.CosineAnnealingLR(optimizer, T_max=5).load_state_dict(state)
    sequential = mg_schedulers.SequentialLR(optimizer, [mg_schedulers.ConstantLR(optimizer),
                                                        mg_schedulers.ExponentialLR(optimizer, 0.9)], milestones=[3])
    state = sequential.state_dict()
    state["_schedulers"] = state["_schedulers"][:1]
    with pytest.raises(ValueError, match="SequentialLR.load_state_dict: the state dict holds 1 schedulers, this "
                                         "SequentialLR 2"):
        sequential.load_state_dict(state)
