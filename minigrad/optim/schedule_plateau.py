"""ReduceLROnPlateau: lr *= factor when a metric has stopped improving for ``patience`` steps."""
import math
import numbers
import warnings

from .schedule_base import LRScheduler, check_count, check_number, require_optimizer

MODES = ("min", "max")
THRESHOLD_MODES = ("rel", "abs")


class ReduceLROnPlateau(LRScheduler):
    """``torch.optim.lr_scheduler.ReduceLROnPlateau``: ``step(metric)`` once per evaluation.

    A metric is better than the best so far when below ``best * (1 - threshold)`` (mode 'min',
    threshold_mode 'rel'), ``best - threshold`` ('abs'), or above ``best * (1 + threshold)`` /
    ``best + threshold`` in mode 'max'. After more than ``patience`` steps without one, each
    group's lr becomes ``max(lr * factor, min_lr)`` (unchanged if that moves it by ``eps`` or
    less), then ``cooldown`` steps pass in which bad steps are not counted.

    As PyTorch's, it scales the rates the groups have (it records no ``initial_lr`` and has no
    ``base_lrs``), ``last_epoch`` counts the steps and ``get_last_lr()`` gives the rates.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        groups = require_optimizer(optimizer, self.name)
        check_number(self.name, "factor", factor)
        if factor >= 1.0:
            raise ValueError(f"{self.name}: factor must be < 1.0 (the lr is multiplied by it), got {factor!r}")
        check_count(self.name, "patience", patience, low=0)
        check_count(self.name, "cooldown", cooldown, low=0)
        check_number(self.name, "eps", eps)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(groups):
                raise ValueError(f"{self.name}: min_lr must have one value per param group: got {len(min_lr)} values "
                                 f"for {len(groups)} param groups")
            for value in min_lr:
                check_number(self.name, "min_lr", value)
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            check_number(self.name, "min_lr", min_lr)
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * len(groups)
        self._init_is_better(mode, threshold, threshold_mode)
        self.factor, self.patience, self.cooldown, self.eps = factor, int(patience), int(cooldown), eps
        self.optimizer = optimizer
        self.last_epoch = 0
        self._last_lr = self.group_lrs()
        self._reset()

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in MODES:
            raise ValueError(f"{self.name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in THRESHOLD_MODES:
            raise ValueError(f"{self.name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        check_number(self.name, "threshold", threshold)
        self.mode_worse = math.inf if mode == "min" else -math.inf  # worse than any metric: the first one is better
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _is_better(self, metric, best):
        if self.mode == "min" and self.threshold_mode == "rel":
            return metric < best * (1.0 - self.threshold)
        if self.mode == "min":
            return metric < best - self.threshold
        if self.threshold_mode == "rel":
            return metric > best * (self.threshold + 1.0)
        return metric > best + self.threshold

    def step(self, metrics, epoch=None):
        """Take one evaluation's metric (a number or a one-element tensor) and reduce the lr if it has plateaued."""
        current = metric_value(self.name, metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(f"{self.name}.step(metrics, epoch) is deprecated, as in PyTorch: call step(metrics)",
                          UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad steps in a cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self.group_lrs()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"{self.name}: the optimizer has {len(groups)} param groups, {len(self.min_lrs)} "
                                   "when this scheduler was built with one min_lr per group (a group was added "
                                   "since?); set min_lrs to one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


def metric_value(owner, metrics):
    """A float from a number, a NumPy scalar or a one-element array or tensor."""
    value = metrics
    if not isinstance(value, numbers.Real) and hasattr(value, "item"):
        try:
            value = value.item()
        except (TypeError, ValueError):
            raise ValueError(f"{owner}.step: metrics must be one number, got {type(metrics).__name__} of shape "
                             f"{getattr(metrics, 'shape', '?')}") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}.step: metrics must be a number, got {type(metrics).__name__} {metrics!r}")
    return float(value)
