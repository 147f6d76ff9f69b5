"""LayerNorm forward+backward on (100, 1024) float32, and GroupNorm on (100, 32, 28, 28) G=8, against PyTorch.

Each row is one forward through the module, then backward from a fixed upstream gradient into the
input and the affine parameters, for minigrad and for torch in the same run, interleaved (medians).
torch runs with as many threads as Numba's parallel loops, so the ratio compares like with like.
"""
import argparse

import numpy as np

from minigrad.bench._libraries import forward_backward_table, minigrad_and_torch

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
    cases = [(label, (module_name, constructor_arguments, shape))
             for label, module_name, constructor_arguments, shape in CASES]

    def make_functions(library, case):
        module_name, constructor_arguments, shape = case
        generator = np.random.default_rng(0)
        x_array = generator.standard_normal(shape).astype(np.float32)
        upstream_array = generator.standard_normal(shape).astype(np.float32)
        return layer_functions(library, module_name, constructor_arguments, x_array, upstream_array)

    forward_backward_table(libraries, cases, make_functions, arguments.repeats, label_width=34, batch_seconds=0.2,
                           digits=3)
    if "torch" in libraries:
        print("speed = torch time / minigrad time (1.00x or more: minigrad as fast or faster)")


if __name__ == "__main__":
    main()
