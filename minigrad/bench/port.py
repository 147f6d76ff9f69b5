"""examples/from_pytorch.py's training step on minigrad and on PyTorch: the same code, same run.

The example is loaded twice, once as with ``--library minigrad`` and once as with ``--library torch``,
so both libraries run its very Net class and the body of its train() loop (to(device), zero_grad,
forward, nll_loss, backward, Adadelta step) on the same batch of 64 random MNIST-shaped images.
Medians of interleaved rounds, and minigrad's time as a fraction of PyTorch's (the target: <= 1).
"""
import argparse

import numpy as np

from minigrad.bench import _examples
from minigrad.bench._timing import time_interleaved

def load_example(library):
    """examples/from_pytorch.py as ``--library library`` makes it."""
    return _examples.load_example("from_pytorch.py", library, "port")


def step_function(example, images, labels):
    """One step of the example's train() loop, on its library's tensors."""
    torch, F = example.torch, example.F
    torch.manual_seed(0)
    device = torch.device("cpu")
    model = example.Net().to(device)
    optimizer = example.optim.Adadelta(model.parameters(), lr=1.0)
    data, target = torch.from_numpy(images), torch.from_numpy(labels)
    model.train()

    def step():
        batch, batch_target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(batch), batch_target)
        loss.backward()
        optimizer.step()

    return step


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench port", description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64, help="images per step (default 64, the example's)")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    arguments = parser.parse_args(arguments)
    generator = np.random.default_rng(0)
    images = generator.random((arguments.batch_size, 1, 28, 28), dtype=np.float32)
    labels = generator.integers(0, 10, arguments.batch_size).astype(np.int64)
    functions = {"minigrad": step_function(load_example("minigrad"), images, labels)}
    try:
        functions["torch"] = step_function(load_example("torch"), images, labels)
    except ImportError:
        print("PyTorch is not installed: minigrad's figure only")
    for function in functions.values():
        for _ in range(3):  # compile or load the kernels, warm the caches and the allocator pools
            function()
    seconds = time_interleaved(functions, arguments.repeats)
    print(f"examples/from_pytorch.py training step, batch {arguments.batch_size}, median of {arguments.repeats} "
          f"interleaved rounds")
    for name, value in seconds.items():
        print(f"  {name:<9} {value * 1e3:8.2f} ms/step")
    if "torch" in seconds:
        print(f"  minigrad / PyTorch time: {seconds['minigrad'] / seconds['torch']:.2f}x")


if __name__ == "__main__":
    main()
