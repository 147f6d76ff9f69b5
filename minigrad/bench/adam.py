"""One optimizer step over the reference CNN's parameters, minigrad against PyTorch's fused step.

The parameters are those of the "Deep MNIST" CNN (conv 32x1x5x5, conv 64x32x5x5, linear 3136->1024,
linear 1024->10, with biases: 3,274,634 float32 values), each with a gradient set. A step reads the
parameters, gradients and state and writes parameters and state back: it is bound by memory
bandwidth, and by per-tensor overhead for the small tensors. PyTorch runs ``fused=True`` (one
kernel over all tensors) and, for information, ``foreach=True``.
"""
import argparse

import numpy as np

from minigrad.bench._timing import time_interleaved

SHAPES = [(32, 1, 5, 5), (32,), (64, 32, 5, 5), (64,), (1024, 3136), (1024,), (10, 1024), (10,)]
LEARNING_RATE = {"adam": 1e-3, "sgd": 0.01}


def parameter_arrays(seed=0, shapes=SHAPES):
    generator = np.random.default_rng(seed)
    values = [generator.standard_normal(shape, dtype=np.float32) * 0.05 for shape in shapes]
    grads = [generator.standard_normal(shape, dtype=np.float32) * 0.01 for shape in shapes]
    return values, grads


def minigrad_step(optimizer_name, values, grads, device="cpu"):
    import minigrad as mg
    import minigrad.optim

    params = [mg.nn.Parameter(mg.tensor(value, device=device)) for value in values]
    for param, grad in zip(params, grads):
        param.grad = mg.tensor(grad, device=device)
    if optimizer_name == "adam":
        optimizer = minigrad.optim.Adam(params, lr=LEARNING_RATE["adam"])
    else:
        optimizer = minigrad.optim.SGD(params, lr=LEARNING_RATE["sgd"], momentum=0.9)
    return optimizer.step


def torch_step(optimizer_name, values, grads, implementation, device="cpu"):
    """``implementation`` is "fused" or "foreach"; None when this PyTorch cannot run it on ``device``."""
    import torch

    params = [torch.tensor(value, requires_grad=True, device=device) for value in values]
    for param, grad in zip(params, grads):
        param.grad = torch.tensor(grad, device=device)
    options = {implementation: True}
    try:
        if optimizer_name == "adam":
            optimizer = torch.optim.Adam(params, lr=LEARNING_RATE["adam"], **options)
        else:
            optimizer = torch.optim.SGD(params, lr=LEARNING_RATE["sgd"], momentum=0.9, **options)
        optimizer.step()
    except (RuntimeError, TypeError, ValueError) as error:
        print(f"(pytorch {implementation} {optimizer_name} is not available here: {error})")
        return None
    return optimizer.step


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench adam", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds; the median is printed (default 15)")
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam",
                        help="adam (lr 1e-3), or sgd with momentum 0.9 (default adam)")
    arguments = parser.parse_args(arguments)

    values, grads = parameter_arrays()
    steps = {"minigrad": minigrad_step(arguments.optimizer, values, grads)}
    try:
        import torch  # noqa: F401  (only to know whether the references can run)
    except ImportError:
        print("(torch is not installed: the PyTorch references are left out)")
    else:
        for implementation in ("fused", "foreach"):
            step = torch_step(arguments.optimizer, values, grads, implementation)
            if step is not None:
                steps[f"pytorch {implementation}"] = step
    for step in steps.values():
        for _ in range(3):  # warm up: compile or load the kernels, allocate the state
            step()
    seconds = time_interleaved(steps, arguments.repeats)

    count = sum(int(np.prod(shape)) for shape in SHAPES)
    print(f"{arguments.optimizer} step over the reference CNN's {len(SHAPES)} parameters ({count:,} float32 "
          f"values), median of {arguments.repeats} interleaved rounds")
    for name, value in seconds.items():
        print(f"  {name:<16} {value * 1e6:8.1f} us/step")
    for reference in ("pytorch fused", "pytorch foreach"):
        if reference in seconds:
            print(f"  ratio minigrad/{reference} time: {seconds['minigrad'] / seconds[reference]:.2f} "
                  "(below 1 is faster)")


if __name__ == "__main__":
    main()
