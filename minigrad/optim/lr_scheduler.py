"""Learning-rate schedules: PyTorch's ``torch.optim.lr_scheduler`` and TensorFlow's decays, under one interface.

``step()`` moves the schedule on by one and writes the new rate into the optimizer's groups,
``get_last_lr()`` lists the rates in effect, ``last_epoch`` counts the steps taken, and
``state_dict()`` / ``load_state_dict()`` carry plain Python values (``mg.save`` writes them). So a
training loop calls ``scheduler.step()`` once per step (or per epoch), whatever the kind
(``ReduceLROnPlateau.step(metric)`` takes the metric it watches).

PyTorch's schedulers (schedule_steps.py, schedule_cyclic.py, schedule_plateau.py,
schedule_combined.py) take the optimizer first, and follow PyTorch 2.13 step for step, to the
last bit of each rate:

    LambdaLR MultiplicativeLR StepLR MultiStepLR ConstantLR LinearLR ExponentialLR
    CosineAnnealingLR CosineAnnealingWarmRestarts OneCycleLR ReduceLROnPlateau
    SequentialLR ChainedScheduler

Constructing one records each group's lr as ``initial_lr`` (unless a group has one already:
``base_lrs`` are those) and takes the first step, to epoch 0. As in PyTorch, ``step()`` is
chainable: most schedulers scale the lr each group has now, so several can drive one optimizer
(ChainedScheduler, SequentialLR), and an lr changed by hand between steps is carried on;
``step(epoch)`` jumps to ``epoch`` with the closed form in ``initial_lr`` (deprecated in PyTorch,
kept for its users). A scheduler resumed with ``last_epoch=k`` takes the rates the groups have
(load the optimizer's state dict first), as PyTorch's does. A state dict holds everything but the
optimizer (and, for LambdaLR and MultiplicativeLR, no code: lambdas are not saved, the attributes
of a callable object are).

TensorFlow's decays (schedule_decays.py), functions of the step count with ``p = step / decay_steps``
(floored when ``staircase=True``):

    ExponentialDecay(initial_learning_rate, decay_steps, decay_rate)   lr * decay_rate ** p
    NaturalExpDecay(initial_learning_rate, decay_steps, decay_rate)    lr * exp(-decay_rate * p)
    InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate)   lr / (1 + decay_rate * p)

Each can be used three ways:

- as a function, like a Keras LearningRateSchedule: ``schedule(step)`` is the rate at ``step``;
- attached with ``optimizer=opt`` (PyTorch style): every group's lr becomes ``schedule(0)`` now and
  ``schedule(last_epoch)`` at each ``scheduler.step()`` the loop calls;
- passed as the learning rate, ``SGD(params, lr=schedule)`` (TensorFlow style): the optimizer owns
  it and the rate follows its update count, ``schedule(optimizer.iterations)``, with nothing to
  call. ``step()`` on an owned schedule only re-reads that count, so a loop that calls it anyway
  does no harm, and the optimizer's state dict (which holds ``iterations``) resumes it.

A decay drives one rate for all groups (TensorFlow has no groups); for per-group rates use the
PyTorch-style schedulers.
"""
from .schedule_base import LRScheduler
from .schedule_combined import ChainedScheduler, SequentialLR
from .schedule_cyclic import CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR
from .schedule_decays import ExponentialDecay, InverseTimeDecay, LearningRateSchedule, NaturalExpDecay
from .schedule_plateau import ReduceLROnPlateau
from .schedule_steps import ConstantLR, ExponentialLR, LambdaLR, LinearLR, MultiplicativeLR, MultiStepLR, StepLR

__all__ = [
    "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
    "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "ReduceLROnPlateau",
    "SequentialLR", "ChainedScheduler",
    "LearningRateSchedule", "ExponentialDecay", "NaturalExpDecay", "InverseTimeDecay",
]
_LRScheduler = LRScheduler  # the name older PyTorch code subclasses (left out of __all__, as in PyTorch)
