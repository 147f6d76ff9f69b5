"""Depthwise Conv2d (groups = in_channels) at MobileNet-like sizes: forward and forward+backward ms, against PyTorch.

Batch 100, float32, 3x3 kernels with padding 1, a bias, and an input that needs its gradient (as inside
a network). Forward+backward is one forward, then backward from a fixed upstream gradient. PyTorch
runs with as many threads as Numba, in the same process, rounds interleaved.
"""
import argparse

import numpy as np

from minigrad.bench._libraries import forward_backward_table, minigrad_and_torch, timed_calls

# (label, input shape, stride, channel multiplier)
LAYERS = [
    ("32ch 28x28 stride 1", (100, 32, 28, 28), 1, 1),
    ("32ch 28x28 stride 2", (100, 32, 28, 28), 2, 1),
    ("64ch 14x14 stride 1", (100, 64, 14, 14), 1, 1),
    ("16ch 28x28 multiplier 2", (100, 16, 28, 28), 1, 2),
]


def layer_functions(library, x_array, stride, multiplier, generator):
    """(forward, forward_and_backward): zero-argument callables for ``library`` (minigrad or torch)."""
    functional = library.nn.functional
    channels = x_array.shape[1]
    x = library.tensor(x_array, requires_grad=True)
    weight = library.tensor(generator.standard_normal((channels * multiplier, 1, 3, 3)).astype(np.float32) / 3,
                            requires_grad=True)
    bias = library.zeros(channels * multiplier, requires_grad=True)

    def run():
        return functional.conv2d(x, weight, bias, stride, 1, 1, channels)

    return timed_calls(library, run, (x, weight, bias), generator)


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench depthwise", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    arguments = parser.parse_args(arguments)
    import numba

    libraries = minigrad_and_torch()

    print(f"milliseconds per call, float32, 3x3 depthwise, padding 1, {numba.get_num_threads()} threads, "
          f"median of {arguments.repeats} interleaved rounds")
    cases = [(label, (shape, stride, multiplier)) for label, shape, stride, multiplier in LAYERS]

    def make_functions(library, case):
        shape, stride, multiplier = case
        x_array = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        return layer_functions(library, x_array, stride, multiplier, np.random.default_rng(1))

    forward_backward_table(libraries, cases, make_functions, arguments.repeats, label_width=26)
    if "torch" in libraries:
        print("speed = torch time / minigrad time (the target is at least 0.8x; above 1 is faster)")


if __name__ == "__main__":
    main()
