"""Learning-rate schedules: PyTorch's StepLR, ExponentialLR, CosineAnnealingLR and TensorFlow's decays.

All six share one interface: ``step()`` moves the schedule on by one and writes the new rate into
the optimizer's groups, ``get_last_lr()`` lists the rates in effect, ``last_epoch`` counts the
steps taken, and ``state_dict()`` / ``load_state_dict()`` carry plain Python values. So a training
loop calls ``scheduler.step()`` once per step (or per epoch), whatever the kind.

PyTorch's schedulers take the optimizer first. Constructing one records each group's lr as
``initial_lr`` (unless a group has one already) and sets epoch 0. Rates come from closed forms in
``initial_lr`` and ``last_epoch`` (PyTorch's ``_get_closed_form_lr``) rather than from PyTorch's
default step-by-step multiplication: equal in exact arithmetic, but with no rounding drift over
many steps. As with any closed form, an lr set by hand between steps is overwritten by the next one.

TensorFlow's decays (``tf.keras.optimizers.schedules``) are functions of the step count, with
``p = step / decay_steps``, floored when ``staircase=True``:

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
import math
import numbers


class LRScheduler:
    """The shared machinery: ``get_lr()`` is the closed form at ``last_epoch``, for each group."""

    def __init__(self, optimizer, last_epoch=-1):
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) or last_epoch < -1:
            raise ValueError(f"{self.name}: last_epoch must be an integer >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        self.base_lrs = []
        if optimizer is not None:
            groups = param_groups_of(optimizer, self.name)
            if last_epoch == -1:
                for group in groups:
                    group.setdefault("initial_lr", group["lr"])
            for index, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise ValueError(f"{self.name}: last_epoch={last_epoch} resumes a schedule, but param group "
                                     f"{index} has no 'initial_lr'; construct with last_epoch=-1, or load the "
                                     "optimizer's state dict first")
            self.base_lrs = [group["initial_lr"] for group in groups]
        self.last_epoch = int(last_epoch)
        self.step()

    @property
    def name(self):
        return type(self).__name__

    def lr_at(self, base_lr, epoch):
        """The closed form: the rate of a group whose initial rate is ``base_lr``, at ``epoch``."""
        raise NotImplementedError

    def get_lr(self):
        return [self.lr_at(base_lr, self.last_epoch) for base_lr in self.base_lrs]

    def step(self):
        """Move on one step (or epoch) and set every group's lr."""
        self.last_epoch += 1
        self._apply()

    def _apply(self):
        self._last_lr = self.get_lr()
        if self.optimizer is not None:
            for group, lr in zip(self.optimizer.param_groups, self._last_lr):
                group["lr"] = lr

    def get_last_lr(self):
        """The rates the last ``step()`` set, one per group."""
        return list(self._last_lr)

    # Runtime links, not state: restoring them from a file would make no sense.
    _not_saved = ("optimizer", "follows_iterations")

    def state_dict(self):
        return {key: list(value) if isinstance(value, list) else value
                for key, value in vars(self).items() if key not in self._not_saved}

    def load_state_dict(self, state_dict):
        unknown = sorted(set(state_dict) - set(self.state_dict()))
        if unknown:
            raise ValueError(f"{self.name}.load_state_dict: unexpected keys {unknown}; is this the state dict of "
                             "another kind of scheduler?")
        self.__dict__.update({key: list(value) if isinstance(value, (list, tuple)) else value
                              for key, value in state_dict.items()})


# --- PyTorch's schedulers -------------------------------------------------------------------------

class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size)"""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        require_optimizer(optimizer, self.name)
        check_count(self.name, "step_size", step_size)
        check_number(self.name, "gamma", gamma)
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch"""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        require_optimizer(optimizer, self.name)
        check_number(self.name, "gamma", gamma)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2  (rising again after T_max, as PyTorch's)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        require_optimizer(optimizer, self.name)
        check_number(self.name, "T_max", T_max, positive=True)
        check_number(self.name, "eta_min", eta_min)
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


# --- TensorFlow's decays --------------------------------------------------------------------------

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
        self._apply()

    def get_lr(self):
        group_count = 1 if self.optimizer is None else len(self.optimizer.param_groups)
        return [self(self.last_epoch)] * group_count

    def step(self):
        if self.follows_iterations:
            self.last_epoch = self.optimizer.iterations
            self._apply()
        else:
            super().step()


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


def check_number(owner, name, value, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{owner}: {name} must be {'> 0' if positive else '>= 0'}, got {value!r}")


def check_count(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
