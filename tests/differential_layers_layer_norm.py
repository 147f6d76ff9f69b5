"""F.layer_norm and F.group_norm against PyTorch in the differential fuzzer (loaded by differential_ops.py):
one to three normalized axes, weight and bias each present or not, groups from 1 to C, empty batches.

Without special values, in the inputs and in the upstream gradient: a row holding a huge value
overflows PyTorch's float32 variance (float accumulation) where minigrad's float64 sums do not, and
an inf in the upstream gradient meets inf - inf in the row sums, which the two libraries order
differently (PyTorch gives some elements of such a row -inf, minigrad NaN all along it)."""
import torch.nn.functional as torch_functional
from differential_check import Operand, values
from differential_ops import case, float_dtype
from hypothesis import strategies as st

from minigrad.nn import functional as F


def draw_layer_norm(data, rng, special_rate):
    dtype = float_dtype(data)
    leading = tuple(data.draw(st.lists(st.integers(0, 3), max_size=2), label="leading"))
    normalized = tuple(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3), label="normalized_shape"))
    operands = [Operand(values(rng, leading + normalized, dtype))]
    with_weight, with_bias = data.draw(st.booleans(), label="weight"), data.draw(st.booleans(), label="bias")
    operands.append(Operand(values(rng, normalized, dtype) if with_weight else None, grad=with_weight))
    operands.append(Operand(values(rng, normalized, dtype) if with_bias else None, grad=with_bias))
    return operands, {"normalized_shape": normalized, "eps": data.draw(st.sampled_from([1e-5, 1e-3]), label="eps")}


def layer_norm_both(functional):
    def call(x, weight, bias, normalized_shape, eps):
        return functional.layer_norm(x, normalized_shape, weight, bias, eps)
    return call


def draw_group_norm(data, rng, special_rate):
    dtype = float_dtype(data)
    groups = data.draw(st.integers(1, 3), label="groups")
    channels = groups * data.draw(st.integers(1, 3), label="channels per group")
    spatial = tuple(data.draw(st.lists(st.integers(1, 4), max_size=2), label="spatial"))
    batch = data.draw(st.integers(0, 3), label="batch")
    if batch * channels // groups * (1 if not spatial else spatial[0] * spatial[-1]) <= 1:
        batch += 2  # one value per group: both libraries refuse it (tests/test_layer_norm.py checks that)
    operands = [Operand(values(rng, (batch, channels) + spatial, dtype))]
    with_weight, with_bias = data.draw(st.booleans(), label="weight"), data.draw(st.booleans(), label="bias")
    operands.append(Operand(values(rng, (channels,), dtype) if with_weight else None, grad=with_weight))
    operands.append(Operand(values(rng, (channels,), dtype) if with_bias else None, grad=with_bias))
    return operands, {"num_groups": groups}


def group_norm_both(functional):
    def call(x, weight, bias, num_groups):
        return functional.group_norm(x, num_groups, weight, bias)
    return call


case("F.layer_norm", layer_norm_both(F), layer_norm_both(torch_functional), draw_layer_norm,
     special_upstream=False)
case("F.group_norm", group_norm_both(F), group_norm_both(torch_functional), draw_group_norm,
     special_upstream=False)
