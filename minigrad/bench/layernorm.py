"""LayerNorm forward+backward on (100, 1024) float32, and GroupNorm on (100, 32, 28, 28) G=8, against PyTorch.

Each row is one forward through the module, then backward from a fixed upstream gradient into the
input and the affine parameters, for minigrad and for torch in the same run, interleaved (medians).
torch runs with as many threads as Numba's parallel loops, so the ratio compares like with like.
"""
import argparse

import numpy as np

from minigrad.bench._libraries import minigrad_and_torch
from minigrad.bench._timing import time_interleaved

# (label, module name, constructor arguments, input shape)
CASES = [
    ("LayerNorm (100, 1024)", "LayerNorm", (1024,), (100, 1024)),
    ("GroupNorm (100, 32, 28, 28) G=8", "GroupNorm", (8, 32), (100, 32, 28, 28)),
]


def layer_functions(library, module_name, arguments, x_array, upstream_array):
    """(forward, forward_and_backward) zero-argument callables for ``library`` (minigrad or torch)."""
    module = getattr(library.nn, module_name)(*arguments)
    x = library.tensor(x_array, requires_grad=True)
    upstream = library.tensor(upstream_array)

    def forward():
        with library.no_grad():
            module(x)

    def forward_and_backward():
        module(x).backward(upstream)
        for tensor in (x, module.weight, module.bias):
            tensor.grad = None

    return forward, forward_and_backward


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench layernorm", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    arguments = parser.parse_args(arguments)
    import numba

    libraries = minigrad_and_torch()
    print(f"milliseconds per call, float32, {numba.get_num_threads()} threads, median of {arguments.repeats} "
          "interleaved rounds")
    columns = "".join(f"{name + ' ' + phase:>18}" for phase in ("fwd", "fwd+bwd") for name in libraries)
    ratios = f"{'speed fwd':>11}{'speed fwd+bwd':>15}" if "torch" in libraries else ""
    print(f"{'layer':<34}{columns}{ratios}")
    for label, module_name, constructor_arguments, shape in CASES:
        generator = np.random.default_rng(0)
        x_array = generator.standard_normal(shape).astype(np.float32)
        upstream_array = generator.standard_normal(shape).astype(np.float32)
        functions = {}
        for name, library in libraries.items():
            forward, both = layer_functions(library, module_name, constructor_arguments, x_array, upstream_array)
            functions[(name, "fwd")], functions[(name, "fwd+bwd")] = forward, both
        seconds = time_interleaved(functions, arguments.repeats, batch_seconds=0.2)
        cells = "".join(f"{seconds[(name, phase)] * 1e3:>18.3f}" for phase in ("fwd", "fwd+bwd") for name in libraries)
        line = f"{label:<34}{cells}"
        if "torch" in libraries:
            for phase, width in (("fwd", 11), ("fwd+bwd", 15)):
                line += f"{seconds[('torch', phase)] / seconds[('minigrad', phase)]:>{width}.2f}x"
        print(line, flush=True)
    if "torch" in libraries:
        print("speed = torch time / minigrad time (1.00x or more: minigrad as fast or faster)")


if __name__ == "__main__":
    main()
