"""A PyTorch training script, ported to minigrad by changing its imports and its data-loading lines.

Everything between the import block and load_data() is written as the PyTorch tutorials write it: a
Module subclass whose forward calls F.relu, F.max_pool2d, torch.flatten and F.log_softmax; F.nll_loss;
Adadelta with StepLR; argmax(dim=1, keepdim=True) and pred.eq(target.view_as(pred)).sum().item();
torch.save(model.state_dict(), path). With `import minigrad as torch` those lines run unchanged; with
--library torch the very same functions run on PyTorch, which is how the two are timed side by side
(`python -m minigrad.bench port`).

The network, in this example's own words: two 5x5 convolutions (32 and 64 channels, each followed by
ReLU and a 2x2 max-pool), dropout, a 128-unit hidden layer, ten outputs. Trained 3 epochs on MNIST with
random crops (padding 2), batch 64, Adadelta (lr 1.0) decayed by 0.7 each epoch, it reaches about
99.3% test accuracy. MNIST is read from --data-dir, $MINIGRAD_DATA or ~/.cache/minigrad/mnist, and
downloaded there on first use.

    python examples/from_pytorch.py                       # 3 epochs on minigrad
    python examples/from_pytorch.py --library torch       # the same code on PyTorch (if installed)
    python examples/from_pytorch.py --epochs 1 --train-limit 6400 --save-model mnist_net.npz
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
if LIBRARY == "torch":  # what the script imported before the port
    import torch
    import torch.nn.functional as F
    from torch import nn, optim
    from torch.optim.lr_scheduler import StepLR
else:  # the port: these five lines are the change
    import minigrad as torch
    import minigrad.nn.functional as F
    from minigrad import nn, optim
    from minigrad.optim.lr_scheduler import StepLR

import minigrad  # noqa: E402  (both libraries read MNIST and augment it with minigrad.data)

RUN_TIME = ("Runs in about 3 minutes (3 epochs) on a 2-core AVX2 machine (AMD Zen 3) once minigrad's kernels are "
            "compiled (the first run on a machine compiles them first).")


# --- as the PyTorch tutorials write it -----------------------------------------------------------

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def train(model, device, train_loader, optimizer, epoch, step_times, log_interval=200):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        started = time.perf_counter()
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        step_times.append(time.perf_counter() - started)
        if batch_idx % log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)}]"
                  f"\tLoss: {loss.item():.6f}", flush=True)


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print(f"Test set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{len(test_loader.dataset)} "
          f"({100.0 * correct / len(test_loader.dataset):.2f}%)", flush=True)
    return correct / len(test_loader.dataset)


# --- the data-loading lines: PyTorch's would be torchvision's datasets.MNIST and transforms ---------

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
        raise SystemExit(f"from_pytorch.py: {error}") from None
    train_set = minigrad.data.TensorDataset(train_images[:arguments.train_limit], train_labels[:arguments.train_limit])
    test_set = minigrad.data.TensorDataset(test_images[:arguments.test_limit], test_labels[:arguments.test_limit])
    train_loader = minigrad.data.DataLoader(
        train_set, batch_size=arguments.batch_size, shuffle=True, generator=arguments.seed,
        transform=transforms.Compose([transforms.RandomCrop(28, padding=2), normalize]))
    test_loader = minigrad.data.DataLoader(test_set, batch_size=1000, transform=normalize)
    return Batches(train_loader), Batches(test_loader)


def parse_arguments(arguments=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=RUN_TIME)
    parser.add_argument("--library", choices=["minigrad", "torch"], default="minigrad",
                        help="run the same code on minigrad (default) or on PyTorch")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training set (default 3)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per step (default 64)")
    parser.add_argument("--lr", type=float, default=1.0, help="Adadelta's learning rate (default 1.0)")
    parser.add_argument("--gamma", type=float, default=0.7, help="the lr's decay per epoch (default 0.7)")
    parser.add_argument("--seed", type=int, default=1, help="seed of initialisation, shuffling, dropout (default 1)")
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
    device = torch.device("cpu")
    train_loader, test_loader = load_data(arguments)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=arguments.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=arguments.gamma)
    accuracy, step_times = 0.0, []
    for epoch in range(1, arguments.epochs + 1):
        train(model, device, train_loader, optimizer, epoch, step_times)
        accuracy = test(model, device, test_loader)
        scheduler.step()

    if arguments.save_model:
        torch.save(model.state_dict(), arguments.save_model)
    # The first steps compile minigrad's kernels (once per machine) or warm PyTorch's caches: the
    # median step leaves them out.
    print(f"{LIBRARY}: median step {1000 * float(np.median(step_times[5:] or step_times)):.1f} ms "
          f"over {len(step_times)} steps of {arguments.batch_size} images")
    print(f"final test_accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
