"""RMSprop: the gradient divided by a moving root mean square of its recent values."""
from .. import backend
from .optimizer import Optimizer, check_flag, check_number


class RMSprop(Optimizer):
    """``torch.optim.RMSprop``, with its centered and momentum variants.

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (with momentum) and
    ``grad_avg`` (centered).
    """

    state_buffers = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered, "maximize": maximize})

    def check_group(self, group):
        for name in ("lr", "eps", "weight_decay", "momentum"):
            check_number(self.name, name, group[name])
        check_number(self.name, "alpha", group["alpha"], high=1, high_included=True)
        check_flag(self.name, "centered", group["centered"])
        check_flag(self.name, "maximize", group["maximize"])

    def update(self, param, flat_param, flat_grad, state, group):
        state["step"] = state.get("step", 0) + 1
        # Allocated in PyTorch's order, so a state dict lists its entries as PyTorch's does.
        square_avg = self.buffer(state, "square_avg", param)
        momentum_buffer = self.buffer(state, "momentum_buffer", param) if group["momentum"] > 0 else None
        grad_avg = self.buffer(state, "grad_avg", param) if group["centered"] else None
        rmsprop(flat_param, flat_grad, square_avg, grad_avg, momentum_buffer, lr=group["lr"], alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                momentum=group["momentum"], maximize=group["maximize"])


def rmsprop(param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps, weight_decay, momentum, maximize):
    """s = alpha*s + (1-alpha)*g²;  d = sqrt(s - mean(g)² if centered else s) + eps;  p -= lr * (b = momentum*b + g/d if momentum else g/d).

    Flat arrays, updated in place; ``grad_avg`` is None unless centered, ``momentum_buffer`` None
    without momentum; ``maximize`` negates the gradient.
    """
    backend.rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay,
                           momentum, maximize)
