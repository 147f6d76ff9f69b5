"""Adadelta: steps in the parameter's own units, without a hand-tuned rate (lr scales them, 1 by default)."""
from .. import backend
from .optimizer import Optimizer, check_flag, check_number


class Adadelta(Optimizer):
    """``torch.optim.Adadelta``, with weight_decay and maximize.

    State per parameter: ``step``, ``square_avg`` (the moving mean of g²) and ``acc_delta`` (of the steps²).
    """

    state_buffers = ("square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize})

    def check_group(self, group):
        for name in ("lr", "eps", "weight_decay"):
            check_number(self.name, name, group[name])
        check_number(self.name, "rho", group["rho"], high=1, high_included=True)
        check_flag(self.name, "maximize", group["maximize"])

    def update(self, param, flat_param, flat_grad, state, group):
        state["step"] = state.get("step", 0) + 1
        adadelta(flat_param, flat_grad, self.buffer(state, "square_avg", param), self.buffer(state, "acc_delta", param),
                 lr=group["lr"], rho=group["rho"], eps=group["eps"], weight_decay=group["weight_decay"],
                 maximize=group["maximize"])


def adadelta(param, grad, square_avg, acc_delta, *, lr, rho, eps, weight_decay, maximize):
    """s = rho*s + (1-rho)*g²;  d = sqrt(a + eps) / sqrt(s + eps) * g;  a = rho*a + (1-rho)*d²;  p -= lr * d.

    Flat arrays, updated in place; ``g = ±grad + weight_decay * p`` (minus with ``maximize``).
    """
    backend.adadelta_update(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize)
