"""RAdam: Adam whose adaptive rate is switched on, and rectified, once the variance estimate is reliable."""
import math

from .. import backend
from .optimizer import Optimizer, check_betas, check_flag, check_number


class RAdam(Optimizer):
    """``torch.optim.RAdam``, with L2 or decoupled weight decay and maximize.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    state_buffers = ("exp_avg", "exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
                 *, maximize=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize})

    def check_group(self, group):
        for name in ("lr", "eps", "weight_decay"):
            check_number(self.name, name, group[name])
        check_betas(self.name, group)
        check_flag(self.name, "decoupled_weight_decay", group["decoupled_weight_decay"])
        check_flag(self.name, "maximize", group["maximize"])

    def update(self, param, flat_param, flat_grad, state, group):
        state["step"] = state.get("step", 0) + 1
        beta1, beta2 = group["betas"]
        radam(flat_param, flat_grad, self.buffer(state, "exp_avg", param), self.buffer(state, "exp_avg_sq", param),
              state["step"], lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
              weight_decay=group["weight_decay"], decoupled_weight_decay=group["decoupled_weight_decay"],
              maximize=group["maximize"])


def radam(param, grad, exp_avg, exp_avg_sq, step, *, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay,
          maximize):
    """p -= lr / (1 - b1^t) * (r_t * sqrt(1 - b2^t) * m / (sqrt(v) + eps) if rho_t > 5 else m).

    rho_t = rho_inf - 2t b2^t / (1 - b2^t) is the length of the approximated simple moving average
    (rho_inf = 2 / (1 - b2) - 1), r_t = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t))
    the variance rectification; scalars in double precision, as PyTorch computes them. Flat arrays,
    updated in place; ``step`` is t, counted from 1.
    """
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
    rectified = rho_t > 5.0
    if rectified:
        rectification = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        step_size = lr * rectification * math.sqrt(bias_correction2) / bias_correction1
    else:
        step_size = lr / bias_correction1
    param_scale = 1.0
    if decoupled_weight_decay:
        param_scale, weight_decay = 1 - lr * weight_decay, 0.0
    backend.radam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale, step_size,
                         rectified, maximize)
