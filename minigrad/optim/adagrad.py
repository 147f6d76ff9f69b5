"""Adagrad: per-coordinate steps scaled down by the root of the summed squared gradients."""
from .. import backend
from .optimizer import Optimizer, check_flag, check_number


class Adagrad(Optimizer):
    """``torch.optim.Adagrad``, with lr_decay, initial_accumulator_value and maximize.

    State per parameter: ``step``, ``sum``.
    """

    state_buffers = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, *,
                 maximize=False):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value, "eps": eps,
                                  "maximize": maximize})

    def check_group(self, group):
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_number(self.name, name, group[name])
        check_flag(self.name, "maximize", group["maximize"])

    def update(self, param, flat_param, flat_grad, state, group):
        state["step"] = state.get("step", 0) + 1
        state_sum = self.buffer(state, "sum", param, fill=group["initial_accumulator_value"])
        adagrad(flat_param, flat_grad, state_sum, state["step"], lr=group["lr"], lr_decay=group["lr_decay"],
                eps=group["eps"], weight_decay=group["weight_decay"], maximize=group["maximize"])


def adagrad(param, grad, state_sum, step, *, lr, lr_decay, eps, weight_decay, maximize):
    """sum += g²;  p -= lr / (1 + (t-1)*lr_decay) * g / (sqrt(sum) + eps).

    Flat arrays, updated in place; ``step`` is t, counted from 1; ``maximize`` negates the gradient.
    """
    backend.adagrad_update(param, grad, state_sum, lr / (1 + (step - 1) * lr_decay), eps, weight_decay, maximize)
