"""ConvTranspose2d at MNIST-autoencoder sizes, batch 100: forward and forward+backward ms, against PyTorch.

The decoder of examples/autoencoder.py: 3x3 kernels, stride 2, padding 1, output_padding 1, each
layer doubling the image (7 -> 14 -> 28). Both inputs are activations, so they need gradients.
Forward+backward is one forward, then backward from a fixed upstream gradient. PyTorch runs on as
many threads as Numba.
"""
import argparse

import numpy as np

from minigrad.bench._libraries import forward_backward_table, minigrad_and_torch, timed_calls

BATCH = 100
GEOMETRY = {"stride": 2, "padding": 1, "output_padding": 1}
# (label, input shape, weight shape (in_channels, out_channels, kh, kw))
LAYERS = [
    ("deconv1 32->16 7->14", (BATCH, 32, 7, 7), (32, 16, 3, 3)),
    ("deconv2 16->1 14->28", (BATCH, 16, 14, 14), (16, 1, 3, 3)),
]


def layer_functions(library, x_array, weight_shape, generator):
    """(forward, forward_and_backward): zero-argument callables for ``library`` (minigrad or torch)."""
    functional = library.nn.functional
    x = library.tensor(x_array, requires_grad=True)
    weight = library.tensor(generator.standard_normal(weight_shape).astype(np.float32) * 0.1, requires_grad=True)
    bias = library.zeros(weight_shape[1], requires_grad=True)

    def run():
        return functional.conv_transpose2d(x, weight, bias, **GEOMETRY)

    return timed_calls(library, run, (x, weight, bias), generator)


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench convtranspose", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    arguments = parser.parse_args(arguments)
    import numba

    libraries = minigrad_and_torch()

    print(f"ConvTranspose2d 3x3 stride 2 padding 1 output_padding 1, milliseconds per call, float32, batch {BATCH}, "
          f"{numba.get_num_threads()} threads, median of {arguments.repeats} interleaved rounds")
    cases = [(label, (shape, weight_shape)) for label, shape, weight_shape in LAYERS]

    def make_functions(library, case):
        shape, weight_shape = case
        x_array = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        return layer_functions(library, x_array, weight_shape, np.random.default_rng(1))

    forward_backward_table(libraries, cases, make_functions, arguments.repeats, label_width=24)
    if "torch" in libraries:
        print("speed = torch time / minigrad time (above 1: minigrad is faster; the target is at least 0.8x)")


if __name__ == "__main__":
    main()
