"""F.conv_transpose2d and F.conv1d against PyTorch in the differential fuzzer (loaded by differential_ops.py)."""
import numpy as np
import torch.nn.functional as torch_functional
from differential_check import Operand, values
from differential_ops import case, float_dtype
from hypothesis import strategies as st

from minigrad.nn import functional as F


def draw_conv_transpose2d(data, rng, special_rate):
    dtype = float_dtype(data)
    batch, groups = data.draw(st.integers(0, 2), label="batch"), data.draw(st.integers(1, 2), label="groups")
    channels, outputs = groups * data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    kernel = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    dilation = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    padding = (data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    # up to the largest allowed and one past it (both libraries must refuse that)
    output_padding = tuple(data.draw(st.integers(0, max(s, d)), label="output_padding") for s, d in zip(stride, dilation))
    height, width = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    # PyTorch's float32 paths (oneDNN) return an empty output for some geometries where the others
    # refuse an output size of 0 ("Output size is too small", as minigrad): padding kept below that
    # (tests/test_conv_transpose.py checks the refusal against float64).
    padding = tuple(min(p, ((size - 1) * s + d * (k - 1) + o) // 2)
                    for p, size, s, d, k, o in zip(padding, (height, width), stride, dilation, kernel, output_padding))
    # Special values in x only (as F.conv2d's case: an inf in the weight meets the zero spreading), and
    # in float64 only: an inf in x whose taps land in the cropped border meets zeros there in the weight
    # gradient, which PyTorch's float64 path multiplies (NaN, as minigrad) and its float32 one (oneDNN) skips.
    special_rate = special_rate if dtype == np.float64 else 0.0
    operands = [Operand(values(rng, (batch, channels, height, width), dtype, special_rate)),
                Operand(values(rng, (channels, outputs) + kernel, dtype))]
    if data.draw(st.booleans(), label="bias"):
        operands.append(Operand(values(rng, (outputs * groups,), dtype)))
    return operands, {"stride": stride, "padding": padding, "output_padding": output_padding, "groups": groups,
                      "dilation": dilation}


def conv_transpose2d_both(functional):
    def call(x, weight, bias=None, **options):
        return functional.conv_transpose2d(x, weight, bias, **options)
    return call


case("F.conv_transpose2d", conv_transpose2d_both(F), conv_transpose2d_both(torch_functional), draw_conv_transpose2d,
     special_upstream=False)


def draw_conv1d(data, rng, special_rate):
    dtype = float_dtype(data)
    batch, groups = data.draw(st.integers(0, 2), label="batch"), data.draw(st.integers(1, 2), label="groups")
    channels, outputs = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    kernel, stride, dilation = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    padding = data.draw(st.one_of(st.integers(0, 2), st.sampled_from(["same", "valid"]) if stride == 1 else st.just(0)))
    length = data.draw(st.integers(1, 7), label="length")
    operands = [Operand(values(rng, (batch, channels, length), dtype, special_rate)),
                Operand(values(rng, (outputs, channels // groups, kernel), dtype))]
    if data.draw(st.booleans(), label="bias"):
        operands.append(Operand(values(rng, (outputs,), dtype)))
    return operands, {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def conv1d_both(functional):
    def call(x, weight, bias=None, **options):
        return functional.conv1d(x, weight, bias, **options)
    return call


case("F.conv1d", conv1d_both(F), conv1d_both(torch_functional), draw_conv1d, special_upstream=False)
