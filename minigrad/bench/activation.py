"""The activations' forward+backward at (100, 32, 28, 28) float32 (a CNN's first activations), against PyTorch.

Each row is one forward through the module, then backward from a fixed upstream gradient into the
input, for minigrad and for torch in the same run, interleaved (medians). torch runs with as many
threads as Numba's parallel loops, so the ratio (torch's time / minigrad's: above 1 is faster)
compares like with like.
"""
import argparse

import numpy as np

from minigrad.bench._libraries import minigrad_and_torch
from minigrad.bench._timing import time_interleaved

# (label, module name, constructor arguments)
CASES = [
    ("LeakyReLU", "LeakyReLU", ()), ("ELU", "ELU", ()), ("GELU", "GELU", ()), ("GELU tanh", "GELU", ("tanh",)),
    ("SiLU", "SiLU", ()), ("Softplus", "Softplus", ()), ("Hardtanh", "Hardtanh", ()), ("ReLU6", "ReLU6", ()),
    ("Mish", "Mish", ()), ("ReLU (for scale)", "ReLU", ()),
]
SHAPE = (100, 32, 28, 28)


def step_function(library, module_name, arguments, x_array, upstream_array):
    """A zero-argument callable: forward through the module, backward into the input."""
    module = getattr(library.nn, module_name)(*arguments)
    x = library.tensor(x_array, requires_grad=True)
    upstream = library.tensor(upstream_array)

    def forward_and_backward():
        module(x).backward(upstream)
        x.grad = None

    return forward_and_backward


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench activation", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    parser.add_argument("--only", nargs="*", help="labels to run (default: all)")
    arguments = parser.parse_args(arguments)
    import numba

    libraries = minigrad_and_torch()
    print(f"milliseconds per forward+backward, {SHAPE} float32, {numba.get_num_threads()} threads, median of "
          f"{arguments.repeats} interleaved rounds")
    print(f"{'activation':<18}" + "".join(f"{name:>10}" for name in libraries) + ("   speed" if "torch" in libraries else ""))
    generator = np.random.default_rng(0)
    x_array = generator.standard_normal(SHAPE).astype(np.float32) * 3
    upstream_array = generator.standard_normal(SHAPE).astype(np.float32)
    for label, module_name, constructor_arguments in CASES:
        if arguments.only and label not in arguments.only:
            continue
        functions = {name: step_function(library, module_name, constructor_arguments, x_array, upstream_array)
                     for name, library in libraries.items()}
        seconds = time_interleaved(functions, arguments.repeats)
        row = "".join(f"{seconds[name] * 1e3:10.2f}" for name in libraries)
        if "torch" in libraries:
            row += f"{seconds['torch'] / seconds['minigrad']:7.2f}x"
        print(f"{label:<18}{row}")


if __name__ == "__main__":
    main()
