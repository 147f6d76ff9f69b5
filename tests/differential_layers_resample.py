"""F.interpolate and F.pad against PyTorch in the differential fuzzer (loaded by differential_ops.py).

Nearest draws sizes or integer scale factors only: for a non-integer factor near 1 or 2 PyTorch's
nearest backward takes index shortcuts its forward does not (tests/test_interpolate.py), so its
gradient is not its forward's transpose there, and minigrad's is. Bilinear draws finite values only: where a tap's weight is 0,
inf * 0 is NaN in the formula, and PyTorch's float32 kernels give NaN for some output rows and inf for
others with the same weights (vectorized and scalar code paths), which no formula reproduces."""
import torch.nn.functional as torch_functional
from differential_check import Operand, values
from differential_ops import case, float_dtype
from hypothesis import strategies as st

from minigrad.nn import functional as F


def draw_interpolate(mode, data, rng, special_rate):
    dtype = float_dtype(data)
    if mode == "bilinear":
        special_rate = 0.0
    shape = (data.draw(st.integers(0, 2), label="batch"), data.draw(st.integers(1, 3), label="channels"),
             data.draw(st.integers(1, 6), label="height"), data.draw(st.integers(1, 6), label="width"))
    options = {"mode": mode}
    if mode == "bilinear":
        options["align_corners"] = data.draw(st.booleans(), label="align_corners")
    if data.draw(st.booleans(), label="by size"):
        size = st.integers(1, 9)
        options["size"] = data.draw(st.one_of(size, st.tuples(size, size)), label="size")
    elif mode == "nearest":
        options["scale_factor"] = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)), label="scale_factor")
    else:
        factor = st.floats(0.3, 3.0)
        factors = data.draw(st.tuples(factor, factor), label="scale_factor")
        if min(int(length * f) for length, f in zip(shape[2:], factors)) < 1:
            factors = (2.0, 2.0)
        options["scale_factor"] = factors
        options["recompute_scale_factor"] = data.draw(st.sampled_from([None, True]), label="recompute")
    return [Operand(values(rng, shape, dtype, special_rate))], options


case("F.interpolate nearest", F.interpolate, torch_functional.interpolate,
     lambda data, rng, special_rate: draw_interpolate("nearest", data, rng, special_rate))
case("F.interpolate bilinear", F.interpolate, torch_functional.interpolate,
     lambda data, rng, special_rate: draw_interpolate("bilinear", data, rng, special_rate), special_upstream=False)


def draw_pad(data, rng, special_rate):
    dtype = float_dtype(data)
    mode = data.draw(st.sampled_from(["constant", "reflect", "replicate"]), label="mode")
    if mode == "constant":
        shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4), label="shape"))
        dims = data.draw(st.integers(0, len(shape)), label="padded dims")
        pad = []
        for length in reversed(shape[len(shape) - dims:]):
            before = data.draw(st.integers(-length, 3))
            pad += [before, data.draw(st.integers(-(length + before), 3))]  # never a negative size
        options = {"value": data.draw(st.sampled_from([None, 0.0, -1.5, 2.0]), label="value")}
    else:
        dims = data.draw(st.integers(1, 2), label="padded dims")
        ndim = data.draw(st.integers(dims + 1, dims + 2), label="input dims")
        shape = tuple(data.draw(st.integers(1, 4)) for _ in range(ndim))
        limit = (lambda length: length - 1) if mode == "reflect" else (lambda length: 5)
        pad = []
        for length in reversed(shape[ndim - dims:]):
            pad += [data.draw(st.integers(-(length // 2), limit(length))), data.draw(st.integers(-(length // 2), limit(length)))]
        options = {}
    return [Operand(values(rng, shape, dtype, special_rate))], dict(options, pad=tuple(pad), mode=mode)


def pad_both(functional):
    def call(x, pad, **options):
        return functional.pad(x, pad, **options)
    return call


case("F.pad", pad_both(F), pad_both(torch_functional), draw_pad)
