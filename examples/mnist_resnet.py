"""A small residual CNN with batch normalization on MNIST: the layers of a post-2015 network, in minigrad.

The network (about 0.3 M parameters): a 3x3 stem convolution to 32 channels with BatchNorm and ReLU;
three stages of two BasicBlocks each (two 3x3 convolutions with BatchNorm, the input added back before
the last ReLU; the first block of stages two and three halves the resolution and doubles the channels,
and its shortcut is a 1x1 strided convolution with BatchNorm); global average pooling
(AdaptiveAvgPool2d(1)); a linear head to ten classes. Trained with random crops (padding 2) and small
rotations, SGD with Nesterov momentum and weight decay, and a one-cycle learning rate, batch 128.

It is written as a PyTorch script, and `--library torch` runs the very same code on PyTorch (when
installed): `python -m minigrad.bench resnet` times one training step on each, side by side. MNIST is
read from --data-dir, $MINIGRAD_DATA or ~/.cache/minigrad/mnist, and downloaded there on first use.

    python examples/mnist_resnet.py                         # 3 epochs on minigrad's CPU kernels
    python examples/mnist_resnet.py --device cuda           # on the GPU
    python examples/mnist_resnet.py --library torch         # the same code on PyTorch
    python examples/mnist_resnet.py --epochs 1 --train-limit 6400 --save-model resnet.npz
"""
import argparse
import sys
import time

import numpy as np


def chosen_library(arguments):
    """--library, read before the imports below (the rest of the arguments are parsed in main)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--library", choices=["minigrad", "torch"], default="minigrad")
    return parser.parse_known_args(arguments)[0].library


LIBRARY = chosen_library(sys.argv[1:])
if LIBRARY == "torch":
    import torch
    import torch.nn.functional as F
    from torch import nn, optim
else:
    import minigrad as torch
    import minigrad.nn.functional as F
    from minigrad import nn, optim

import minigrad  # noqa: E402  (both libraries read MNIST and augment it with minigrad.data)

RUN_TIME = ("Runs in about 6 minutes (3 epochs) on a 2-core AVX2 machine (AMD Zen 3) once minigrad's kernels are "
            "compiled (the first run on a machine compiles them first).")


# --- the network -----------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    """relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)): ResNet's block of two 3x3 convolutions."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:  # the input's shape changes: project it
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, width=16, blocks_per_stage=2, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        stages, channels = [], width
        for stage in range(3):
            out_channels = width * 2 ** stage
            for block in range(blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                stages.append(BasicBlock(channels, out_channels, stride))
                channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels, classes)

    def forward(self, x):
        x = self.pool(self.stages(self.stem(x)))
        return self.head(torch.flatten(x, 1))


# --- training and evaluation ---------------------------------------------------------------------

def train(model, device, train_loader, optimizer, scheduler, epoch, step_times, log_interval=100):
    model.train()
    for batch_index, (data, target) in enumerate(train_loader):
        started = time.perf_counter()
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if batch_index % log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_index * len(data)}/{len(train_loader.dataset)}]"
                  f"\tLoss: {loss.item():.6f}\tlr: {scheduler.get_last_lr()[0]:.4f}", flush=True)
        step_times.append(time.perf_counter() - started)


def test(model, device, test_loader):
    model.eval()  # BatchNorm normalizes with its running statistics
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.cross_entropy(output, target, reduction="sum").item()
            correct += (output.argmax(dim=1) == target).sum().item()
    count = len(test_loader.dataset)
    print(f"Test set: Average loss: {test_loss / count:.4f}, Accuracy: {correct}/{count} "
          f"({100.0 * correct / count:.2f}%)", flush=True)
    return correct / count


# --- data: minigrad.data for both libraries, the batches handed over as the library's tensors -----

MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)


class Batches:
    """A minigrad DataLoader whose batches are handed over as tensors of the library in use."""

    def __init__(self, loader):
        self.loader, self.dataset = loader, loader.dataset

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for images, labels in self.loader:
            yield torch.from_numpy(images.numpy()), torch.from_numpy(labels.numpy())


def load_data(arguments):
    transforms = minigrad.data.transforms
    normalize = transforms.Normalize(MNIST_MEAN, MNIST_STD)
    try:
        train_images, train_labels = minigrad.data.load_mnist("train", root=arguments.data_dir)
        test_images, test_labels = minigrad.data.load_mnist("test", root=arguments.data_dir)
    except FileNotFoundError as error:  # no data and no download: say it plainly, once
        raise SystemExit(f"mnist_resnet.py: {error}") from None
    train_set = minigrad.data.TensorDataset(train_images[:arguments.train_limit], train_labels[:arguments.train_limit])
    test_set = minigrad.data.TensorDataset(test_images[:arguments.test_limit], test_labels[:arguments.test_limit])
    augment = transforms.Compose([transforms.RandomCrop(28, padding=2), transforms.RandomRotation(10), normalize])
    train_loader = minigrad.data.DataLoader(train_set, batch_size=arguments.batch_size, shuffle=True,
                                            generator=arguments.seed, transform=augment)
    test_loader = minigrad.data.DataLoader(test_set, batch_size=1000, transform=normalize)
    return Batches(train_loader), Batches(test_loader)


def make_optimizer(model, arguments, steps_per_epoch):
    """SGD with Nesterov momentum, weight decay on the convolution and linear weights only (not on
    BatchNorm's scales and shifts or the biases, as is usual), and a one-cycle learning rate."""
    decayed = [parameter for parameter in model.parameters() if parameter.ndim > 1]
    not_decayed = [parameter for parameter in model.parameters() if parameter.ndim <= 1]
    optimizer = optim.SGD([{"params": decayed, "weight_decay": arguments.weight_decay},
                           {"params": not_decayed, "weight_decay": 0.0}],
                          lr=arguments.lr, momentum=0.9, nesterov=True)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=arguments.lr, epochs=arguments.epochs,
                                              steps_per_epoch=steps_per_epoch)
    return optimizer, scheduler


def parse_arguments(arguments=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=RUN_TIME)
    parser.add_argument("--library", choices=["minigrad", "torch"], default="minigrad",
                        help="run the same code on minigrad (default) or on PyTorch")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training set (default 3)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per step (default 128)")
    parser.add_argument("--lr", type=float, default=0.1, help="the one-cycle schedule's peak lr (default 0.1)")
    parser.add_argument("--weight-decay", type=float, default=5e-4, help="on weights, not on BatchNorm (default 5e-4)")
    parser.add_argument("--width", type=int, default=16, help="channels of the first stage (default 16)")
    parser.add_argument("--seed", type=int, default=1, help="seed of initialisation and shuffling (default 1)")
    parser.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files")
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, default=None, help="use only the first N test images")
    parser.add_argument("--save-model", metavar="PATH", help="save the trained model's state_dict there")
    arguments = parser.parse_args(arguments)
    if arguments.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {arguments.epochs}")
    return arguments


def main(arguments=None):
    arguments = parse_arguments(arguments)
    torch.manual_seed(arguments.seed)
    try:
        device = torch.device(arguments.device)
        model = ResNet(arguments.width).to(device)
    except (RuntimeError, ValueError) as error:  # e.g. --device cuda on a machine without a GPU
        raise SystemExit(f"mnist_resnet.py: {error}") from None
    train_loader, test_loader = load_data(arguments)
    optimizer, scheduler = make_optimizer(model, arguments, len(train_loader))
    parameters = sum(parameter.numel() for parameter in model.parameters())
    print(f"{LIBRARY}: ResNet with {parameters:,} parameters on {arguments.device}", flush=True)
    accuracy, step_times = 0.0, []
    for epoch in range(1, arguments.epochs + 1):
        train(model, device, train_loader, optimizer, scheduler, epoch, step_times)
        accuracy = test(model, device, test_loader)

    if arguments.save_model:
        torch.save(model.state_dict(), arguments.save_model)
    # The first steps compile minigrad's kernels (once per machine) or warm PyTorch's caches: the
    # median step leaves them out.
    print(f"{LIBRARY}: median step {1000 * float(np.median(step_times[5:] or step_times)):.1f} ms "
          f"over {len(step_times)} steps of {arguments.batch_size} images")
    print(f"final test_accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
