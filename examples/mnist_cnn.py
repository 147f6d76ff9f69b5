"""Train the reference CNN on MNIST ("Deep MNIST"): two 5x5 convolutions, two 2x2 max-pools, a 1024-unit
hidden layer with dropout 0.5, ten outputs; 3,274,634 parameters.

With the defaults (Adam, learning rate 1e-3 annealed along a cosine over the run, batch 100, 3 epochs)
it reaches about 99.2-99.3% test accuracy, in about 2 minutes on a 2-core AVX2 machine (Zen 3;
the first run also compiles the kernels, on every core at once: about 15-19 s on 2 cores). A first try: --epochs 1 --train-limit 5000
(about 15 s). MNIST is read from --data-dir, $MINIGRAD_DATA or ~/.cache/minigrad/mnist, and
downloaded there on first use.

    python examples/mnist_cnn.py                          # train, print one line per epoch
    python examples/mnist_cnn.py --save run.npz --plot figures/   # Ctrl-C stops after the step under way
    python examples/mnist_cnn.py --resume run.npz         # continue that run where it stopped, same schedule
    python examples/mnist_cnn.py --resume run.npz --epochs 5   # two epochs more than planned (the cosine restarts)
    mpiexec -n 2 python examples/mnist_cnn.py --distributed    # two processes, each half of every batch

With --distributed (launched by mpiexec; pip install -e ".[distributed]") each process trains the
same model on its own shard of the data with its share of the batch (--batch-size is the global
batch), the gradients averaged across processes by DistributedDataParallel; the evaluation is
shared too, and only rank 0 prints, plots and writes the checkpoint.

A checkpoint holds the whole run: the model, the optimizer, the schedule (with its planned length),
the random state of dropout, the history, and how far the run got (after an epoch, or after the
step under way when Ctrl-C stopped it). Resuming gives the same losses as a run never stopped.
"""
import argparse
import contextlib
import itertools
import os
import signal
import sys
import threading

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.nn.parallel import DistributedDataParallel

RUN_TIME = ("Runs in about 2 minutes (3 epochs) on a 2-core AVX2 machine (AMD Zen 3) once its kernels are compiled "
            "(the first run on a machine compiles them first).")

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


def rank():
    """This process's place among the training processes: 0 when alone (or before dist.init())."""
    return dist.get_rank() if dist.is_initialized() else 0


def processes():
    return dist.get_world_size() if dist.is_initialized() else 1


def gathered(value):
    """Every process's ``value``, in rank order (a list of one when alone)."""
    if processes() == 1:
        return [value]
    everyone = [None] * processes()
    dist.all_gather_object(everyone, value)
    return everyone


def say(*words, **options):
    """print, from rank 0 only: with several processes one of them speaks for all."""
    if rank() == 0:
        print(*words, **options)


def reference_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Dropout(0.5), nn.Linear(1024, 10),
    )


def parse_arguments(arguments=None):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[:2]).replace("\n", " "), epilog=RUN_TIME)
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the training set (default 3, or the resumed run's plan)")
    parser.add_argument("--batch-size", type=int, default=100, help="images per step (default 100)")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="default adam")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: 1e-3 for adam)")
    parser.add_argument("--schedule", choices=sorted(SCHEDULES), default="cosine",
                        help="learning-rate schedule over the run (default cosine)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files")
    parser.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling, dropout (default 0)")
    parser.add_argument("--save", metavar="PATH",
                        help="write a checkpoint (model, optimizer, schedule) after each epoch and on Ctrl-C")
    parser.add_argument("--resume", metavar="PATH",
                        help="continue the run saved in this checkpoint (and keep saving to it unless --save says otherwise)")
    parser.add_argument("--plot", metavar="DIR", help="write loss/accuracy curves, sample predictions, confusion matrix")
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, default=None, help="use only the first N test images")
    parser.add_argument("--distributed", action="store_true",
                        help="one of the processes of `mpiexec -n N python examples/mnist_cnn.py --distributed`")
    arguments = parser.parse_args(arguments)
    if arguments.epochs is not None and arguments.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {arguments.epochs}")
    if arguments.lr is None:
        arguments.lr = DEFAULT_LEARNING_RATES[arguments.optimizer]
    return arguments


def evaluate(model, images, labels, batch_size=500, device="cpu"):
    """(mean loss, accuracy, predicted labels) over a whole split, in eval mode, recording nothing.
    With several processes each evaluates its slice of the split and they pool the results."""
    model.eval()
    total_loss, predicted = 0.0, [np.zeros(0, dtype=np.int64)]
    mine = np.array_split(np.arange(len(images)), processes())[rank()]
    with mg.no_grad():
        for start in range(mine[0] if len(mine) else 0, mine[-1] + 1 if len(mine) else 0, batch_size):
            stop = min(start + batch_size, mine[-1] + 1)
            logits = model(mg.from_numpy(images[start:stop]).to(device))
            batch_labels = mg.from_numpy(labels[start:stop]).to(device)
            total_loss += F.cross_entropy(logits, batch_labels, reduction="sum").item()
            predicted.append(logits.argmax(axis=1).cpu().numpy())
    model.train()
    everyone = gathered((total_loss, np.concatenate(predicted)))  # the slices in rank order: the split's order
    predicted = np.concatenate([slice_predicted for _, slice_predicted in everyone])
    total_loss = sum(slice_loss for slice_loss, _ in everyone)
    return total_loss / len(images), float((predicted == labels).mean()), predicted


class StopRequest:
    """Ctrl-C while training asks the run to stop after the step under way, so that parameters,
    optimizer state and schedule are saved whole; a second Ctrl-C stops at once."""

    def __init__(self):
        self.requested = False
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # only there can Python take a signal
            self.previous = signal.signal(signal.SIGINT, self._request)
        return self

    def __exit__(self, *exception_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False

    def _request(self, signal_number, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


def asked_anywhere(stop):
    """Whether Ctrl-C reached this process or, with several, any of them (all answer the same)."""
    if processes() == 1:
        return stop.requested
    flag = mg.tensor([float(stop.requested)])
    dist.all_reduce(flag)
    return flag.item() > 0


def pooled_over_processes(loss_value, accuracy, stop):
    """The step's loss and accuracy over the global batch (equal shares: the mean of the processes'
    means), and whether any process had been asked to stop by then: one small allreduce a step. All
    stop after the same step because all decide on this same answer (a Ctrl-C landing after it counts
    at the next step), so none is left waiting alone in a collective."""
    values = mg.tensor([float(loss_value), float(accuracy), float(stop is not None and stop.requested)],
                       dtype=mg.float64)
    dist.all_reduce(values)
    loss_sum, accuracy_sum, stopping = values.tolist()
    return loss_sum / processes(), accuracy_sum / processes(), stopping > 0


def training_step(model, optimizer, images, labels):
    """Forward, loss, backward, update: (logits, loss)."""
    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return logits, loss


def compile_ahead(model, optimizer, images, labels, batch_size):
    """On a machine's first run, compile the kernels of a training step and of the evaluation on
    every core at once, before the first batch (mg.precompile: on forked copies of this process,
    which leave the model and the optimizer as they are). Nothing to do when they are cached."""
    def first_step_and_evaluation():
        training_step(model, optimizer, mg.from_numpy(images[:batch_size]), mg.from_numpy(labels[:batch_size]))
        evaluate(model, images[:batch_size], labels[:batch_size])

    mg.precompile(first_step_and_evaluation)


def train_epoch(model, loader, optimizer, schedule, description, history, step, device="cpu", skip=0,
                stop=None):
    """One pass over the loader, less its first ``skip`` batches (done before a resume), or until
    ``stop`` is requested; returns the step count after it and the progress bar's summary."""
    process_count = processes()  # each with loader.batch_size images of the global batch
    remaining_images = (len(loader) - skip) * loader.batch_size * process_count
    quiet = rank() != 0  # rank 0 speaks for all
    # The compile notice goes to stdout on rank 0 (nullcontext gives None), nowhere on the others.
    with (open(os.devnull, "w") if quiet else contextlib.nullcontext()) as notices, \
            mg.progress.ProgressBar(total=remaining_images, description=description,
                                    enabled=False if quiet else None) as bar:
        for images, labels in itertools.islice(loader, skip, None):
            images, labels = images.to(device), labels.to(device)  # through a pinned buffer on cuda
            # Where compile_ahead did not run (a GPU, several processes), the first run on a machine
            # compiles the kernels in its first step: said aloud, and left out of the img/s.
            with mg.progress.compile_notice(file=notices) as compiling:
                logits, loss = training_step(model, optimizer, images, labels)
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
            stopping = stop is not None and stop.requested  # decided now, not after the bar's redraw
            if process_count > 1:
                loss_value, accuracy, stopping = pooled_over_processes(loss_value, accuracy, stop)
            bar.update(images=len(labels) * process_count, loss=loss_value, accuracy=accuracy)
            history["train"]["step"].append(step)
            history["train"]["loss"].append(loss_value)
            history["train"]["accuracy"].append(accuracy)
            if stopping:
                break
    for key in ("loss", "accuracy"):
        history["train"][key] = [value if isinstance(value, float) else float(value.item())
                                 for value in history["train"][key]]
    return step, bar.summary()


def epoch_means(history, first_step):
    """The training loss and accuracy of the steps after ``first_step``: the epoch's own, however
    many runs it took (a summary of the progress bar would cover only the part after a resume)."""
    steps = np.asarray(history["train"]["step"])
    chosen = steps > first_step
    return (float(np.mean(np.asarray(history["train"]["loss"])[chosen])),
            float(np.mean(np.asarray(history["train"]["accuracy"])[chosen])))


def save_checkpoint(path, model, optimizer, schedule, history, planned_epochs, epoch, batches, step, seconds):
    """The whole run, written atomically by mg.save: ``epoch`` epochs done and ``batches`` batches of the next.
    Every process's random state goes in (each draws its own dropout masks); only rank 0 writes."""
    random_states = gathered(mg.get_rng_state())
    if rank() == 0:
        mg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "schedule": schedule.state_dict() if schedule is not None else None,
                 "rng": random_states[0], "rng_per_process": random_states, "history": history,
                 "planned_epochs": planned_epochs, "epoch": epoch, "batches": batches, "step": step,
                 "seconds": seconds}, path)


def main(arguments=None):
    args = parse_arguments(arguments)
    try:
        run(args)
    except KeyboardInterrupt:  # outside the training steps (loading data, evaluating), or a second Ctrl-C
        print("mnist_cnn.py: interrupted", file=sys.stderr)
        raise SystemExit(130) from None


def run(args):
    dist.init()  # rank and world size from mpiexec; without it a single process (and no MPI needed)
    if processes() > 1 and not args.distributed:
        raise SystemExit(f"mnist_cnn.py: launched as {processes()} processes: add --distributed, "
                         "or each would train the whole run on its own")
    if args.distributed:
        if args.batch_size % processes():
            raise SystemExit(f"mnist_cnn.py: --batch-size {args.batch_size} does not split evenly over "
                             f"{processes()} processes")
    mg.manual_seed(args.seed)
    try:
        train_images, train_labels = mg.data.load_mnist("train", root=args.data_dir)
        test_images, test_labels = mg.data.load_mnist("test", root=args.data_dir)
    except FileNotFoundError as error:  # no data and no download: say it plainly, once
        raise SystemExit(f"mnist_cnn.py: {error}") from None
    try:
        model = reference_cnn().to(args.device)
    except (RuntimeError, ValueError) as error:  # no such device
        raise SystemExit(f"mnist_cnn.py: {error}") from None
    train_images, train_labels = train_images[:args.train_limit], train_labels[:args.train_limit]
    test_images, test_labels = test_images[:args.test_limit], test_labels[:args.test_limit]

    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), args.lr)
    trained = model
    if args.distributed:
        # Rank 0's initial parameters go to every process; each then draws its own dropout masks.
        trained = DistributedDataParallel(model)
        mg.manual_seed(args.seed + 1000 * rank())
        shard = mg.data.DistributedSampler(train_images, shuffle=True, seed=args.seed, drop_last=True)
        loader = mg.data.DataLoader((train_images, train_labels), batch_size=args.batch_size // processes(),
                                    sampler=shard, drop_last=True)
    else:
        loader = mg.data.DataLoader((train_images, train_labels), batch_size=args.batch_size, shuffle=True,
                                    drop_last=True, seed=args.seed)
    checkpoint = mg.load(args.resume) if args.resume else None
    # The schedule's length is the run's plan: a resumed run keeps the plan it was saved with.
    planned_epochs = checkpoint.get("planned_epochs", 3) if checkpoint is not None else (args.epochs or 3)
    epochs = args.epochs or planned_epochs
    schedule = SCHEDULES[args.schedule](optimizer, len(loader), len(loader) * planned_epochs)
    history = {"train": {"step": [], "loss": [], "accuracy": []}, "test": {"step": [], "loss": [], "accuracy": []}}
    epochs_done, batches_done, step, training_seconds, reached = 0, 0, 0, 0.0, None
    save_path = args.save or args.resume  # a resumed run goes on saving to its own file

    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if schedule is not None:
            schedule.load_state_dict(checkpoint["schedule"])  # its T_max included
        # The same dropout masks as a run that never stopped (each process its own, when the run had as many).
        random_states = checkpoint.get("rng_per_process", [checkpoint["rng"]])
        mg.set_rng_state(random_states[rank()] if len(random_states) == processes()
                         else checkpoint["rng"])
        history = {split: {key: list(values) for key, values in series.items()}
                   for split, series in checkpoint["history"].items()}
        epochs_done, batches_done = checkpoint["epoch"], checkpoint.get("batches", 0)
        step, training_seconds = checkpoint["step"], checkpoint["seconds"]
        where = f"epoch {epochs_done}" if batches_done == 0 else f"step {batches_done} of epoch {epochs_done + 1}"
        say(f"resumed {args.resume} after {where} (step {step} of a {planned_epochs}-epoch run)")
        if epochs < planned_epochs:
            say(f"stopping after epoch {epochs}, before the end of the planned {planned_epochs}: "
                  "the learning rate follows the planned schedule")

    if args.device == "cpu" and processes() == 1:  # (a GPU's kernels, or MPI's ranks, are not for forking)
        compile_ahead(model, optimizer, train_images, train_labels, args.batch_size)
    with StopRequest() as stop:
        for epoch in range(epochs_done + 1, epochs + 1):
            if epoch == planned_epochs + 1:
                schedule = extend_plan(args, optimizer, loader, schedule, planned_epochs, epochs)
                planned_epochs = epochs
            loader.set_epoch(epoch)  # the shuffle of epoch e depends only on (seed, e): resuming repeats it
            epoch_start = step - batches_done
            step, summary = train_epoch(trained, loader, optimizer, schedule, f"epoch {epoch}/{epochs}", history,
                                        step, device=args.device, skip=batches_done, stop=stop)
            training_seconds += summary["seconds"]  # without the kernels' compile on a first run
            batches_done = step - epoch_start
            if batches_done < len(loader):  # Ctrl-C: keep the run as it stands after its last whole step
                if save_path:
                    save_checkpoint(save_path, model, optimizer, schedule, history, planned_epochs, epoch - 1,
                                    batches_done, step, training_seconds)
                end_interrupted(f"step {step} (epoch {epoch}, batch {batches_done}/{len(loader)})", save_path)
            batches_done = 0
            train_loss, train_accuracy = epoch_means(history, epoch_start)
            test_loss, test_accuracy, predicted = evaluate(model, test_images, test_labels, device=args.device)
            history["test"]["step"].append(step)
            history["test"]["loss"].append(test_loss)
            history["test"]["accuracy"].append(test_accuracy)
            if reached is None and test_accuracy >= TARGET_ACCURACY:
                reached = (epoch, training_seconds)
            say(f"epoch {epoch}/{epochs}: train loss {train_loss:.4f} accuracy {train_accuracy:.2%}, "
                  f"test loss {test_loss:.4f} accuracy {test_accuracy:.2%}, {summary['images_per_second']:,.0f} img/s, "
                  f"{training_seconds:.1f} s of training so far", flush=True)
            if save_path:
                save_checkpoint(save_path, model, optimizer, schedule, history, planned_epochs, epoch, 0, step,
                                training_seconds)
            if epoch < epochs and asked_anywhere(stop):  # Ctrl-C in the epoch's last step or its evaluation
                end_interrupted(f"epoch {epoch} (step {step})", save_path)

    if epochs_done >= epochs:
        say(f"nothing to train: the checkpoint has {epochs_done} epochs done, --epochs asks for {epochs}")
        test_loss, test_accuracy, predicted = evaluate(model, test_images, test_labels, device=args.device)
    if reached is not None:
        say(f"reached {TARGET_ACCURACY:.1%} test accuracy after epoch {reached[0]}, {reached[1]:.1f} s of training")
    if args.plot and rank() == 0:  # one process draws the figures for all
        os.makedirs(args.plot, exist_ok=True)
        mg.plot.training_curves(history, os.path.join(args.plot, "curves.png"), title="reference CNN on MNIST")
        mg.plot.sample_grid(test_images[:50], predicted[:50], test_labels[:50], os.path.join(args.plot, "samples.png"))
        mg.plot.confusion_matrix(predicted, test_labels, os.path.join(args.plot, "confusion.png"))
        say(f"figures written to {os.path.join(args.plot, '')} (curves.png, samples.png, confusion.png)")
    say(f"final test_accuracy={test_accuracy:.4f}")


def end_interrupted(where, save_path):
    """One line, and the exit status of a run stopped by Ctrl-C (128 + SIGINT, as a shell reports it)."""
    kept = f"saved to {save_path}, --resume {save_path} continues it" if save_path else "not saved (--save PATH keeps it)"
    say(f"interrupted after {where}: run {kept}", flush=True)
    raise SystemExit(130)


def extend_plan(args, optimizer, loader, schedule, planned_epochs, epochs):
    """Epochs beyond the run's plan: a cosine schedule has ended there, so it restarts from the
    initial learning rate over the extra epochs (a warm restart, as SGDR); the others have no
    end and go on. Says which, before the first extra epoch."""
    extra = epochs - planned_epochs
    if args.schedule == "none":
        return schedule
    if args.schedule != "cosine":
        say(f"epochs {planned_epochs + 1}-{epochs} go beyond the {planned_epochs} planned: "
              f"the {args.schedule} schedule has no end and goes on as before")
        return schedule
    initial_lr = optimizer.param_groups[0]["initial_lr"]
    say(f"epochs {planned_epochs + 1}-{epochs} go beyond the {planned_epochs} planned, where the cosine "
          f"schedule ended: it restarts from lr {initial_lr:g} over the {extra} extra epoch{'s' * (extra > 1)}")
    for group in optimizer.param_groups:  # a new scheduler goes on from the lr it finds (PyTorch's chainable rule)
        group["lr"] = group["initial_lr"]
    return SCHEDULES[args.schedule](optimizer, len(loader), len(loader) * extra)


if __name__ == "__main__":
    main()
