"""One softmax-regression training step on MNIST shapes, minigrad against PyTorch, same run.

The step: logits = x @ W + b (100x784 @ 784x10), fused softmax cross-entropy, backward, and the
plain gradient-descent update. At this size the arithmetic is small (about 3 MFLOP), so the figure
is mostly per-op overhead: Python dispatch, tape bookkeeping, kernel launches. The same function
builds the step for both libraries: minigrad uses PyTorch's names.
"""
import argparse
import importlib

import numpy as np

from minigrad.bench._timing import time_interleaved

BATCH, FEATURES, CLASSES, LEARNING_RATE = 100, 784, 10, 0.1


def step_function(library, x_array, label_array):
    """A zero-argument training step written against ``library`` (the minigrad or torch module)."""
    functional = library.nn.functional
    x, labels = library.from_numpy(x_array), library.from_numpy(label_array)
    weight = library.zeros(FEATURES, CLASSES, requires_grad=True)
    bias = library.zeros(CLASSES, requires_grad=True)

    def step():
        loss = functional.cross_entropy(x @ weight + bias, labels)
        loss.backward()
        with library.no_grad():
            weight.sub_(LEARNING_RATE * weight.grad)
            bias.sub_(LEARNING_RATE * bias.grad)
        weight.grad = bias.grad = None

    return step


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench step", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds; the median is printed (default 15)")
    arguments = parser.parse_args(arguments)

    generator = np.random.default_rng(0)
    x_array = generator.random((BATCH, FEATURES), dtype=np.float32)
    label_array = generator.integers(0, CLASSES, BATCH).astype(np.int64)
    steps = {}
    for name, module in [("minigrad", "minigrad"), ("pytorch", "torch")]:
        try:
            steps[name] = step_function(importlib.import_module(module), x_array, label_array)
        except ImportError:
            print(f"({module} is not installed: left out)")
    for step in steps.values():
        for _ in range(20):  # warm up: compile or load kernels, fill allocator pools
            step()
    seconds = time_interleaved(steps, arguments.repeats)

    print(f"softmax-regression step, {BATCH}x{FEATURES} @ {FEATURES}x{CLASSES}, float32, "
          f"median of {arguments.repeats} interleaved rounds")
    for name, value in seconds.items():
        print(f"  {name:<9} {value * 1e6:8.1f} us/step")
    if "pytorch" in seconds:
        print(f"  ratio minigrad/pytorch time: {seconds['minigrad'] / seconds['pytorch']:.2f} (below 1 is faster)")


if __name__ == "__main__":
    main()
