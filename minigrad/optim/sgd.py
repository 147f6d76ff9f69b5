"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay."""
from .. import backend
from .optimizer import Optimizer, check_flag, check_number


class SGD(Optimizer):
    """``torch.optim.SGD``: the buffer starts as the first gradient, undampened, as PyTorch's does.

    State per parameter (with momentum only): ``momentum_buffer``.
    """

    state_buffers = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                                  "nesterov": nesterov, "maximize": maximize})

    def check_group(self, group):
        for name in ("lr", "momentum", "weight_decay"):
            check_number(self.name, name, group[name])
        check_number(self.name, "dampening", group["dampening"], high=1, high_included=True)
        check_flag(self.name, "nesterov", group["nesterov"])
        check_flag(self.name, "maximize", group["maximize"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{self.name}: Nesterov momentum requires a momentum > 0 and zero dampening, got "
                             f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")

    def update(self, param, flat_param, flat_grad, state, group):
        momentum_buffer, first_step = None, False
        if group["momentum"] != 0:
            first_step = "momentum_buffer" not in state
            momentum_buffer = self.buffer(state, "momentum_buffer", param)
        sgd(flat_param, flat_grad, momentum_buffer, first_step, lr=group["lr"], momentum=group["momentum"],
            dampening=group["dampening"], nesterov=group["nesterov"], weight_decay=group["weight_decay"],
            maximize=group["maximize"])


def sgd(param, grad, momentum_buffer, first_step, *, lr, momentum, dampening, nesterov, weight_decay, maximize):
    """g = ±grad + wd*p;  b = g (first step) or momentum*b + (1-dampening)*g;  p -= lr * (g + momentum*b if nesterov else b).

    Flat arrays, updated in place; ``momentum_buffer`` is None without momentum; ``maximize`` negates grad.
    """
    backend.sgd_update(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov, first_step,
                       maximize)
