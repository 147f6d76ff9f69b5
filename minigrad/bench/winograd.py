"""Winograd's row transforms against the gathered matrix products, per layer shape: the rule's evidence.

``kernels/cpu/conv2d.py`` runs Winograd's kernels (winograd.py, winograd_weights.py) or the
gathered ones (im2col.py) for the forward, the input gradient and the weight gradient by the rules
of ``conv_choice.py`` (``uses_winograd``, ``uses_winograd_weight_gradient``), set from these
figures on Zen 3 (AVX2); they keep Winograd off where vectors are AVX-512's, where it was never
measured. This runs both kernels on each shape whatever the rules say, and prints which was faster
and which the rules pick ("direct" or "planes": neither of the two), so that a machine of another
ISA can check them.

Shapes are ``batch,in_channels,out_channels,size,kernel`` (square images and kernels, stride 1,
"same" padding of ``kernel // 2``); the default list is the one the rules were measured on.
"""
import argparse

import numpy as np

from minigrad.bench._timing import time_interleaved

# (batch, in channels, out channels, image size, kernel size): the reference CNN's two layers
# first, then the shapes the docstrings of conv_choice.uses_winograd and
# uses_winograd_weight_gradient quote.
SHAPES = [
    (100, 1, 32, 28, 5), (100, 32, 64, 14, 5),
    (64, 16, 32, 28, 5), (64, 32, 32, 32, 3), (64, 32, 32, 16, 4), (64, 32, 32, 14, 6),
    (64, 32, 32, 16, 7), (64, 32, 32, 8, 5), (64, 16, 32, 28, 3), (100, 16, 16, 28, 3),
    (64, 64, 64, 28, 3), (64, 64, 64, 14, 5), (64, 3, 32, 32, 5),
    (64, 32, 32, 14, 3), (64, 32, 64, 14, 3), (64, 32, 48, 14, 3), (64, 24, 48, 28, 3),
    (64, 64, 64, 16, 3), (64, 64, 128, 14, 3), (64, 48, 64, 14, 5), (64, 32, 96, 14, 5),
]


def parse_shape(text):
    values = tuple(int(value) for value in text.split(","))
    if len(values) != 5 or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"a shape is batch,in_channels,out_channels,size,kernel (five positive integers), got {text!r}")
    return values


def layer_functions(shape, generator):
    """{(pass, kernel): zero-argument callable} for one shape, and the rule's pick per pass."""
    from minigrad.kernels.cpu import conv2d, conv_choice, winograd, winograd_weights
    batch, channels, rows, size, kernel = shape
    pad = kernel // 2
    out_size = size + 2 * pad - kernel + 1
    # Inputs as a ReLU network's: non-negative activations, weights of a trained layer's scale.
    x = np.maximum(generator.standard_normal((batch, channels, size, size)), 0).astype(np.float32)
    weight = (generator.standard_normal((rows, channels, kernel, kernel)) * 0.05).astype(np.float32)
    bias = np.zeros(rows, np.float32)
    grad_out = generator.standard_normal((batch, rows, out_size, out_size)).astype(np.float32)
    out = np.empty_like(grad_out)
    grad_x = np.empty_like(x)
    grad_weight = np.empty_like(weight)
    # The input gradient is a correlation of grad_out with the flipped, channel-swapped weight.
    flipped = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    zeros = np.zeros(channels, np.float32)
    back = kernel - 1 - pad
    functions = {
        ("forward", "winograd"): lambda: winograd.correlate(x, weight, bias, pad, pad, 1, out),
        ("forward", "gathered"): lambda: conv2d.correlate_gathered(x, weight, bias, pad, pad, 1, 1, 1, 1, out),
        ("input grad", "winograd"): lambda: winograd.correlate(grad_out, flipped, zeros, back, back, 1, grad_x),
        ("input grad", "gathered"): lambda: conv2d.correlate_gathered(grad_out, flipped, zeros, back, back,
                                                                      1, 1, 1, 1, grad_x),
        ("weight grad", "winograd"): lambda: winograd_weights.weight_gradient(x, grad_out, pad, pad, 1,
                                                                              kernel, kernel),
        ("weight grad", "gathered"): lambda: conv2d.weight_gradient_gathered(x, grad_out, 1, 1, pad, pad, 1, 1,
                                                                             grad_weight),
    }
    rules = {
        "forward": conv_choice.correlation_kernel(1, 1, 1, 1, 1, weight.shape, out_size, 4),
        "input grad": conv_choice.correlation_kernel(1, 1, 1, 1, 1, flipped.shape, size, 4),
        "weight grad": conv_choice.weight_gradient_kernel(1, 1, 1, weight.shape, out_size, 4),
    }
    return functions, rules


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench winograd", description=__doc__.splitlines()[0])
    parser.add_argument("shapes", nargs="*", type=parse_shape,
                        help="batch,in_channels,out_channels,size,kernel (default: the list the rules were measured on)")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    arguments = parser.parse_args(arguments)
    print(f"milliseconds per call, float32, median of {arguments.repeats} interleaved rounds; "
          "rule: the kernel conv2d.py picks for the shape")
    print(f"{'batch,in,out,size,kernel':<26}{'pass':<13}{'winograd':>10}{'gathered':>10}{'ratio':>8}  faster    rule")
    for shape in arguments.shapes or SHAPES:
        functions, rules = layer_functions(shape, np.random.default_rng(0))
        for phase in ("forward", "input grad", "weight grad"):
            seconds = time_interleaved({kernel: functions[(phase, kernel)] for kernel in ("winograd", "gathered")},
                                       arguments.repeats)
            ratio = seconds["winograd"] / seconds["gathered"]
            faster = "winograd" if ratio < 1 else "gathered"
            label = ",".join(str(value) for value in shape)
            print(f"{label:<26}{phase:<13}{seconds['winograd'] * 1e3:>10.2f}{seconds['gathered'] * 1e3:>10.2f}"
                  f"{ratio:>8.2f}  {faster:<10}{rules[phase]}", flush=True)
    print("ratio = winograd time / gathered time (below 1: Winograd is faster)")


if __name__ == "__main__":
    main()
