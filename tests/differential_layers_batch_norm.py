"""F.batch_norm against PyTorch in the differential fuzzer (loaded by differential_ops.py): training and eval,
with and without running statistics, weight and bias; ranks 2 to 4; one value per channel in training
(both must refuse)."""
import torch.nn.functional as torch_functional
from differential_check import Operand, values
from differential_ops import case, float_dtype
from hypothesis import strategies as st

from minigrad.nn import functional as F


def draw_batch_norm(data, rng, special_rate):
    dtype = float_dtype(data)
    rank = data.draw(st.integers(2, 4), label="rank")
    shape = (data.draw(st.integers(1, 3), label="batch"), data.draw(st.integers(1, 3), label="channels"))
    shape += tuple(data.draw(st.integers(1, 4), label="size") for _ in range(rank - 2))
    training = data.draw(st.booleans(), label="training")
    channels = shape[1]
    operands = [Operand(values(rng, shape, dtype, special_rate))]
    running = data.draw(st.booleans(), label="running statistics") or not training
    # running statistics (constants of the graph); a variance kept positive
    operands += [Operand(values(rng, (channels,), dtype) if running else None, grad=False),
                 Operand(values(rng, (channels,), dtype, low=0.5) if running else None, grad=False)]
    for label in ("weight", "bias"):
        operands.append(Operand(values(rng, (channels,), dtype) if data.draw(st.booleans(), label=label) else None))
    options = {"training": training, "momentum": data.draw(st.sampled_from([0.1, 0.5, 1.0]), label="momentum"),
               "eps": data.draw(st.sampled_from([1e-5, 1e-3, 0.5]), label="eps")}
    return operands, options


def batch_norm_both(functional):
    def call(x, running_mean, running_var, weight, bias, **options):
        return functional.batch_norm(x, running_mean, running_var, weight, bias, **options)
    return call


# A finite upstream gradient: with an inf in it, which of a channel's gradients come out inf rather than NaN
# depends on the order of each library's sums (special values in x are drawn, and must agree).
case("F.batch_norm", batch_norm_both(F), batch_norm_both(torch_functional), draw_batch_norm, special_upstream=False)
