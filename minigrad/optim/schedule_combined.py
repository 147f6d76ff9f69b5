"""Schedulers of schedulers: SequentialLR (one after another, at milestones) and ChainedScheduler (all at once)."""
from bisect import bisect_right

from .schedule_base import LRScheduler, check_last_epoch, check_milestones, require_optimizer
from .schedule_plateau import ReduceLROnPlateau


def check_schedulers(owner, optimizer, schedulers):
    """A non-empty list of schedulers of ``optimizer``, none a ReduceLROnPlateau (its step needs a metric)."""
    if isinstance(schedulers, LRScheduler) or not hasattr(schedulers, "__len__"):
        raise TypeError(f"{owner}: schedulers must be a list of schedulers, got {type(schedulers).__name__}")
    schedulers = list(schedulers)
    if not schedulers:
        raise ValueError(f"{owner}: expected at least one scheduler, got none")
    if optimizer is None:
        optimizer = getattr(schedulers[0], "optimizer", None)
    for index, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{owner}: the scheduler at index {index} ({type(scheduler).__name__}) has no optimizer "
                            "attribute; expected a learning-rate scheduler")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{owner}: can't hold a ReduceLROnPlateau (index {index}): its step() needs the metric")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{owner}: every scheduler must drive the same optimizer, but the {type(scheduler).__name__} "
                             f"at index {index} drives another {type(scheduler.optimizer).__name__}")
    return optimizer, schedulers


class _SchedulerOfSchedulers(LRScheduler):
    """Saves the state of each scheduler it holds, under ``_schedulers``."""

    _saved_separately = ("_schedulers",)

    def state_dict(self):
        state = super().state_dict()
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        saved = state_dict.get("_schedulers", [])
        if len(saved) != len(self._schedulers):
            raise ValueError(f"{self.name}.load_state_dict: the state dict holds {len(saved)} schedulers, this "
                             f"{self.name} {len(self._schedulers)}")
        super().load_state_dict(state_dict)
        for scheduler, state in zip(self._schedulers, saved):
            scheduler.load_state_dict(state)


class SequentialLR(_SchedulerOfSchedulers):
    """``schedulers[i]`` drives the lr from ``milestones[i-1]`` on (each starting again from initial_lr at its milestone).

    As PyTorch's: building it resets the groups to ``initial_lr`` and undoes the constructor step of
    every scheduler it holds, so the first one starts afresh at epoch 0.
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        groups = require_optimizer(optimizer, self.name)
        check_last_epoch(self.name, last_epoch)
        _, schedulers = check_schedulers(self.name, optimizer, schedulers)
        milestones = check_milestones(self.name, milestones, increasing=True)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{self.name}: expected one milestone fewer than schedulers, got {len(schedulers)} "
                             f"schedulers and {len(milestones)} milestones {milestones}")
        self._schedulers, self._milestones = schedulers, milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in groups]
        for group in groups:
            group["lr"] = group["initial_lr"]
        self._undo_initial_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo_initial_steps(self, scheduler):
        """Take back the constructor step of ``scheduler`` and of every scheduler it holds (PyTorch's recursive_undo)."""
        if hasattr(scheduler, "_schedulers"):
            for held in scheduler._schedulers:
                self._undo_initial_steps(held)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    def step(self):
        """One step on: the scheduler whose span this step falls in moves on (or starts, at its milestone)."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)  # starts from its closed form at epoch 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_SchedulerOfSchedulers):
    """Every scheduler steps at each ``step()``, in order, each scaling the lr the one before it left.

    ``optimizer`` is optional (the schedulers' own). As PyTorch's, it has no ``last_epoch`` of its own.
    """

    def __init__(self, schedulers, optimizer=None):
        optimizer, schedulers = check_schedulers(self.name, optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = [group["lr"] for group in self._schedulers[-1].optimizer.param_groups]

    def step(self):
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = [group["lr"] for group in self._schedulers[-1].optimizer.param_groups]
