"""Adam (L2 weight decay added to the gradient) and AdamW (weight decay decoupled from it)."""
from .. import backend
from .optimizer import Optimizer, check_betas, check_flag, check_number


class Adam(Optimizer):
    """``torch.optim.Adam``, with its bias corrections, amsgrad, maximize and decoupled_weight_decay (AdamW's).

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``.
    """

    state_buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize,
                                  "decoupled_weight_decay": decoupled_weight_decay})

    def check_group(self, group):
        for name in ("lr", "eps", "weight_decay"):
            check_number(self.name, name, group[name])
        check_betas(self.name, group)
        for name in ("amsgrad", "maximize", "decoupled_weight_decay"):
            check_flag(self.name, name, group[name])

    def update(self, param, flat_param, flat_grad, state, group):
        state["step"] = state.get("step", 0) + 1
        beta1, beta2 = group["betas"]
        adam(flat_param, flat_grad, self.buffer(state, "exp_avg", param), self.buffer(state, "exp_avg_sq", param),
             self.buffer(state, "max_exp_avg_sq", param) if group["amsgrad"] else None, state["step"],
             lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
             decoupled_weight_decay=group["decoupled_weight_decay"], maximize=group["maximize"])


class AdamW(Adam):
    """``torch.optim.AdamW``: p *= 1 - lr*weight_decay before the Adam step, instead of adding wd*p to the gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)


def adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, *, lr, beta1, beta2, eps, weight_decay,
         decoupled_weight_decay, maximize):
    """p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), with m, v the moving averages of g and g².

    Flat arrays, updated in place; ``step`` is t, counted from 1; ``max_exp_avg_sq`` is None
    without amsgrad; ``maximize`` negates the gradient. The bias corrections are scalars, computed here in double precision as
    PyTorch computes them.
    """
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr / bias_correction1
    if decoupled_weight_decay:
        param_scale, weight_decay = 1 - lr * weight_decay, 0.0
    else:
        param_scale = 1.0
    backend.adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, eps, weight_decay,
                        param_scale, step_size, bias_correction2**0.5, maximize)
