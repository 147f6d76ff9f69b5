"""TensorFlow's decays (``tf.keras.optimizers.schedules``): functions of the step count, usable three ways.

With ``p = step / decay_steps``, floored when ``staircase=True``:

    ExponentialDecay(initial_learning_rate, decay_steps, decay_rate)   lr * decay_rate ** p
    NaturalExpDecay(initial_learning_rate, decay_steps, decay_rate)    lr * exp(-decay_rate * p)
    InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate)   lr / (1 + decay_rate * p)

A function (``schedule(step)``), attached with ``optimizer=opt`` (PyTorch style, stepped by the
loop), or passed as ``lr=schedule`` (TensorFlow style, following the optimizer's update count):
see minigrad/optim/lr_scheduler.py. A decay sets the rate outright (a closed form), so it does
not compose in a ChainedScheduler the way PyTorch's chainable schedulers do.
"""
import math

from .schedule_base import LRScheduler, check_number, param_groups_of


class LearningRateSchedule(LRScheduler):
    """A function of the step count, ``decayed(p)`` with ``p = step / decay_steps`` (floored if staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, optimizer=None):
        check_number(self.name, "initial_learning_rate", initial_learning_rate)
        check_number(self.name, "decay_steps", decay_steps, positive=True)
        check_number(self.name, "decay_rate", decay_rate)
        if not isinstance(staircase, bool):
            raise TypeError(f"{self.name}: staircase must be True or False, got {staircase!r}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps, self.decay_rate, self.staircase = decay_steps, float(decay_rate), staircase
        self.follows_iterations = False
        super().__init__(None)
        self.base_lrs = [self.initial_learning_rate]
        if optimizer is not None:
            self.attach(optimizer)

    def decayed(self, progress):
        """The rate after ``progress`` decay periods."""
        raise NotImplementedError

    def __call__(self, step):
        """The learning rate at ``step`` (a count of updates, from 0)."""
        check_number(self.name, "step", step)
        progress = step / self.decay_steps
        return self.decayed(math.floor(progress) if self.staircase else progress)

    def attach(self, optimizer, follow_iterations=False):
        """Drive every group's lr from now on: at ``schedule(last_epoch)``, or at ``schedule(optimizer.iterations)``
        when ``follow_iterations`` (what an optimizer given ``lr=schedule`` asks for)."""
        if self.optimizer is not None:
            raise ValueError(f"{self.name} already drives an optimizer's learning rate; make one schedule per optimizer")
        groups = param_groups_of(optimizer, self.name)
        self.optimizer, self.follows_iterations = optimizer, follow_iterations
        for group in groups:
            group["initial_lr"] = self.initial_learning_rate
        self.base_lrs = [self.initial_learning_rate] * len(groups)
        if follow_iterations:
            self.last_epoch = optimizer.iterations
        self._set_lrs(self.get_lr())

    def get_lr(self):
        group_count = 1 if self.optimizer is None else len(self.optimizer.param_groups)
        return [self(self.last_epoch)] * group_count

    def step(self, epoch=None):
        """Move on one step (or to ``epoch``); an owned schedule (``lr=schedule``) re-reads the optimizer's update count."""
        if self.follows_iterations:
            self.last_epoch = self.optimizer.iterations
            self._set_lrs(self.get_lr())
        else:
            super().step(epoch)


class ExponentialDecay(LearningRateSchedule):
    """lr = initial_learning_rate * decay_rate ** (step / decay_steps)"""

    def decayed(self, progress):
        return self.initial_learning_rate * self.decay_rate ** progress


class NaturalExpDecay(LearningRateSchedule):
    """lr = initial_learning_rate * exp(-decay_rate * step / decay_steps)"""

    def decayed(self, progress):
        return self.initial_learning_rate * math.exp(-self.decay_rate * progress)


class InverseTimeDecay(LearningRateSchedule):
    """lr = initial_learning_rate / (1 + decay_rate * step / decay_steps)"""

    def decayed(self, progress):
        return self.initial_learning_rate / (1 + self.decay_rate * progress)
