"""The reference CNN on MNIST shapes, minigrad against PyTorch CPU in the same run.

Default: one training step at batch 100 (forward, fused loss, backward, Adam update), median
milliseconds of each library over interleaved rounds, and their ratio. With --train: each library
trains the model on the real MNIST (same batches in the same order, Adam 1e-3 on a cosine schedule,
as examples/mnist_cnn.py) for --epochs, testing after each epoch, and the wall time each needed to
reach the target accuracy is printed.
"""
import argparse
import importlib
import time

import numpy as np

from minigrad.bench._timing import time_interleaved

BATCH = 100
TARGET_ACCURACY = 0.992


def build(library, channels=(32, 64), hidden=1024, device="cpu", image_size=28):
    """The reference CNN and an Adam optimizer, written against ``library`` (minigrad or torch).

    ``channels`` (the two convs' outputs), ``hidden`` (the first linear layer's) and ``image_size``
    are the reference's unless given (the GPU suite's --quick shrinks them); the model is on ``device``.
    """
    nn = library.nn
    first, second = channels
    model = nn.Sequential(
        nn.Conv2d(1, first, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(first, second, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(second * (image_size // 4) ** 2, hidden), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(hidden, 10),
    )
    if device != "cpu":
        model.to(device)
    return model, library.optim.Adam(model.parameters(), lr=1e-3)


def step_function(library, model, optimizer):
    """A training step on one batch of arrays: forward, loss, backward, update; returns the loss tensor."""
    step_on_tensors = tensor_step_function(library, model, optimizer)

    def step(images, labels):
        return step_on_tensors(library.from_numpy(images), library.from_numpy(labels))

    return step


def tensor_step_function(library, model, optimizer):
    """The same step on a batch of tensors already on the model's device (the GPU suite's)."""
    cross_entropy = library.nn.functional.cross_entropy

    def step(images, labels):
        loss = cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def test_accuracy(library, model, images, labels):
    model.eval()
    correct = 0
    with library.no_grad():
        for start in range(0, len(images), 500):
            logits = model(library.from_numpy(images[start:start + 500]))
            correct += int((logits.argmax(1).numpy() == labels[start:start + 500]).sum())
    model.train()
    return correct / len(images)


def available_libraries():
    libraries = {}
    for name in ("minigrad", "torch"):
        try:
            libraries[name] = importlib.import_module(name)
        except ImportError:
            print(f"({name} is not installed: left out)")
    return libraries


def benchmark_step(repeats):
    generator = np.random.default_rng(0)
    images = generator.random((BATCH, 1, 28, 28), dtype=np.float32)
    labels = generator.integers(0, 10, BATCH).astype(np.int64)
    steps = {}
    for name, library in available_libraries().items():
        library.manual_seed(0)
        step = step_function(library, *build(library))
        steps[name] = lambda step=step: step(images, labels)
    for step in steps.values():
        for _ in range(3):  # compile or load kernels, fill allocator pools
            step()
    seconds = time_interleaved(steps, repeats, batch_seconds=0.3)
    print(f"reference CNN training step (Adam), batch {BATCH}, float32, median of {repeats} interleaved rounds")
    for name, value in seconds.items():
        print(f"  {name:<9} {value * 1e3:8.2f} ms/step  {BATCH / value:8.0f} img/s")
    if "torch" in seconds:
        print(f"  ratio minigrad/pytorch time: {seconds['minigrad'] / seconds['torch']:.2f} (below 1 is faster)")


def benchmark_training(epochs):
    import minigrad

    train_images, train_labels = minigrad.data.load_mnist("train")
    test_images, test_labels = minigrad.data.load_mnist("test")
    loader = minigrad.data.DataLoader((train_images, train_labels), batch_size=BATCH, shuffle=True, seed=0)
    results = {}
    for name, library in available_libraries().items():
        library.manual_seed(0)
        model, optimizer = build(library)
        schedule = library.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
        step = step_function(library, model, optimizer)
        seconds, reached = 0.0, None
        for epoch in range(1, epochs + 1):
            loader.set_epoch(epoch)
            start = time.perf_counter()
            for images, labels in loader:
                step(images.data, labels.data)
                schedule.step()
            seconds += time.perf_counter() - start
            accuracy = test_accuracy(library, model, test_images, test_labels)
            print(f"  {name:<9} epoch {epoch}: test accuracy {accuracy:.2%}, {seconds:7.1f} s of training", flush=True)
            if reached is None and accuracy >= TARGET_ACCURACY:
                reached = seconds
        results[name] = reached
    for name, reached in results.items():
        print(f"  {name:<9} reached {TARGET_ACCURACY:.1%}: " + (f"after {reached:.1f} s" if reached else "no"))
    if results.get("minigrad") and results.get("torch"):
        print(f"  ratio minigrad/pytorch time to {TARGET_ACCURACY:.1%}: {results['minigrad'] / results['torch']:.2f}")


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench cnn", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds of the step benchmark (default 7)")
    parser.add_argument("--train", action="store_true", help="train both libraries on MNIST and time them to 99.2%%")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of --train (default 3)")
    arguments = parser.parse_args(arguments)
    if arguments.train:
        benchmark_training(arguments.epochs)
    else:
        benchmark_step(arguments.repeats)


if __name__ == "__main__":
    main()
