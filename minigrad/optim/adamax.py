"""Adamax: Adam with the infinity norm of past gradients in place of their root mean square."""
from .. import backend
from .optimizer import Optimizer, check_betas, check_flag, check_number


class Adamax(Optimizer):
    """``torch.optim.Adamax``, with weight_decay (added to the gradient) and maximize.

    State per parameter: ``step``, ``exp_avg`` and ``exp_inf`` (the decayed maximum of |g|).
    """

    state_buffers = ("exp_avg", "exp_inf")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize})

    def check_group(self, group):
        for name in ("lr", "eps", "weight_decay"):
            check_number(self.name, name, group[name])
        check_betas(self.name, group)
        check_flag(self.name, "maximize", group["maximize"])

    def update(self, param, flat_param, flat_grad, state, group):
        state["step"] = state.get("step", 0) + 1
        beta1, beta2 = group["betas"]
        adamax(flat_param, flat_grad, self.buffer(state, "exp_avg", param), self.buffer(state, "exp_inf", param),
               state["step"], lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
               weight_decay=group["weight_decay"], maximize=group["maximize"])


def adamax(param, grad, exp_avg, exp_inf, step, *, lr, beta1, beta2, eps, weight_decay, maximize):
    """m = lerp(m, g, 1-b1);  u = max(b2*u, |g| + eps);  p -= lr / (1 - b1^t) * m / u.

    Flat arrays, updated in place; ``step`` is t, counted from 1; ``g = ±grad + weight_decay * p``.
    """
    backend.adamax_update(param, grad, exp_avg, exp_inf, beta1, beta2, eps, weight_decay, lr / (1 - beta1**step),
                          maximize)
