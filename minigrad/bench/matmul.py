"""Matrix product GFLOP/s: minigrad's CPU kernel against NumPy's BLAS (and PyTorch if installed).

Squares, then the MNIST models' shapes (forward, and backward through transposed views), the last
three the CNN's 3136 -> 1024 linear layer. Each library runs a batch of calls per round, in
interleaved rounds; the table shows the median round.
"""
import argparse

import numpy as np

from minigrad.bench._timing import time_interleaved
from minigrad.kernels.cpu.matmul import matmul

# (label, rows, depth, columns, a_layout, b_layout): "C" is a C-contiguous array, "T" the transposed
# view of one (x.T for a C-contiguous x, as backward products take it).
SHAPES = [
    ("256 square", 256, 256, 256, "C", "C"),
    ("512 square", 512, 512, 512, "C", "C"),
    ("1024 square", 1024, 1024, 1024, "C", "C"),
    ("2048 square", 2048, 2048, 2048, "C", "C"),
    ("100x784 @ 784x10", 100, 784, 10, "C", "C"),
    ("x.T 784x100 @ 100x10", 784, 100, 10, "T", "C"),
    ("100x3136 @ 3136x1024", 100, 3136, 1024, "C", "C"),
    ("x.T 3136x100 @ 100x1024", 3136, 100, 1024, "T", "C"),
    # The CNN's Linear(3136, 1024) at batch 100, weight W stored (1024, 3136): forward x @ W.T,
    # input gradient grad_y @ W, weight gradient grad_y.T @ x.
    ("x @ W.T 100x3136x1024", 100, 3136, 1024, "C", "T"),
    ("g @ W 100x1024x3136", 100, 1024, 3136, "C", "C"),
    ("g.T @ x 1024x100x3136", 1024, 100, 3136, "T", "C"),
]


def make_matrix(rows, columns, layout, dtype, generator):
    if layout == "T":
        return generator.standard_normal((columns, rows)).astype(dtype).T
    return generator.standard_normal((rows, columns)).astype(dtype)


def make_operands(rows, depth, columns, a_layout, b_layout, dtype, generator):
    a = make_matrix(rows, depth, a_layout, dtype, generator)
    b = make_matrix(depth, columns, b_layout, dtype, generator)
    return a, b, np.empty((rows, columns), dtype)


def candidates(a, b, out):
    """Zero-argument callables computing ``out = a @ b``, by library name."""
    functions = {
        "minigrad": lambda: matmul(a, b, out),
        "numpy": lambda: np.matmul(a, b, out=out),
    }
    try:
        import torch
    except ImportError:
        return functions
    # from_numpy shares memory and keeps the strides, so torch sees the same transposed view.
    a_tensor, b_tensor, out_tensor = (torch.from_numpy(array) for array in (a, b, out))
    functions["torch"] = lambda: torch.matmul(a_tensor, b_tensor, out=out_tensor)
    return functions


def check_result(label, a, b, out, dtype):
    reference = a.astype(np.float64) @ b.astype(np.float64)
    tolerance = 1e-3 if dtype == np.float32 else 1e-9
    if not np.allclose(out, reference, rtol=tolerance, atol=tolerance * np.sqrt(a.shape[1])):
        raise AssertionError(f"matmul: wrong result for {label}")


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench matmul",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed rounds per cell; the median is printed (default 5)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    arguments = parser.parse_args(arguments)
    dtype = np.dtype(arguments.dtype)
    generator = np.random.default_rng(0)
    header = None
    for label, rows, depth, columns, a_layout, b_layout in SHAPES:
        a, b, out = make_operands(rows, depth, columns, a_layout, b_layout, dtype, generator)
        functions = candidates(a, b, out)
        matmul(a, b, out)
        check_result(label, a, b, out, dtype)
        seconds = time_interleaved(functions, arguments.repeats)
        gflops = {name: 2.0 * rows * depth * columns / time_taken / 1e9
                  for name, time_taken in seconds.items()}
        if header is None:
            header = f"{'shape (' + dtype.name + ')':<26}{'minigrad':>10}{'numpy':>10}{'ratio':>8}"
            if "torch" in gflops:
                header += f"{'torch':>10}{'ratio':>8}"
            print("GFLOP/s, median of", arguments.repeats, "interleaved rounds")
            print(header)
        line = f"{label:<26}{gflops['minigrad']:>10.1f}{gflops['numpy']:>10.1f}"
        line += f"{gflops['minigrad'] / gflops['numpy']:>8.2f}"
        if "torch" in gflops:
            line += f"{gflops['torch']:>10.1f}{gflops['minigrad'] / gflops['torch']:>8.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
