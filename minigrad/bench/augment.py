"""Augmenting a batch of 100 MNIST images against one reference-CNN training step, same run.

The target: augmentation takes under 10% of the step it feeds. Each pipeline runs on one float32
batch (100, 1, 28, 28), every image drawing its own parameters, as ``DataLoader(transform=...)``
calls it; the step is bench cnn's (forward, loss, backward, Adam) on minigrad. Medians of
interleaved rounds, so machine noise hits both alike.
"""
import argparse

import numpy as np

from minigrad.bench._timing import time_interleaved
from minigrad.bench.cnn import BATCH, build, step_function


def pipelines(transforms):
    return {
        "RandomCrop(28, padding=2) + RandomRotation(10)":
            transforms.Compose([transforms.RandomCrop(28, padding=2), transforms.RandomRotation(10)]),
        "RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5)":
            transforms.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5),
        "RandomCrop + RandomRotation(10, bilinear) + Normalize":
            transforms.Compose([transforms.RandomCrop(28, padding=2),
                                transforms.RandomRotation(10, interpolation=transforms.InterpolationMode.BILINEAR),
                                transforms.Normalize((0.1307,), (0.3081,))]),
    }


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench augment", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds; the median is printed (default 7)")
    arguments = parser.parse_args(arguments)
    import minigrad

    generator = np.random.default_rng(0)
    images = generator.random((BATCH, 1, 28, 28), dtype=np.float32)
    labels = generator.integers(0, 10, BATCH).astype(np.int64)
    minigrad.manual_seed(0)
    step = step_function(minigrad, *build(minigrad))
    functions = {"training step": lambda: step(images, labels)}
    for name, transform in pipelines(minigrad.data.transforms).items():
        functions[name] = lambda transform=transform: transform(images)
    for function in functions.values():
        for _ in range(3):  # compile or load kernels, fill allocator pools
            function()
    seconds = time_interleaved(functions, arguments.repeats)
    step_seconds = seconds.pop("training step")
    print(f"augmenting a batch of {BATCH} MNIST images (float32 (100, 1, 28, 28)) against the reference CNN's "
          f"training step (Adam), median of {arguments.repeats} interleaved rounds")
    print(f"  training step: {step_seconds * 1e3:8.2f} ms")
    for name, value in seconds.items():
        print(f"  {name}: {value * 1e3:.3f} ms per batch, {value / step_seconds:.1%} of the step")


if __name__ == "__main__":
    main()
