"""The epoch-wise multipliers: LambdaLR, MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR.

Each docstring gives the closed form in ``initial_lr`` (the group's lr when the first scheduler
was built); ``step()`` follows PyTorch's chainable rule (a factor on the group's current lr),
which equals the closed form alone and composes with other schedulers in a ChainedScheduler.
"""
import types
from bisect import bisect_right
from collections import Counter

from .schedule_base import (LRScheduler, check_count, check_milestones, check_number, per_group,
                            require_optimizer)


class _LambdaSchedule(LRScheduler):
    """Holds one function per group; saves the state of callable objects, not of plain functions (as PyTorch)."""

    _saved_separately = ("lr_lambdas",)

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = require_optimizer(optimizer, self.name)
        self.lr_lambdas = per_group(self.name, "lr_lambda", lr_lambda, groups)
        for index, function in enumerate(self.lr_lambdas):
            if not callable(function):
                raise TypeError(f"{self.name}: lr_lambda must be a function of the epoch, got "
                                f"{type(function).__name__} {function!r}" + (f" at index {index}" if len(groups) > 1 else ""))
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        """As PyTorch: ``lr_lambdas`` holds None for a function or lambda (code is not state), the attributes of a callable object."""
        state = super().state_dict()
        state["lr_lambdas"] = [None if isinstance(function, types.FunctionType) or not hasattr(function, "__dict__")
                               else dict(vars(function)) for function in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        saved = state_dict.get("lr_lambdas", [None] * len(self.lr_lambdas))
        if len(saved) != len(self.lr_lambdas):
            raise ValueError(f"{self.name}.load_state_dict: {len(saved)} lr_lambdas saved, this scheduler has "
                             f"{len(self.lr_lambdas)}")
        super().load_state_dict(state_dict)
        for function, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                vars(function).update(attributes)


class LambdaLR(_LambdaSchedule):
    """lr = initial_lr * lr_lambda(epoch); ``lr_lambda`` one function, or a list of one per group."""

    def get_lr(self):
        return [base_lr * function(self.last_epoch) for function, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaSchedule):
    """lr = lr * lr_lambda(epoch) at each step after the first (no closed form: it multiplies the lr in place)."""

    def get_lr(self):
        if self._is_initial:
            return self.group_lrs()
        return [group["lr"] * function(self.last_epoch)
                for function, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size)"""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        require_optimizer(optimizer, self.name)
        check_count(self.name, "step_size", step_size)
        check_number(self.name, "gamma", gamma)
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self.group_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = initial_lr * gamma ** (number of milestones <= epoch)

    As PyTorch: ``milestones`` are counted, not ordered (a milestone given twice decays twice), and
    kept as a Counter; the state dict holds them as a plain dict {epoch: count}.
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        require_optimizer(optimizer, self.name)
        self.milestones = Counter(check_milestones(self.name, milestones))
        check_number(self.name, "gamma", gamma)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self.group_lrs()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch] for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch) for base_lr in self.base_lrs]

    def state_dict(self):
        state = super().state_dict()
        state["milestones"] = dict(self.milestones)
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        # a saved file gives a dict (with int keys); PyTorch's state dict a Counter
        self.milestones = Counter({int(epoch): int(count) for epoch, count in dict(self.milestones).items()})


class ConstantLR(LRScheduler):
    """lr = initial_lr * factor while epoch < total_iters, then initial_lr"""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        require_optimizer(optimizer, self.name)
        # PyTorch takes factor 0, then divides by it at total_iters.
        check_number(self.name, "factor", factor, positive=True, at_most=1)
        check_count(self.name, "total_iters", total_iters)
        self.factor, self.total_iters = factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return self.group_lrs()
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """lr = initial_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters)"""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        require_optimizer(optimizer, self.name)
        check_number(self.name, "start_factor", start_factor, positive=True, at_most=1)
        check_number(self.name, "end_factor", end_factor, at_most=1)
        check_count(self.name, "total_iters", total_iters)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self.group_lrs()
        # the ratio of the factor at this epoch to the factor at the last one
        return [group["lr"] * (1.0 + (self.end_factor - self.start_factor)
                               / (self.total_iters * self.start_factor
                                  + (self.last_epoch - 1) * (self.end_factor - self.start_factor)))
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                           * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch"""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        require_optimizer(optimizer, self.name)
        check_number(self.name, "gamma", gamma)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self.group_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]
