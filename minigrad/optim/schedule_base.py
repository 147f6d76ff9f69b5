"""LRScheduler, the machinery PyTorch's schedulers share (``torch.optim.lr_scheduler.LRScheduler``), and the argument checks.

A subclass gives ``get_lr()``: the rates for ``last_epoch``, most often PyTorch's chainable rule,
which scales each group's current lr (so schedulers compose, and an lr set by hand is carried on),
and, where one exists, ``_get_closed_form_lr()``: the rates from ``base_lrs`` alone, used when
``step(epoch)`` jumps to an epoch (and by SequentialLR at a milestone). The trajectories are
PyTorch's to the last bit: the same formulas in the same order of operations.
"""
import copy
import math
import numbers
import warnings


class LRScheduler:
    """The shared machinery: ``step()``, ``get_last_lr()``, ``last_epoch``, ``base_lrs``, the state dict."""

    _is_initial = False  # True during the constructor's step, where chainable rules keep the lr as it is
    _not_saved = ("optimizer", "follows_iterations")  # runtime links, not state

    def __init__(self, optimizer, last_epoch=-1):
        check_last_epoch(self.name, last_epoch)
        self.optimizer = optimizer
        self.base_lrs = []
        if optimizer is not None:
            groups = param_groups_of(optimizer, self.name)
            if last_epoch == -1:
                for group in groups:
                    group.setdefault("initial_lr", group["lr"])
            require_group_keys(self.name, groups, ("initial_lr",), last_epoch)
            self.base_lrs = [group["initial_lr"] for group in groups]
        self.last_epoch = int(last_epoch)
        self._initial_step()

    @property
    def name(self):
        return type(self).__name__

    def _initial_step(self):
        """The constructor's step: epoch -1 -> 0 (or a resumed ``last_epoch`` -> the next)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The rates for ``last_epoch``, one per group (the rule of the schedule)."""
        raise NotImplementedError

    def group_lrs(self):
        """The lr each group has now (what a chainable rule scales)."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self, epoch=None):
        """Move on one step (or epoch) and set every group's lr; ``step(epoch)`` jumps to ``epoch`` (deprecated in PyTorch)."""
        if epoch is not None:
            warnings.warn(f"{self.name}.step(epoch) is deprecated, as in PyTorch: it sets last_epoch and uses the closed "
                          "form where the scheduler has one; call step() once per step instead", UserWarning,
                          stacklevel=2)
        self._step_count += 1
        try:
            self._update_lr(epoch)
        except BaseException:
            self._step_count -= 1
            raise

    def _update_lr(self, epoch=None):
        previous_epoch = self.last_epoch
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                check_epoch(self.name, epoch)
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        except BaseException:
            self.last_epoch = previous_epoch  # a refused step changes nothing
            raise
        self._set_lrs(values)

    def _set_lrs(self, values):
        values = list(values)
        if self.optimizer is None:
            self._last_lr = values
            return
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(f"{self.name}: got {len(values)} learning rates for {len(groups)} param groups")
        for group, lr in zip(groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def get_last_lr(self):
        """The rates the last ``step()`` set, one per group."""
        return list(self._last_lr)

    # Saved by their own rule (a subclass's state_dict adds them), not copied as they are.
    _saved_separately = ()

    def state_dict(self):
        """Every attribute but the optimizer, as plain values (copies)."""
        left_out = set(self._not_saved) | set(self._saved_separately)
        return {key: copy.deepcopy(value) for key, value in vars(self).items() if key not in left_out}

    def load_state_dict(self, state_dict):
        if not isinstance(state_dict, dict):
            raise TypeError(f"{self.name}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        # PyTorch's state dicts carry a flag that only matters inside its step(); it is not state here.
        state = {key: value for key, value in state_dict.items() if key != "_get_lr_called_within_step"}
        unknown = sorted(set(state) - set(self.state_dict()), key=str)
        if unknown:
            raise ValueError(f"{self.name}.load_state_dict: unexpected keys {unknown}; is this the state dict of "
                             "another kind of scheduler?")
        self.__dict__.update({key: copy.deepcopy(value) for key, value in state.items()
                              if key not in self._saved_separately})



# --- argument checks ------------------------------------------------------------------------------

def param_groups_of(optimizer, owner):
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(isinstance(group, dict) and "lr" in group for group in groups):
        raise TypeError(f"{owner}: expected an optimizer (with param_groups holding an 'lr'), got "
                        f"{type(optimizer).__name__}")
    return groups


def require_optimizer(optimizer, owner):
    if optimizer is None:
        raise TypeError(f"{owner}: needs the optimizer whose learning rate it sets, as its first argument")
    return param_groups_of(optimizer, owner)


def require_group_keys(owner, groups, keys, last_epoch):
    """A resumed schedule (``last_epoch`` >= 0) finds what its first construction wrote into the groups: KeyError if not."""
    for index, group in enumerate(groups):
        missing = [key for key in keys if key not in group]
        if missing:
            raise KeyError(f"{owner}: last_epoch={last_epoch} resumes a schedule, but param group {index} has no "
                           f"{', '.join(repr(key) for key in missing)}; construct with last_epoch=-1, or load the "
                           "optimizer's state dict first")


def check_last_epoch(owner, last_epoch):
    if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) or last_epoch < -1:
        raise ValueError(f"{owner}: last_epoch must be an integer >= -1, got {last_epoch!r}")


def check_epoch(owner, epoch):
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or not math.isfinite(epoch) or epoch < 0:
        raise ValueError(f"{owner}.step: epoch must be a number >= 0, got {epoch!r}")


def check_number(owner, name, value, positive=False, at_most=None):
    """A finite real ``value >= 0`` (``> 0`` if ``positive``; ``<= at_most`` if given), or an error naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0) or (at_most is not None and value > at_most):
        upper = "" if at_most is None else f" and <= {at_most}"
        raise ValueError(f"{owner}: {name} must be {'> 0' if positive else '>= 0'}{upper}, got {value!r}")


def check_count(owner, name, value, low=1):
    """An integer ``>= low`` (not a bool), or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        wanted = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{owner}: {name} must be {wanted}, got {value!r}")


def check_flag(owner, name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")


def per_group(owner, name, value, groups):
    """PyTorch's _format_param: one value for every group, or a list/tuple of one per group."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(f"{owner}: {name} must have one value per param group: got {len(value)} values for "
                             f"{len(groups)} param groups")
        return list(value)
    return [value] * len(groups)


def check_milestones(owner, milestones, increasing=False):
    """A list of integer epochs (non-decreasing if ``increasing``), or an error naming the offending entry."""
    if isinstance(milestones, (str, bytes, dict)) or not hasattr(milestones, "__iter__"):
        raise TypeError(f"{owner}: milestones must be a list of integers, got {type(milestones).__name__}")
    milestones = list(milestones)
    for milestone in milestones:
        if isinstance(milestone, bool) or not isinstance(milestone, numbers.Integral):
            raise TypeError(f"{owner}: milestones must be integers, got {milestone!r} in {milestones}")
    if increasing and any(later < earlier for earlier, later in zip(milestones, milestones[1:])):
        raise ValueError(f"{owner}: milestones must be increasing, got {milestones}")
    return [int(milestone) for milestone in milestones]
