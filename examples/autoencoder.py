"""A convolutional autoencoder on MNIST: a Conv2d encoder, a ConvTranspose2d decoder, MSE.

The encoder halves the image twice with strided 3x3 convolutions (1 -> 16 -> 32 channels, 28x28 ->
14x14 -> 7x7) and a third convolution squeezes the 7x7 map to --code-channels channels (4 by
default: a code of 196 numbers for 784 pixels). The decoder mirrors it: a 3x3 convolution back to 32
channels, then two transposed convolutions (stride 2, output_padding 1) double the size back to
14x14 and 28x28. The output is linear: with a sigmoid after it, this small network tends to stall
for a while (in PyTorch too) at drawing every pixel black. Trained with Adam on the mean squared error
between each image and its reconstruction; at the end it writes a picture of test images above
their reconstructions (--picture, default reconstructions.png) and prints the test error.

MNIST is read from --data-dir, $MINIGRAD_DATA or ~/.cache/minigrad/mnist, and downloaded there on
first use.

    python examples/autoencoder.py                           # 3 epochs, then reconstructions.png
    python examples/autoencoder.py --epochs 1 --device cuda --picture out/pairs.png
"""
import argparse
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

RUN_TIME = ("Runs in about 30 s (3 epochs) on a 2-core AVX2 machine (AMD Zen 3) once minigrad's kernels are "
            "compiled (the first run on a machine compiles them first).")


class Autoencoder(nn.Module):
    def __init__(self, code_channels=4):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),               # 28x28 -> 14x14
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),              # 14x14 -> 7x7
            nn.Conv2d(32, code_channels, 3, padding=1),                        # the code: 7x7
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(code_channels, 32, 3, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # 7x7 -> 14x14
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),                # -> 28x28
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


def batches(images, batch_size, device, generator=None):
    """Image batches as tensors in [0, 1], shuffled when a NumPy generator is given."""
    order = generator.permutation(len(images)) if generator is not None else np.arange(len(images))
    for start in range(0, len(images), batch_size):
        yield mg.tensor(images[order[start:start + batch_size]], device=device)


def test_error(model, images, device):
    """The mean squared error per pixel over the images, in eval mode and without a tape."""
    model.eval()
    total = 0.0
    with mg.no_grad():
        for batch in batches(images, 1000, device):
            total += F.mse_loss(model(batch), batch, reduction="sum").item()
    model.train()
    return total / images.size


def load_images(split, arguments):
    try:
        images, _ = mg.data.load_mnist(split, root=arguments.data_dir)
    except FileNotFoundError as error:  # no data and no download: say it plainly, once
        raise SystemExit(f"autoencoder.py: {error}") from None
    limit = arguments.train_limit if split == "train" else arguments.test_limit
    return np.asarray(images[:limit], dtype=np.float32).reshape(-1, 1, 28, 28)


def parse_arguments(arguments=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=RUN_TIME)
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training set (default 3)")
    parser.add_argument("--batch-size", type=int, default=100, help="images per step (default 100)")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam's learning rate (default 2e-3)")
    parser.add_argument("--code-channels", type=int, default=4, help="channels of the 7x7 code (default 4)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation and shuffling (default 0)")
    parser.add_argument("--picture", default="reconstructions.png", help="where to draw test images and "
                        "their reconstructions (default reconstructions.png)")
    parser.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files")
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, default=None, help="use only the first N test images")
    arguments = parser.parse_args(arguments)
    if arguments.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {arguments.epochs}")
    return arguments


def main(arguments=None):
    arguments = parse_arguments(arguments)
    mg.manual_seed(arguments.seed)
    generator = np.random.default_rng(arguments.seed)
    try:
        model = Autoencoder(arguments.code_channels).to(arguments.device)
    except (RuntimeError, ValueError) as error:  # e.g. --device cuda on a machine without a GPU
        raise SystemExit(f"autoencoder.py: {error}") from None
    train_images, test_images = load_images("train", arguments), load_images("test", arguments)
    optimizer = mg.optim.Adam(model.parameters(), lr=arguments.lr)
    print(f"autoencoder: {sum(p.numel() for p in model.parameters()):,} parameters, a code of "
          f"{arguments.code_channels * 49} numbers per 784-pixel image, on {arguments.device}", flush=True)
    print(f"before training: test error {test_error(model, test_images, arguments.device):.4f} per pixel")
    for epoch in range(1, arguments.epochs + 1):
        started, losses = time.perf_counter(), []
        for batch in batches(train_images, arguments.batch_size, arguments.device, generator):
            optimizer.zero_grad()
            loss = F.mse_loss(model(batch), batch)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        error = test_error(model, test_images, arguments.device)
        print(f"epoch {epoch}: train error {np.mean(losses):.4f}, test error {error:.4f} per pixel "
              f"({time.perf_counter() - started:.1f} s)", flush=True)

    shown = test_images[:10]
    model.eval()
    with mg.no_grad():
        reconstructed = model(mg.tensor(shown, device=arguments.device))
    mg.plot.reconstructions(shown, reconstructed, arguments.picture)
    print(f"wrote {arguments.picture}: 10 test images (top) and their reconstructions (bottom)")
    print(f"final test_mse={error:.4f}")


if __name__ == "__main__":
    main()
