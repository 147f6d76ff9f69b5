"""NAdam: Adam with Nesterov momentum, on a momentum schedule that warms up over the first steps."""
import numpy as np

from .. import backend
from .optimizer import Optimizer, check_betas, check_flag, check_number


class NAdam(Optimizer):
    """``torch.optim.NAdam``, with momentum_decay, L2 or decoupled weight decay, and maximize.

    State per parameter: ``step``, ``mu_product`` (the product of the momentum schedule so far, a
    number), ``exp_avg``, ``exp_avg_sq``.
    """

    state_buffers = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize})

    def check_group(self, group):
        for name in ("lr", "eps", "weight_decay", "momentum_decay"):
            check_number(self.name, name, group[name])
        check_betas(self.name, group)
        check_flag(self.name, "decoupled_weight_decay", group["decoupled_weight_decay"])
        check_flag(self.name, "maximize", group["maximize"])

    def update(self, param, flat_param, flat_grad, state, group):
        step = state["step"] = state.get("step", 0) + 1
        beta1, beta2 = group["betas"]
        mu_product = state.setdefault("mu_product", 1.0)
        state["mu_product"] = nadam(
            flat_param, flat_grad, self.buffer(state, "exp_avg", param), self.buffer(state, "exp_avg_sq", param),
            step, mu_product, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
            weight_decay=group["weight_decay"], momentum_decay=group["momentum_decay"],
            decoupled_weight_decay=group["decoupled_weight_decay"], maximize=group["maximize"])


def nadam(param, grad, exp_avg, exp_avg_sq, step, mu_product, *, lr, beta1, beta2, eps, weight_decay, momentum_decay,
          decoupled_weight_decay, maximize):
    """p -= lr * ((1-mu_t) / (1-P_t) * g + mu_{t+1} / (1-P_t mu_{t+1}) * m) / (sqrt(v / (1-b2^t)) + eps).

    mu_t = b1 * (1 - 0.96^(t * momentum_decay) / 2) is the momentum schedule, P_t = mu_1 ... mu_t
    its product (``mu_product`` is P_{t-1}; P_t is returned), m and v the moving averages of g and g².
    Flat arrays, updated in place; ``step`` is t, counted from 1.
    """
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    # PyTorch keeps the product in a float32 tensor (its default scalar dtype) whatever the
    # parameter's dtype, rounding at every step: so does this, or float64 runs would drift apart.
    mu_product = float(np.float32(mu_product) * np.float32(mu))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    grad_coefficient = lr * (1.0 - mu) / (1.0 - mu_product)
    exp_avg_coefficient = lr * mu_next / (1.0 - mu_product * mu_next)
    param_scale = 1.0
    if decoupled_weight_decay:
        param_scale, weight_decay = 1 - lr * weight_decay, 0.0
    backend.nadam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale,
                         1 - beta2**step, grad_coefficient, exp_avg_coefficient, maximize)
    return mu_product
