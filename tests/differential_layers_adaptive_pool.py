"""F.adaptive_avg_pool2d and F.adaptive_max_pool2d against PyTorch in the differential fuzzer (loaded by
differential_ops.py): 3-D and 4-D inputs, output sizes below, at and above the input's, None entries,
an empty batch or an empty plane (both libraries must refuse that), and special values."""
import torch.nn.functional as torch_functional
from differential_check import Operand, values
from differential_ops import case, float_dtype
from hypothesis import strategies as st

from minigrad.nn import functional as F


def draw_adaptive(data, rng, special_rate):
    dtype = float_dtype(data)
    leading = (data.draw(st.integers(0, 2), label="batch"),) if data.draw(st.booleans(), label="4-D") else ()
    shape = leading + (data.draw(st.integers(1, 3), label="channels"), data.draw(st.integers(0, 6), label="height"),
                       data.draw(st.integers(1, 6), label="width"))
    entry = st.one_of(st.integers(0, 8), st.none())
    output_size = data.draw(st.one_of(st.integers(0, 8), st.tuples(entry, entry)), label="output_size")
    return [Operand(values(rng, shape, dtype, special_rate))], {"output_size": output_size}


case("F.adaptive_avg_pool2d", F.adaptive_avg_pool2d, torch_functional.adaptive_avg_pool2d, draw_adaptive)
case("F.adaptive_max_pool2d", F.adaptive_max_pool2d, torch_functional.adaptive_max_pool2d, draw_adaptive)
