"""Write your own op: a custom autograd Function in PyTorch's form, then your own Numba kernel as an op.

    python examples/custom_op.py                  # the tour: gradchecks, a timing, a model trained with the op
    python examples/custom_op.py --device cuda    # the kernel op on the GPU, through its CUDA twins

It shows, in order: a cubic Legendre-polynomial activation written as a custom Function (forward and
backward as static methods on Tensors, as PyTorch's tutorial writes them), checked against central
differences to first and second order; a fused swish, x * sigmoid(beta * x) with a learnable beta, as
a pair of Numba kernels (forward, and a backward that also sums beta's gradient) made into an op by
mg.autograd.kernel_op, gradchecked, and timed against the same expression in Tensor ops; and a small
network with that activation trained on two interleaved spirals, beta learned per layer.
"""
import argparse
import math
import textwrap
import time

import numba
import numpy as np
from numba import cuda

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

RUN_TIME = ("Runs in about 3 s on a 2-core AVX2 machine (AMD Zen 3) once its kernels are compiled "
            "(the first run on a machine compiles them first, about a minute).")


def section(number, title, explanation):
    print(f"\n{'=' * 100}\n{number}. {title}\n")
    print(textwrap.fill(textwrap.dedent(explanation).strip(), width=100))
    print()


# --- 1. a custom Function in PyTorch's form -------------------------------------------------------

class LegendreP3(mg.autograd.Function):
    """P3(x) = (5 x^3 - 3 x) / 2, the cubic Legendre polynomial:  dx = g * (15 x^2 - 3) / 2"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (5 * x ** 3 - 3 * x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * x ** 2 - 1)  # Tensor ops: differentiable again (create_graph)


# --- 2. a fused swish as Numba kernels ------------------------------------------------------------
# The kernel op hands these flat, contiguous arrays (flat=True), allocates `out` and the gradient
# buffers, and picks the CPU or the CUDA pair by the tensors' device.

cpu_kernel = numba.njit(parallel=True, fastmath=True, cache=True)


@cpu_kernel
def swish_forward(x, beta, out):
    """out = x * sigmoid(beta x), one pass over x, split between the cores"""
    for index in numba.prange(x.size):
        out[index] = x[index] / (1.0 + math.exp(-beta[0] * x[index]))


@cpu_kernel
def swish_backward(x, beta, out, grad_out, grad_x, grad_beta):
    """dx = g (s + beta x s (1 - s)),  dbeta = sum of g x^2 s (1 - s),  where s = sigmoid(beta x)"""
    total = 0.0
    for index in numba.prange(x.size):  # `total +=` in a prange loop is a parallel reduction
        value = x[index]
        sigmoid = 1.0 / (1.0 + math.exp(-beta[0] * value))
        slope = sigmoid * (1.0 - sigmoid)
        grad_x[index] = grad_out[index] * (sigmoid + beta[0] * value * slope)
        total += grad_out[index] * value * value * slope
    grad_beta[0] = total


# The CUDA twins: the op launches one thread per element of out; a grid-stride loop covers any size.
@cuda.jit
def swish_forward_cuda(x, beta, out):
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[index] = x[index] / (1.0 + math.exp(-beta[0] * x[index]))


@cuda.jit
def swish_backward_cuda(x, beta, out, grad_out, grad_x, grad_beta):
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        sigmoid = 1.0 / (1.0 + math.exp(-beta[0] * value))
        slope = sigmoid * (1.0 - sigmoid)
        grad_x[index] = grad_out[index] * (sigmoid + beta[0] * value * slope)
        cuda.atomic.add(grad_beta, 0, grad_out[index] * value * value * slope)  # many threads, one sum


swish = mg.autograd.kernel_op(swish_forward, swish_backward, cuda_forward=swish_forward_cuda,
                              cuda_backward=swish_backward_cuda, flat=True)


def swish_in_tensor_ops(x, beta):
    """The same function written with Tensor ops: three ops forward, each a pass over memory."""
    return x * (beta * x).sigmoid()


class Swish(nn.Module):
    """x * sigmoid(beta x) with a learnable beta, through the kernel op."""

    def __init__(self):
        super().__init__()
        self.beta = nn.Parameter(mg.ones(1))

    def forward(self, x):
        return swish(x, self.beta)


# --- the tour ---------------------------------------------------------------------------------------

def check_legendre():
    x = mg.tensor(np.linspace(-1, 1, 7), dtype=mg.float64, requires_grad=True)
    values = LegendreP3.apply(x)
    print("x     ", np.array2string(x.detach().numpy(), precision=3))
    print("P3(x) ", np.array2string(values.detach().numpy(), precision=3))
    print(mg.autograd.explain(values.sum()))
    print(f"\ngradcheck (first derivatives against central differences): {mg.gradcheck(LegendreP3.apply, (x,))}")
    print(f"gradgradcheck (second derivatives, through the backward's Tensor ops): "
          f"{mg.gradgradcheck(LegendreP3.apply, (x,))}")


def check_swish(device):
    x = mg.tensor(np.linspace(-3, 3, 9), dtype=mg.float64, requires_grad=True)
    beta = mg.tensor([0.8], dtype=mg.float64, requires_grad=True)
    difference = float((swish(x, beta) - swish_in_tensor_ops(x, beta)).abs().max().item())
    print(f"{swish!r}: largest difference from the Tensor-op expression {difference:.1e}")
    print(f"gradcheck of the kernel op (x and beta): {mg.gradcheck(swish, (x, beta))}")
    if device != "cpu":  # gradcheck perturbs host arrays: on the GPU, compare with the CPU kernels instead
        on_device = [tensor.detach().to(device).requires_grad_() for tensor in (x, beta)]
        swish(*on_device).sum().backward()
        swish(x, beta).sum().backward()
        gaps = [float(np.abs(mine.grad.cpu().numpy() - cpu.grad.numpy()).max()) for mine, cpu in zip(on_device, (x, beta))]
        print(f"on {device}, the CUDA twins' gradients differ from the CPU kernels' by at most {max(gaps):.1e}")


def time_swish(device, size, repeats):
    """Median seconds of forward and of forward + backward, for the kernel op and for the Tensor ops."""
    generator = np.random.default_rng(0)
    x = mg.tensor(generator.standard_normal(size), dtype=mg.float32, device=device, requires_grad=True)
    beta = mg.tensor([1.2], dtype=mg.float32, device=device, requires_grad=True)
    seed = mg.tensor(generator.standard_normal(size), dtype=mg.float32, device=device)
    functions = {"kernel op": swish, "Tensor ops": swish_in_tensor_ops}
    times = {(name, part): [] for name in functions for part in ("forward", "forward + backward")}
    for round_number in range(repeats + 2):  # two rounds to warm up (compile or load the kernels)
        for name, function in functions.items():
            start = time.perf_counter()
            with mg.no_grad():
                function(x, beta)
            middle = time.perf_counter()
            function(x, beta).backward(seed)
            if device == "cuda":
                mg.cuda.synchronize()
            end = time.perf_counter()
            x.grad = beta.grad = None
            if round_number >= 2:
                times[name, "forward"].append(middle - start)
                times[name, "forward + backward"].append(end - middle)
    return {key: float(np.median(values)) for key, values in times.items()}


def spirals(count, seed):
    """Two interleaved spirals in the plane, with a little noise: points (count, 2) and labels (count,)."""
    generator = np.random.default_rng(seed)
    labels = generator.integers(0, 2, count)
    radius = generator.uniform(0.05, 1.0, count)
    angle = 3 * math.pi * radius + math.pi * labels
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    points += generator.normal(0, 0.02, points.shape)
    return points.astype(np.float32), labels.astype(np.int64)


def train(device, steps, seed):
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 64), Swish(), nn.Linear(64, 64), Swish(), nn.Linear(64, 2)).to(device)
    optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
    points, labels = spirals(1000, seed)
    test_points, test_labels = spirals(1000, seed + 1)
    inputs, targets = mg.tensor(points, device=device), mg.tensor(labels, device=device)
    for step in range(1, steps + 1):
        loss = F.cross_entropy(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % max(1, steps // 5) == 0 or step == steps:
            betas = ", ".join(f"{float(model[index].beta.cpu().numpy()[0]):.3f}" for index in (1, 3))
            print(f"step {step:4d}  loss {loss.item():.4f}  beta per layer: {betas}")
    with mg.no_grad():
        predictions = model(mg.tensor(test_points, device=device)).cpu().numpy().argmax(axis=1)
    return float((predictions == test_labels).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUN_TIME)
    parser.add_argument("--device", default="cpu", help="cpu or cuda, for the kernel op and the model (default cpu)")
    parser.add_argument("--steps", type=int, default=200, help="training steps of the spiral model (default 200)")
    parser.add_argument("--size", type=int, default=1 << 20,
                        help="elements of the timed activation (default 1,048,576, about the reference CNN's "
                             "second activation at batch 100: 100 x 64 x 14 x 14 = 1,254,400)")
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds; medians are printed (default 9)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    device = args.device

    section(1, "A custom Function in PyTorch's form", """
        LegendreP3 subclasses mg.autograd.Function with a static forward(ctx, x) and backward(ctx,
        grad_output) on Tensors, exactly as in PyTorch's "Extending PyTorch": forward saves x with
        ctx.save_for_backward, backward reads it back from ctx.saved_tensors (checked against the
        version counter: had x been modified in place since, backward would say so). LegendreP3.apply(x)
        records one node on the tape. Its backward is written in Tensor ops, so under create_graph=True
        it is recorded too, and second derivatives work: gradgradcheck checks them.""")
    check_legendre()

    section(2, "Your own Numba kernel as an op", """
        swish_forward and swish_backward are plain Numba kernels in minigrad's own convention: arrays in,
        the result written into an `out` array. mg.autograd.kernel_op(forward, backward, ...) makes them
        an op: it checks the call and names the op in its errors, allocates out (and gradient buffers
        that start at zero) in the inputs' dtype on their device, passes contiguous flat arrays
        (flat=True), and runs the CUDA twins for tensors on the GPU. The backward kernel fills one
        gradient per floating-point Tensor argument: x's, and beta's, a sum over every element.""")
    check_swish(device)

    section(3, "Fused kernel against the same expression in Tensor ops", f"""
        x * (beta * x).sigmoid() runs three ops forward and about six backward, each a pass over
        memory that writes an array of its own; the kernel op makes one pass each way, split between
        the cores, and allocates only its result. The kernels' arithmetic is not faster than NumPy's:
        without Intel's SVML, Numba calls exp one element at a time where NumPy's is vectorised. What
        the op saves is the passes, the temporaries and the per-op overhead. Medians of {args.repeats}
        rounds on {args.size:,} float32 elements, alternating between the two in one run; the ratio
        depends on the machine and on how busy it is.""")
    times = time_swish(device, args.size, args.repeats)
    for part in ("forward", "forward + backward"):
        fused, composed = times["kernel op", part], times["Tensor ops", part]
        print(f"{part:<19} kernel op {fused * 1e3:8.2f} ms   Tensor ops {composed * 1e3:8.2f} ms   "
              f"kernel op {composed / fused:.1f}x faster")

    section(4, "A model trained with the op", """
        Linear(2, 64) -> Swish -> Linear(64, 64) -> Swish -> Linear(64, 2) on two interleaved spirals
        (1000 points), Adam lr 0.01, full batch. Each Swish holds its own beta, a Parameter like the
        weights: the kernel op's backward gives its gradient, and Adam updates it.""")
    accuracy = train(device, args.steps, args.seed)
    print(f"\nfinal test_accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
