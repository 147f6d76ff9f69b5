"""One optimizer step over the reference CNN's parameters, minigrad against PyTorch's fastest step.

The parameters are those of the "Deep MNIST" CNN (conv 32x1x5x5, conv 64x32x5x5, linear 3136->1024,
linear 1024->10, with biases: 3,274,634 float32 values), each with a gradient set. A step reads the
parameters, gradients and state and writes parameters and state back: it is bound by memory
bandwidth, and by per-tensor overhead for the small tensors. Any of minigrad's optimizers can be
timed (``--optimizer adam nadam ...`` or ``all``), each with its usual settings. PyTorch runs
``fused=True`` (one kernel over all tensors) where it has it on this device, ``foreach=True`` (a few
ops over lists of tensors) and ``foreach=False`` (a loop of ops per tensor, its default on the CPU);
the ratio is taken against the fastest of them.
"""
import argparse
import importlib.util

import numpy as np

from minigrad.bench._timing import time_interleaved

SHAPES = [(32, 1, 5, 5), (32,), (64, 32, 5, 5), (64,), (1024, 3136), (1024,), (10, 1024), (10,)]
# PyTorch's implementations: the name printed, and the constructor option that picks it.
IMPLEMENTATIONS = {"fused": {"fused": True}, "foreach": {"foreach": True}, "for-loop": {"foreach": False}}
# name: (the class in minigrad.optim and torch.optim, its options: each optimizer's usual settings)
OPTIMIZERS = {
    "sgd": ("SGD", {"lr": 0.01, "momentum": 0.9}),
    "adam": ("Adam", {"lr": 1e-3}),
    "adamw": ("AdamW", {"lr": 1e-3}),
    "rmsprop": ("RMSprop", {"lr": 1e-2}),
    "adagrad": ("Adagrad", {"lr": 1e-2}),
    "adadelta": ("Adadelta", {"lr": 1.0}),
    "nadam": ("NAdam", {"lr": 2e-3}),
    "radam": ("RAdam", {"lr": 1e-3}),
    "adamax": ("Adamax", {"lr": 2e-3}),
}
LEARNING_RATE = {name: options["lr"] for name, (_, options) in OPTIMIZERS.items()}


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
    class_name, options = OPTIMIZERS[optimizer_name]
    return getattr(minigrad.optim, class_name)(params, **options).step


def torch_step(optimizer_name, values, grads, implementation, device="cpu"):
    """``implementation`` is a key of IMPLEMENTATIONS; None when this PyTorch cannot run it on ``device``."""
    import torch

    params = [torch.tensor(value, requires_grad=True, device=device) for value in values]
    for param, grad in zip(params, grads):
        param.grad = torch.tensor(grad, device=device)
    class_name, options = OPTIMIZERS[optimizer_name]
    try:
        optimizer = getattr(torch.optim, class_name)(params, **options, **IMPLEMENTATIONS[implementation])
        optimizer.step()
    except (RuntimeError, TypeError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"  (pytorch {implementation} {optimizer_name} is not available here: {reason})")
        return None
    return optimizer.step


def compare(optimizer_name, values, grads, repeats, torch_available):
    """Time minigrad and PyTorch's implementations of one optimizer; print the medians and the ratio."""
    count = sum(value.size for value in values)
    print(f"{optimizer_name} step over the reference CNN's {len(values)} parameters ({count:,} float32 values), "
          f"median of {repeats} interleaved rounds")
    steps = {"minigrad": minigrad_step(optimizer_name, values, grads)}
    if torch_available:
        for implementation in IMPLEMENTATIONS:
            step = torch_step(optimizer_name, values, grads, implementation)
            if step is not None:
                steps[f"pytorch {implementation}"] = step
    for step in steps.values():
        for _ in range(3):  # warm up: compile or load the kernels, allocate the state
            step()
    seconds = time_interleaved(steps, repeats)
    for name, value in seconds.items():
        print(f"  {name:<16} {value * 1e6:8.1f} us/step")
    references = [name for name in seconds if name.startswith("pytorch")]
    if references:
        fastest = min(references, key=seconds.get)
        print(f"  ratio minigrad/{fastest} time: {seconds['minigrad'] / seconds[fastest]:.2f} "
              "(PyTorch's fastest here; below 1 is faster)")
    return seconds


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench adam", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds; the median is printed (default 15)")
    parser.add_argument("--optimizer", nargs="+", choices=[*OPTIMIZERS, "all"], default=["adam"], metavar="NAME",
                        help=f"one or more of {', '.join(OPTIMIZERS)}, or all (default adam); each with its usual "
                             "settings (sgd: momentum 0.9)")
    arguments = parser.parse_args(arguments)
    names = list(OPTIMIZERS) if "all" in arguments.optimizer else list(dict.fromkeys(arguments.optimizer))

    torch_available = importlib.util.find_spec("torch") is not None
    if not torch_available:
        print("(torch is not installed: the PyTorch references are left out)")
    values, grads = parameter_arrays()
    for name in names:
        compare(name, values, grads, arguments.repeats, torch_available)


if __name__ == "__main__":
    main()
