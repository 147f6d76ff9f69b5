"""One softmax-regression training step on MNIST shapes, minigrad against PyTorch, same run.

The step: logits = x @ W + b (100x784 @ 784x10), fused softmax cross-entropy, backward, and the
plain gradient-descent update. At this size the arithmetic is tiny (about 3 MFLOP), so the figure
measures per-op overhead: Python dispatch, tape bookkeeping, kernel launches.
"""
import argparse
import statistics
import time

import numpy as np

BATCH, FEATURES, CLASSES, LEARNING_RATE = 100, 784, 10, 0.1


def minigrad_step_function(x_array, label_array):
    import minigrad as mg
    import minigrad.nn.functional as F

    x, labels = mg.from_numpy(x_array), mg.from_numpy(label_array)
    weight = mg.zeros(FEATURES, CLASSES, requires_grad=True)
    bias = mg.zeros(CLASSES, requires_grad=True)

    def step():
        loss = F.cross_entropy(x @ weight + bias, labels)
        loss.backward()
        with mg.no_grad():
            weight.sub_(LEARNING_RATE * weight.grad)
            bias.sub_(LEARNING_RATE * bias.grad)
        weight.grad = bias.grad = None

    return step


def torch_step_function(x_array, label_array):
    import torch

    x, labels = torch.from_numpy(x_array), torch.from_numpy(label_array)
    weight = torch.zeros(FEATURES, CLASSES, requires_grad=True)
    bias = torch.zeros(CLASSES, requires_grad=True)

    def step():
        loss = torch.nn.functional.cross_entropy(x @ weight + bias, labels)
        loss.backward()
        with torch.no_grad():
            weight.sub_(LEARNING_RATE * weight.grad)
            bias.sub_(LEARNING_RATE * bias.grad)
        weight.grad = bias.grad = None

    return step


def time_per_call(step, calls):
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench step", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds; the median is printed (default 15)")
    parser.add_argument("--calls", type=int, default=200, help="steps per round (default 200)")
    args = parser.parse_args(arguments)

    rng = np.random.default_rng(0)
    x_array = rng.random((BATCH, FEATURES), dtype=np.float32)
    label_array = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    contenders = {"minigrad": minigrad_step_function(x_array, label_array)}
    try:
        contenders["pytorch"] = torch_step_function(x_array, label_array)
    except ImportError:
        print("(PyTorch not installed: minigrad alone)")
    rounds = {name: [] for name in contenders}
    for step in contenders.values():
        time_per_call(step, 50)  # warm up: compile or load kernels, fill allocator pools
    for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
        for name, step in contenders.items():
            rounds[name].append(time_per_call(step, args.calls))

    medians = {name: statistics.median(times) for name, times in rounds.items()}
    print(f"softmax-regression step, {BATCH}x{FEATURES} @ {FEATURES}x{CLASSES}, float32, "
          f"median of {args.repeats} rounds x {args.calls} steps")
    for name, seconds in medians.items():
        print(f"  {name:<9} {seconds * 1e6:8.1f} us/step")
    if "pytorch" in medians:
        print(f"  ratio minigrad/pytorch time: {medians['minigrad'] / medians['pytorch']:.2f} (below 1 is faster)")


if __name__ == "__main__":
    main()
