"""Train the reference CNN on MNIST ("Deep MNIST"): two 5x5 convolutions, two 2x2 max-pools, a 1024-unit
hidden layer with dropout 0.5, ten outputs; 3,274,634 parameters.

With the defaults (Adam, learning rate 1e-3 annealed along a cosine over the run, batch 100, 3 epochs)
it reaches about 99.2-99.3% test accuracy. MNIST is read from --data-dir, $MINIGRAD_DATA or
~/.cache/minigrad/mnist, and downloaded there on first use.

    python examples/mnist_cnn.py                          # train, print one line per epoch
    python examples/mnist_cnn.py --save run.npz --plot figures/
    python examples/mnist_cnn.py --epochs 5 --resume run.npz   # continue the same run for two more epochs
"""
import argparse

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

OPTIMIZERS = {
    "adam": lambda parameters, lr: mg.optim.Adam(parameters, lr=lr),
    "adamw": lambda parameters, lr: mg.optim.AdamW(parameters, lr=lr),
    "sgd": lambda parameters, lr: mg.optim.SGD(parameters, lr=lr),
    "momentum": lambda parameters, lr: mg.optim.SGD(parameters, lr=lr, momentum=0.9),
    "rmsprop": lambda parameters, lr: mg.optim.RMSprop(parameters, lr=lr),
}
DEFAULT_LEARNING_RATES = {"adam": 1e-3, "adamw": 1e-3, "sgd": 0.1, "momentum": 0.01, "rmsprop": 1e-3}
# Schedules stepped once per training step; "step" and "exponential" decay once per epoch's worth of steps.
SCHEDULES = {
    "none": lambda optimizer, steps_per_epoch, total_steps: None,
    "cosine": lambda optimizer, steps_per_epoch, total_steps: mg.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=total_steps),
    "step": lambda optimizer, steps_per_epoch, total_steps: mg.optim.lr_scheduler.StepLR(
        optimizer, step_size=steps_per_epoch, gamma=0.5),
    "exponential": lambda optimizer, steps_per_epoch, total_steps: mg.optim.lr_scheduler.ExponentialDecay(
        optimizer.param_groups[0]["lr"], decay_steps=steps_per_epoch, decay_rate=0.5, optimizer=optimizer),
}
TARGET_ACCURACY = 0.992


def reference_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Dropout(0.5), nn.Linear(1024, 10),
    )


def parse_arguments(arguments=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training set (default 3)")
    parser.add_argument("--batch-size", type=int, default=100, help="images per step (default 100)")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="default adam")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: 1e-3 for adam)")
    parser.add_argument("--schedule", choices=sorted(SCHEDULES), default="cosine",
                        help="learning-rate schedule over the run (default cosine)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files")
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling, dropout (default 0)")
    parser.add_argument("--save", metavar="PATH", help="write a checkpoint (model, optimizer, schedule) after each epoch")
    parser.add_argument("--resume", metavar="PATH", help="continue the run saved in this checkpoint")
    parser.add_argument("--plot", metavar="DIR", help="write loss/accuracy curves, sample predictions, confusion matrix")
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, default=None, help="use only the first N test images")
    arguments = parser.parse_args(arguments)
    if arguments.lr is None:
        arguments.lr = DEFAULT_LEARNING_RATES[arguments.optimizer]
    return arguments


def evaluate(model, images, labels, batch_size=500, device="cpu"):
    """(mean loss, accuracy, predicted labels) over a whole split, in eval mode, recording nothing."""
    model.eval()
    total_loss, predicted = 0.0, []
    with mg.no_grad():
        for start in range(0, len(images), batch_size):
            logits = model(mg.from_numpy(images[start:start + batch_size]).to(device))
            batch_labels = mg.from_numpy(labels[start:start + batch_size]).to(device)
            total_loss += F.cross_entropy(logits, batch_labels, reduction="sum").item()
            predicted.append(logits.argmax(axis=1).cpu().numpy())
    model.train()
    predicted = np.concatenate(predicted)
    return total_loss / len(images), float((predicted == labels).mean()), predicted


def train_epoch(model, loader, optimizer, schedule, description, history, step, device="cpu"):
    """One pass over the loader; returns the step count after it and the progress bar's summary."""
    with mg.progress.ProgressBar(total=len(loader) * loader.batch_size, description=description) as bar:
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)  # through a pinned buffer on cuda
            # The first run on a machine compiles the kernels in its first step: said aloud, and
            # left out of the img/s, which measures training.
            with mg.progress.compile_notice() as compiling:
                logits = model(images)
                loss = F.cross_entropy(logits, labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            bar.exclude(compiling.seconds)
            if schedule is not None:
                schedule.step()
            step += 1
            # On the GPU, reading a number back waits for the step to finish: the loss and accuracy
            # stay there, the bar reads them when it redraws and the history at the end of the epoch.
            loss_value = loss.detach()
            accuracy = (logits.data.argmax(axis=1) == labels.data).mean()
            if device == "cpu":
                loss_value, accuracy = loss_value.item(), float(accuracy)
            bar.update(images=len(labels), loss=loss_value, accuracy=accuracy)
            history["train"]["step"].append(step)
            history["train"]["loss"].append(loss_value)
            history["train"]["accuracy"].append(accuracy)
    for key in ("loss", "accuracy"):
        history["train"][key] = [value if isinstance(value, float) else float(value.item())
                                 for value in history["train"][key]]
    return step, bar.summary()


def main(arguments=None):
    args = parse_arguments(arguments)
    mg.manual_seed(args.seed)
    try:
        train_images, train_labels = mg.data.load_mnist("train", root=args.data_dir)
        test_images, test_labels = mg.data.load_mnist("test", root=args.data_dir)
        model = reference_cnn().to(args.device)
    except (FileNotFoundError, RuntimeError, ValueError) as error:  # no data, no such device: say it plainly
        raise SystemExit(f"mnist_cnn.py: {error}") from None
    train_images, train_labels = train_images[:args.train_limit], train_labels[:args.train_limit]
    test_images, test_labels = test_images[:args.test_limit], test_labels[:args.test_limit]

    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), args.lr)
    loader = mg.data.DataLoader((train_images, train_labels), batch_size=args.batch_size, shuffle=True,
                                drop_last=True, seed=args.seed)
    schedule = SCHEDULES[args.schedule](optimizer, len(loader), len(loader) * args.epochs)
    history = {"train": {"step": [], "loss": [], "accuracy": []}, "test": {"step": [], "loss": [], "accuracy": []}}
    first_epoch, step, training_seconds, reached = 1, 0, 0.0, None

    if args.resume:
        checkpoint = mg.load(args.resume)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if schedule is not None:
            schedule.load_state_dict(checkpoint["schedule"])
        mg.set_rng_state(checkpoint["rng"])  # the same dropout masks as a run that never stopped
        history = {split: {key: list(values) for key, values in series.items()}
                   for split, series in checkpoint["history"].items()}
        first_epoch, step, training_seconds = checkpoint["epoch"] + 1, checkpoint["step"], checkpoint["seconds"]
        print(f"resumed {args.resume} after epoch {checkpoint['epoch']} (step {step})")

    for epoch in range(first_epoch, args.epochs + 1):
        loader.set_epoch(epoch)  # the shuffle of epoch e depends only on (seed, e): resuming repeats it
        step, summary = train_epoch(model, loader, optimizer, schedule, f"epoch {epoch}/{args.epochs}", history, step,
                                    device=args.device)
        training_seconds += summary["seconds"]  # without the kernels' compile on a first run
        test_loss, test_accuracy, predicted = evaluate(model, test_images, test_labels, device=args.device)
        history["test"]["step"].append(step)
        history["test"]["loss"].append(test_loss)
        history["test"]["accuracy"].append(test_accuracy)
        if reached is None and test_accuracy >= TARGET_ACCURACY:
            reached = (epoch, training_seconds)
        print(f"epoch {epoch}/{args.epochs}: train loss {summary['loss']:.4f} accuracy {summary['accuracy']:.2%}, "
              f"test loss {test_loss:.4f} accuracy {test_accuracy:.2%}, {summary['images_per_second']:,.0f} img/s, "
              f"{training_seconds:.1f} s training", flush=True)
        if args.save:
            mg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "schedule": schedule.state_dict() if schedule is not None else None,
                     "rng": mg.get_rng_state(), "history": history, "epoch": epoch, "step": step,
                     "seconds": training_seconds}, args.save)

    if first_epoch > args.epochs:
        test_loss, test_accuracy, predicted = evaluate(model, test_images, test_labels, device=args.device)
    if reached is not None:
        print(f"reached {TARGET_ACCURACY:.1%} test accuracy after epoch {reached[0]}, {reached[1]:.1f} s of training")
    if args.plot:
        mg.plot.training_curves(history, f"{args.plot}/curves.png", title="reference CNN on MNIST")
        mg.plot.sample_grid(test_images[:50], predicted[:50], test_labels[:50], f"{args.plot}/samples.png")
        mg.plot.confusion_matrix(predicted, test_labels, f"{args.plot}/confusion.png")
        print(f"figures written to {args.plot}/ (curves.png, samples.png, confusion.png)")
    print(f"final test_accuracy={test_accuracy:.4f}")


if __name__ == "__main__":
    main()
