"""The annealing schedules: CosineAnnealingLR, CosineAnnealingWarmRestarts (SGDR) and OneCycleLR."""
import math

from .schedule_base import (LRScheduler, check_count, check_epoch, check_flag, check_last_epoch, check_number,
                            per_group, require_group_keys, require_optimizer)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2  (rising again after T_max, as PyTorch's).

    ``step()`` follows PyTorch's recursive form, each rate from the last, so it composes with
    other schedulers; ``step(epoch)`` uses the closed form.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        require_optimizer(optimizer, self.name)
        check_number(self.name, "T_max", T_max, positive=True)
        check_number(self.name, "eta_min", eta_min)
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        epoch, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self.group_lrs()
        if self._step_count == 1 and epoch > 0:
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(epoch * math.pi / period)) / 2
                    for base_lr in self.base_lrs]
        if (epoch - 1 - period) % (2 * period) == 0:
            # the step after a minimum, where the ratio below would divide by zero
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        return [(1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) / period))
                * (group["lr"] - eta_min) + eta_min for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2, T_cur restarting at 0 after T_i steps.

    T_i is T_0 at first and T_mult times longer after each restart. ``step(epoch)`` takes a
    fractional epoch (``step(epoch + batch / batches)`` anneals within an epoch) and finds the
    cycle it falls in, as PyTorch's.
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        require_optimizer(optimizer, self.name)
        check_count(self.name, "T_0", T_0)
        check_count(self.name, "T_mult", T_mult)
        check_number(self.name, "eta_min", eta_min)
        self.T_0 = self.T_i = int(T_0)
        self.T_mult, self.eta_min = int(T_mult), eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch=None):
        """One step on, or to ``epoch`` (a number >= 0, fractions allowed)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            check_epoch(self.name, epoch)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    # restarts so far: the n with T_0 * (T_mult**n - 1) / (T_mult - 1) <= epoch
                    restarts = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**restarts - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** (restarts)
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())


PHASE_KEYS = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")


class OneCycleLR(LRScheduler):
    """The 1cycle policy: lr from max_lr/div_factor up to max_lr over pct_start of the steps, then down to
    initial_lr/final_div_factor (``three_phase``: back to the initial lr, then down), momentum (or Adam's
    beta1) cycled the opposite way between max_momentum and base_momentum.

    Per step, not per epoch: ``total_steps`` (or ``epochs * steps_per_epoch``) steps, and one more
    is allowed, as in PyTorch; stepping beyond raises ValueError. Each group keeps ``initial_lr``,
    ``max_lr``, ``min_lr`` (and ``max_momentum``, ``base_momentum``), so a resumed run
    (``last_epoch`` >= 0 after loading the optimizer's state dict) finds them.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        groups = require_optimizer(optimizer, self.name)
        check_last_epoch(self.name, last_epoch)
        # Everything is checked before any group changes.
        if total_steps is not None:
            check_count(self.name, "total_steps", total_steps)
            self.total_steps = int(total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            check_count(self.name, "epochs", epochs)
            check_count(self.name, "steps_per_epoch", steps_per_epoch)
            self.total_steps = int(epochs) * int(steps_per_epoch)
        else:
            raise ValueError(f"{self.name}: give total_steps, or both epochs and steps_per_epoch; got total_steps="
                             f"{total_steps!r}, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}")
        check_number(self.name, "pct_start", pct_start, at_most=1)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{self.name}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        check_flag(self.name, "cycle_momentum", cycle_momentum)
        check_flag(self.name, "three_phase", three_phase)
        check_number(self.name, "div_factor", div_factor, positive=True)
        check_number(self.name, "final_div_factor", final_div_factor, positive=True)
        max_lrs = per_group(self.name, "max_lr", max_lr, groups)
        for value in max_lrs:
            check_number(self.name, "max_lr", value)
        if cycle_momentum:
            defaults = getattr(optimizer, "defaults", {})
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError(f"{self.name}: cycle_momentum=True needs an optimizer with momentum or betas (beta1); "
                                 f"{type(optimizer).__name__} has neither: pass cycle_momentum=False")
            max_momentums = per_group(self.name, "max_momentum", max_momentum, groups)
            base_momentums = per_group(self.name, "base_momentum", base_momentum, groups)
            for value in max_momentums + base_momentums:
                check_number(self.name, "max_momentum and base_momentum", value)
        self._schedule_phases = self._phases(float(pct_start), three_phase)
        self._anneal_func_type = anneal_strategy
        self.cycle_momentum = cycle_momentum
        if last_epoch == -1:
            for group, top in zip(groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            self.use_beta1 = "betas" in getattr(optimizer, "defaults", {})
            if last_epoch == -1:
                for group, top, base in zip(groups, max_momentums, base_momentums):
                    self._set_momentum(group, top)
                    group["max_momentum"], group["base_momentum"] = top, base
        required = ("initial_lr", "max_lr", "min_lr") + (("max_momentum", "base_momentum") if cycle_momentum else ())
        require_group_keys(self.name, groups, required, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _phases(self, pct_start, three_phase):
        """PyTorch's phases: the step each ends at and the group keys of its start and end values."""
        rise = ["initial_lr", "max_lr", "max_momentum", "base_momentum"]
        if three_phase:
            ends = [pct_start * self.total_steps - 1, 2 * pct_start * self.total_steps - 2, self.total_steps - 1]
            keys = [rise, ["max_lr", "initial_lr", "base_momentum", "max_momentum"],
                    ["initial_lr", "min_lr", "max_momentum", "max_momentum"]]
        else:
            ends = [pct_start * self.total_steps - 1, self.total_steps - 1]
            keys = [rise, ["max_lr", "min_lr", "base_momentum", "max_momentum"]]
        return [dict(zip(PHASE_KEYS, [float(end)] + names)) for end, names in zip(ends, keys)]

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":  # cosine from start (pct 0) to end (pct 1)
            cos_out = math.cos(math.pi * pct) + 1
            return end + (start - end) / 2.0 * cos_out
        return (end - start) * pct + start

    def _set_momentum(self, group, momentum):
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def get_lr(self):
        step_number = self.last_epoch
        if step_number > self.total_steps:
            raise ValueError(f"{self.name}: tried to step {step_number} times; total_steps is {self.total_steps} "
                             "(one step beyond it is allowed, as in PyTorch)")
        phase, start_step = self._phase_at(step_number)
        end_step = phase["end_step"]
        if end_step == start_step:
            raise ValueError(f"{self.name}: a phase of the schedule has no length (it ends at step {end_step:g}, where "
                             f"the previous one ends: pct_start * total_steps = {self._schedule_phases[0]['end_step'] + 1:g}"
                             "); choose pct_start or total_steps so that each phase spans at least 2 steps")
        pct = (step_number - start_step) / (end_step - start_step)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
            if self.cycle_momentum:
                self._set_momentum(group, self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct))
        return lrs

    def _phase_at(self, step_number):
        """The phase ``step_number`` falls in (the last one past its end) and the step the phase starts at."""
        start_step = 0.0
        for index, phase in enumerate(self._schedule_phases):
            if step_number <= phase["end_step"] or index == len(self._schedule_phases) - 1:
                return phase, start_step
            start_step = phase["end_step"]
        raise AssertionError("unreachable: the last phase always matches")
