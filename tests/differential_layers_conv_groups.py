"""F.conv2d with groups (depthwise with channel multipliers, and other groupings) against PyTorch in the
differential fuzzer (loaded by differential_ops.py)."""
import torch.nn.functional as torch_functional
from differential_check import Operand, values
from differential_ops import case, float_dtype
from hypothesis import strategies as st

from minigrad.nn import functional as F


def draw_grouped_conv2d(data, rng, special_rate):
    dtype = float_dtype(data)
    groups = data.draw(st.integers(2, 3), label="groups")
    depthwise = data.draw(st.booleans(), label="depthwise")
    channels = groups if depthwise else groups * data.draw(st.integers(1, 2), label="channels per group")
    outputs = groups * data.draw(st.integers(1, 2), label="outputs per group")
    batch = data.draw(st.integers(0, 2), label="batch")
    kernel = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    dilation = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    padding = data.draw(st.one_of(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                                  st.sampled_from(["same", "valid"]) if stride == (1, 1) else st.just(0)))
    height, width = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7))
    # Special values in x only, as F.conv2d's case: PyTorch answers an inf weight times the zero padding
    # differently by dtype (float64 multiplies, NaN; float32's depthwise path skips the padding).
    operands = [Operand(values(rng, (batch, channels, height, width), dtype, special_rate)),
                Operand(values(rng, (outputs, channels // groups) + kernel, dtype))]
    if data.draw(st.booleans(), label="bias"):
        operands.append(Operand(values(rng, (outputs,), dtype)))
    return operands, {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def grouped_conv2d_both(functional):
    def call(x, weight, bias=None, **options):
        return functional.conv2d(x, weight, bias, **options)
    return call


case("F.conv2d groups", grouped_conv2d_both(F), grouped_conv2d_both(torch_functional), draw_grouped_conv2d,
     special_upstream=False)
