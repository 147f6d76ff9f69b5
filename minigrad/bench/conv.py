"""The reference CNN's conv and pool layers at batch 100: forward and forward+backward ms, against PyTorch.

As in training: conv1's input is the image batch, which needs no gradient; every other layer's
input is an activation, which does. Forward+backward is one forward, then backward from a fixed
upstream gradient. The same function builds each measurement for minigrad and for torch.
"""
import argparse
import importlib

import numpy as np

from minigrad.bench._timing import time_interleaved

BATCH = 100


def reference_layers(batch=BATCH, channels=(32, 64), image_size=28):
    """The conv and pool layers at ``batch``, as rows of LAYERS; ``channels`` (the two convs'
    outputs) and ``image_size`` are the reference's unless given (the GPU suite's --quick shrinks them)."""
    first, second = channels
    half = image_size // 2
    return [
        (f"conv1 5x5 1->{first} same", (batch, 1, image_size, image_size), "conv", (first, 1, 5, 5), False),
        ("pool1 max 2x2", (batch, first, image_size, image_size), "max_pool2d", None, True),
        (f"conv2 5x5 {first}->{second} same", (batch, first, half, half), "conv", (second, first, 5, 5), True),
        ("pool2 max 2x2", (batch, second, half, half), "max_pool2d", None, True),
    ]


# (label, input shape, what runs on it, weight shape, does the input need a gradient)
LAYERS = reference_layers()


def layer_functions(library, x_array, operation, weight_shape, input_needs_grad, generator, device="cpu"):
    """(forward, forward_and_backward): zero-argument callables for ``library`` (minigrad or torch),
    their tensors on ``device``."""
    functional = library.nn.functional
    x = library.tensor(x_array, requires_grad=input_needs_grad, device=device)
    if operation == "conv":
        weight = library.tensor(generator.standard_normal(weight_shape).astype(np.float32) * 0.1,
                                requires_grad=True, device=device)
        bias = library.zeros(weight_shape[0], requires_grad=True, device=device)

        def run():
            return functional.conv2d(x, weight, bias, padding=2)
        parameters = [weight, bias]
    else:
        def run():
            return getattr(functional, operation)(x, 2)
        parameters = []
    upstream = library.tensor(generator.standard_normal(run().shape).astype(np.float32), device=device)

    def forward():
        with library.no_grad():
            run()

    def forward_and_backward():
        run().backward(upstream)
        for tensor in parameters + [x]:
            tensor.grad = None

    return forward, forward_and_backward


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench conv", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    arguments = parser.parse_args(arguments)
    libraries = {"minigrad": importlib.import_module("minigrad")}
    try:
        libraries["torch"] = importlib.import_module("torch")
    except ImportError:
        print("(torch is not installed: minigrad alone)")

    print(f"milliseconds per call, float32, batch {BATCH}, median of {arguments.repeats} interleaved rounds")
    columns = "".join(f"{name + ' ' + phase:>18}" for phase in ("fwd", "fwd+bwd") for name in libraries)
    ratios = f"{'ratio fwd':>11}{'ratio fwd+bwd':>15}" if "torch" in libraries else ""
    print(f"{'layer':<24}{columns}{ratios}")
    for label, shape, operation, weight_shape, input_needs_grad in LAYERS:
        generator = np.random.default_rng(0)
        x_array = generator.standard_normal(shape).astype(np.float32)
        functions = {}
        for name, library in libraries.items():
            forward, both = layer_functions(library, x_array, operation, weight_shape, input_needs_grad,
                                            np.random.default_rng(1))
            functions[(name, "fwd")], functions[(name, "fwd+bwd")] = forward, both
        seconds = time_interleaved(functions, arguments.repeats, batch_seconds=0.3)
        cells = "".join(f"{seconds[(name, phase)] * 1e3:>18.2f}" for phase in ("fwd", "fwd+bwd") for name in libraries)
        line = f"{label:<24}{cells}"
        if "torch" in libraries:
            for phase, width in (("fwd", 11), ("fwd+bwd", 15)):
                line += f"{seconds[('minigrad', phase)] / seconds[('torch', phase)]:>{width}.2f}"
        print(line, flush=True)
    if "torch" in libraries:
        print("ratio = minigrad time / torch time (below 1 is faster)")


if __name__ == "__main__":
    main()
