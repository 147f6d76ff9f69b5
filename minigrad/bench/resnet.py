"""examples/mnist_resnet.py's training step on minigrad and on PyTorch: the same model and code, same run.

The example is loaded twice, once as with ``--library minigrad`` and once as with ``--library torch``,
so both libraries run its very ResNet (BatchNorm, residual blocks, global average pooling) and the
body of its train() loop (to(device), zero_grad, forward, cross_entropy, backward, SGD-Nesterov step
with weight decay, one-cycle schedule step) on the same batch of random MNIST-shaped images.
Medians of interleaved rounds, and minigrad's time as a fraction of PyTorch's (the target: <= 1).
``--parts`` also times the forward pass alone and the eval-mode forward.
"""
import argparse

import numpy as np

from minigrad.bench import _examples
from minigrad.bench._timing import time_interleaved


def step_functions(example, images, labels, width):
    """(training step, training forward, eval forward) of the example's code on its library's tensors."""
    torch, F = example.torch, example.F
    torch.manual_seed(0)
    device = torch.device("cpu")
    model = example.ResNet(width).to(device)
    settings = argparse.Namespace(lr=0.1, weight_decay=5e-4, epochs=1)
    optimizer, scheduler = example.make_optimizer(model, settings, steps_per_epoch=10 ** 6)
    data, target = torch.from_numpy(images), torch.from_numpy(labels)

    def step():
        model.train()
        batch, batch_target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(batch), batch_target)
        loss.backward()
        optimizer.step()
        scheduler.step()

    def forward():
        model.train()
        F.cross_entropy(model(data), target)

    def evaluate():
        model.eval()
        with torch.no_grad():
            model(data)

    return step, forward, evaluate


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench resnet", description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128, help="images per step (default 128, the example's)")
    parser.add_argument("--width", type=int, default=16, help="channels of the first stage (default 16, the example's)")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    parser.add_argument("--parts", action="store_true", help="also time the training forward and the eval forward")
    arguments = parser.parse_args(arguments)
    generator = np.random.default_rng(0)
    images = generator.standard_normal((arguments.batch_size, 1, 28, 28), dtype=np.float32)
    labels = generator.integers(0, 10, arguments.batch_size).astype(np.int64)
    libraries = {"minigrad": step_functions(_examples.load_example("mnist_resnet.py", "minigrad", "resnet"),
                                            images, labels, arguments.width)}
    try:
        libraries["torch"] = step_functions(_examples.load_example("mnist_resnet.py", "torch", "resnet"),
                                            images, labels, arguments.width)
    except ImportError:
        print("PyTorch is not installed: minigrad's figure only")
    parts = ["training step", "forward (train mode)", "forward (eval mode)"] if arguments.parts else ["training step"]
    print(f"examples/mnist_resnet.py, width {arguments.width}, batch {arguments.batch_size}, median of "
          f"{arguments.repeats} interleaved rounds")
    for index, part in enumerate(parts):
        functions = {name: functions_of[index] for name, functions_of in libraries.items()}
        for function in functions.values():
            for _ in range(2):  # compile or load the kernels, warm the caches and the allocator pools
                function()
        seconds = time_interleaved(functions, arguments.repeats)
        line = "  ".join(f"{name} {value * 1e3:8.2f} ms" for name, value in seconds.items())
        ratio = f"   minigrad / PyTorch time: {seconds['minigrad'] / seconds['torch']:.2f}x" if "torch" in seconds else ""
        print(f"  {part:<22} {line}{ratio}", flush=True)


if __name__ == "__main__":
    main()
