"""What anomaly mode costs: small ops, a softmax-regression step and the reference CNN step, off and on.

Off (the default) the engine pays one ``is None`` test per op application and per backward node;
the first figure times that test on its own, next to the time of one small op, so "costs nothing
measurable" can be read off. On, every op output and every gradient is scanned for NaN and inf and
each node keeps the user's frames: the other figures say what that costs in a training step.
"""
import argparse
import timeit

import numpy as np

import minigrad as mg
from minigrad import autograd
from minigrad.bench import cnn, step
from minigrad.bench._timing import time_interleaved

CHAIN_LENGTH = 50


def small_op_chain():
    """CHAIN_LENGTH elementwise ops on 16 numbers, then backward: the per-op overhead, nearly all Python."""
    x = mg.randn(16, requires_grad=True)

    def run():
        y = x
        for _ in range(CHAIN_LENGTH // 2):
            y = (y * 0.5) + x
        y.sum().backward()
        x.grad = None

    return run


def with_anomaly_mode(function):
    def run():
        with mg.detect_anomaly():
            return function()

    return run


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench anomaly", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    parser.add_argument("--skip-cnn", action="store_true", help="leave out the reference CNN step")
    arguments = parser.parse_args(arguments)

    generator = np.random.default_rng(0)
    x_array = generator.random((step.BATCH, step.FEATURES), dtype=np.float32)
    label_array = generator.integers(0, step.CLASSES, step.BATCH).astype(np.int64)
    workloads = {
        f"{CHAIN_LENGTH + 1} small ops + backward": small_op_chain(),
        "softmax-regression step": step.step_function(mg, x_array, label_array),
    }
    if not arguments.skip_cnn:
        images = generator.random((cnn.BATCH, 1, 28, 28), dtype=np.float32)
        labels = generator.integers(0, 10, cnn.BATCH).astype(np.int64)
        mg.manual_seed(0)
        cnn_step = cnn.step_function(mg, *cnn.build(mg))
        workloads["reference CNN step (Adam)"] = lambda: cnn_step(images, labels)

    check_seconds = min(timeit.repeat("mode is not None", globals={"mode": autograd._anomaly_mode},
                                      number=1_000_000, repeat=5)) / 1_000_000
    print(f"anomaly mode, median of {arguments.repeats} interleaved rounds")
    print(f"  the off-mode test (`is None`): {check_seconds * 1e9:.0f} ns, paid once per op and once per backward node")
    print(f"  {'workload':<28} {'off':>11} {'on':>11} {'on/off':>7}")
    for name, function in workloads.items():
        seconds = time_interleaved({"off": function, "on": with_anomaly_mode(function)}, arguments.repeats)
        print(f"  {name:<28} {seconds['off'] * 1e6:8.1f} us {seconds['on'] * 1e6:8.1f} us "
              f"{seconds['on'] / seconds['off']:7.2f}")
        if name.endswith("backward"):
            per_op = seconds["off"] / (CHAIN_LENGTH + 1)
            print(f"  {'':<28} one small op with its backward: {per_op * 1e6:.1f} us, of which the off-mode "
                  f"tests are {2 * check_seconds / per_op:.2%}")


if __name__ == "__main__":
    main()
