"""BatchNorm2d training forward+backward at (100, 32, 28, 28) and (100, 64, 14, 14) float32, against PyTorch.

Each row times, for minigrad and for torch in the same run, interleaved (medians): the training
forward alone (batch statistics, running statistics updated), the training forward then backward
from a fixed upstream gradient into the input, weight and bias, and the eval forward. torch runs
with as many threads as Numba's parallel loops, so the ratio compares like with like.
"""
import argparse

import numpy as np

from minigrad.bench._libraries import minigrad_and_torch
from minigrad.bench._timing import time_interleaved

SHAPES = [(100, 32, 28, 28), (100, 64, 14, 14)]
PHASES = ("train fwd", "train fwd+bwd", "eval fwd")


def layer_functions(library, x_array, upstream_array):
    """{phase: zero-argument callable} for ``library`` (minigrad or torch)."""
    module = library.nn.BatchNorm2d(x_array.shape[1])
    x = library.tensor(x_array, requires_grad=True)
    upstream = library.tensor(upstream_array)

    def train_forward():
        module.train()
        with library.no_grad():
            module(x)

    def train_forward_backward():
        module.train()
        module(x).backward(upstream)
        for tensor in (x, module.weight, module.bias):
            tensor.grad = None

    def eval_forward():
        module.eval()
        with library.no_grad():
            module(x)

    return dict(zip(PHASES, (train_forward, train_forward_backward, eval_forward)))


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench batchnorm", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    arguments = parser.parse_args(arguments)
    import numba

    libraries = minigrad_and_torch()
    print(f"BatchNorm2d, milliseconds per call, float32, {numba.get_num_threads()} threads, median of "
          f"{arguments.repeats} interleaved rounds")
    columns = "".join(f"{name:>10}" for name in libraries)
    print(f"{'shape':<20}{'phase':<15}{columns}{'speed' if 'torch' in libraries else '':>9}")
    for shape in SHAPES:
        generator = np.random.default_rng(0)
        x_array = (generator.standard_normal(shape) * 2 + 0.5).astype(np.float32)
        upstream_array = generator.standard_normal(shape).astype(np.float32)
        functions = {}
        for name, library in libraries.items():
            for phase, function in layer_functions(library, x_array, upstream_array).items():
                functions[(name, phase)] = function
        seconds = time_interleaved(functions, arguments.repeats, batch_seconds=0.2)
        for phase in PHASES:
            cells = "".join(f"{seconds[(name, phase)] * 1e3:>10.3f}" for name in libraries)
            line = f"{str(shape):<20}{phase:<15}{cells}"
            if "torch" in libraries:
                line += f"{seconds[('torch', phase)] / seconds[('minigrad', phase)]:>8.2f}x"
            print(line, flush=True)
    if "torch" in libraries:
        print("speed = torch time / minigrad time (1.00x or more: minigrad as fast or faster)")


if __name__ == "__main__":
    main()
