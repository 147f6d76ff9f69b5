"""Figures for training scripts: learning curves, a grid of classified samples, a confusion matrix.

    mg.plot.training_curves(history, "out/curves.png")
    mg.plot.sample_grid(images, predicted, labels, "out/samples.png")
    mg.plot.confusion_matrix(predicted, labels, "out/confusion.png")
    mg.plot.reconstructions(images, autoencoder(images), "out/reconstructions.png")

Each function draws on its own ``matplotlib.figure.Figure`` with an Agg canvas and never goes
through pyplot: it changes no backend, leaves no open figure behind, and works headless. Matplotlib
is imported inside the functions, so ``import minigrad`` stays fast. Files are written atomically
(a temporary file beside the target, then ``os.replace``), so a viewer or a crash never sees half
a PNG. The format follows the suffix (``.png``, ``.svg``, ``.pdf``, ...; PNG when there is none).

Inputs may be NumPy arrays, lists, or minigrad Tensors (on any device).

The ``history`` of ``training_curves`` maps a split name to its series, each a list with one
value per evaluation::

    history = {
        "train": {"step": [...], "loss": [...], "accuracy": [...]},
        "test":  {"step": [...], "loss": [...], "accuracy": [...]},
    }

Splits may have any names (drawn in the order given); within a split, "loss" and "accuracy" are
each optional and "step" defaults to 0, 1, 2, ... Accuracy is a fraction in [0, 1] (shown as a
percentage) or already a percentage.

A long per-step series is drawn faint ("train, each step") under its moving average ("train,
moving average of 24 steps"). A short series beside it, such as a test split measured once per
epoch, is drawn with a marker at each point and labelled "test, end of each epoch" (the
``evaluated`` argument words it otherwise).
"""
import math
import os
import textwrap

import numpy as np

from .atomic_file import atomic_write

__all__ = ["confusion_counts", "confusion_matrix", "reconstructions", "sample_grid", "training_curves"]

SERIES_KEYS = ("step", "loss", "accuracy")
RIGHT_COLOUR = "#2e7d32"  # a dark green and a dark red: readable as small text on white
WRONG_COLOUR = "#c62828"
# Colour alone fails colour-blind readers: a wrong tile also says so in words and gets a dashed frame.
RIGHT_MARK = "\u2713"  # check mark
WRONG_MARK = "\u2717"  # ballot x
WRONG_FRAME = {"color": WRONG_COLOUR, "linewidth": 2.5, "linestyle": (0, (3, 1.5))}
MARK_FONT = "DejaVu Sans"  # ships with matplotlib and has both marks, whatever the user's default font


# --- public figures ------------------------------------------------------------------------------


def training_curves(history, path, title="Training", smoothing=None, dpi=120, evaluated="end of each epoch"):
    """Loss and accuracy against the training step, one panel each, every split in its own colour.

    ``history`` is described in the module docstring. A panel is drawn for each of loss and
    accuracy that some split reports. A long, noisy series (typically per-step training values) is
    drawn faint, with a trailing moving average of ``smoothing`` points on top; ``None`` picks
    about 1/25 of the series' length. A series too short to smooth (like per-epoch test values)
    is drawn with a marker at each point; beside a smoothed one its legend says when it was
    measured: ``evaluated`` ("end of each epoch"; say "every 500 steps" if that is what your loop
    does, or ``None`` for the bare split name). Returns ``path``.
    """
    splits = _checked_history(history)
    metrics = [metric for metric in ("loss", "accuracy") if any(metric in series for series in splits.values())]
    if not metrics:
        raise ValueError("training_curves: history has no 'loss' or 'accuracy' values to plot")
    if smoothing is not None and (not isinstance(smoothing, int) or smoothing < 1):
        raise ValueError(f"training_curves: smoothing must be a positive int or None, got {smoothing!r}")

    figure = _new_figure(6.0 * len(metrics), 4.2)
    axes_list = figure.subplots(1, len(metrics), squeeze=False)[0]
    for axes, metric in zip(axes_list, metrics):
        drawn = [(f"C{index}", name, series) for index, (name, series) in enumerate(splits.items()) if metric in series]
        windows = {name: _smoothing_window(series[metric], smoothing) for _, name, series in drawn}
        any_smoothed = any(windows.values())
        for colour, name, series in drawn:
            if windows[name]:
                _draw_smoothed_series(axes, series["step"], series[metric], name, colour, windows[name])
            else:
                # Measured now and then beside a per-step series: say when (the end of each epoch).
                when = evaluated if any_smoothed and _spacing(series["step"]) != 1 else None
                _draw_marked_series(axes, series["step"], series[metric], f"{name}, {when}" if when else name, colour)
        axes.set_title(metric)
        axes.set_xlabel("training step")
        axes.set_ylabel(metric)
        axes.grid(True, alpha=0.3)
        axes.legend()
        if metric == "accuracy":
            _format_accuracy_axis(axes, splits)
    figure.suptitle(title)
    return _save_atomically(figure, path, dpi)


def sample_grid(images, predicted, true, path, columns=10, max_images=50, title=None, dpi=120, split="test"):
    """Greyscale images in a grid, each titled with the predicted class: "7 ✓" where right, and
    "7 ✗ (true 1)" in a dashed frame where wrong (green and red too, but never colour alone).

    ``images`` is (N, 1, H, W) or (N, H, W); ``predicted`` and ``true`` are N class indices
    (``predicted`` may also be (N, C) scores, of which the argmax is taken). The first
    ``max_images`` are shown. The default title says which images these are (``split``: "test
    images") and counts the right ones. Returns ``path``.
    """
    images = _greyscale_images(images)
    predicted = _class_indices(predicted, "sample_grid", "predicted")
    true = _class_indices(true, "sample_grid", "true")
    _check_same_length("sample_grid", images=images, predicted=predicted, true=true)
    for name, value in (("columns", columns), ("max_images", max_images)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"sample_grid: {name} must be a positive int, got {value!r}")
    if len(images) == 0:
        raise ValueError("sample_grid: no images to show")

    count = min(len(images), max_images)
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    width = max(1.3 * columns, 5.0)  # room for the title's two lines when there are few columns
    figure = _new_figure(width, 1.45 * rows + 0.8)
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        if index >= count:
            axes.set_axis_off()  # the unused cells of the last row
            continue
        right = predicted[index] == true[index]
        axes.imshow(images[index], cmap="gray", interpolation="nearest")
        axes.set_xticks([])
        axes.set_yticks([])
        for spine in axes.spines.values():  # the frame: none where right, dashed where wrong
            spine.set_visible(not right)
            if not right:
                spine.set(**WRONG_FRAME)
        text = f"{predicted[index]} {RIGHT_MARK}" if right else f"{predicted[index]} {WRONG_MARK} (true {true[index]})"
        axes.set_title(text, fontsize=8, fontfamily=MARK_FONT, color=RIGHT_COLOUR if right else WRONG_COLOUR)
    if title is None:
        correct = int(np.sum(predicted[:count] == true[:count]))
        images_of = f"{split} images" if split else "images"
        key = f"each: the predicted class, {RIGHT_MARK} if right; {WRONG_MARK} (true class) in a dashed frame if wrong"
        title = f"{images_of}: {correct} of {count} predicted right\n" + textwrap.fill(key, int(width * 10))
    figure.suptitle(title, fontfamily=MARK_FONT)
    return _save_atomically(figure, path, dpi)


def reconstructions(images, reconstructed, path, max_images=10, title=None, dpi=120):
    """Greyscale images in the top row and their reconstructions (an autoencoder's outputs) under
    them, one column per image, the first ``max_images``. Both are (N, 1, H, W) or (N, H, W) of the
    same shape; shown on one grey scale from 0 to 1 (values outside are clipped). Returns ``path``."""
    images = _greyscale_images(images, "reconstructions")
    reconstructed = _greyscale_images(reconstructed, "reconstructions")
    if images.shape != reconstructed.shape:
        raise ValueError(f"reconstructions: images {images.shape} and reconstructions {reconstructed.shape} "
                         "must have the same shape")
    if not isinstance(max_images, int) or max_images < 1:
        raise ValueError(f"reconstructions: max_images must be a positive int, got {max_images!r}")
    if len(images) == 0:
        raise ValueError("reconstructions: no images to show")
    count = min(len(images), max_images)
    figure = _new_figure(max(1.1 * count, 4.0), 2.7)
    grid = figure.subplots(2, count, squeeze=False)
    for row, (label, series) in enumerate((("input", images), ("reconstruction", reconstructed))):
        for column in range(count):
            axes = grid[row, column]
            axes.imshow(series[column], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            axes.set_xticks([])
            axes.set_yticks([])
        grid[row, 0].set_ylabel(label, fontsize=8)
    figure.suptitle(title or f"{count} images (top) and their reconstructions (bottom)")
    return _save_atomically(figure, path, dpi)


def confusion_counts(predicted, true, classes=None):
    """The (C, C) int64 count matrix: row = true class, column = predicted class (as sklearn).

    ``classes`` is the number of classes, a sequence of class names, or ``None`` for one more
    than the largest label seen. ``predicted`` may also be (N, C) scores (argmax is taken).
    """
    predicted = _class_indices(predicted, "confusion_counts", "predicted")
    true = _class_indices(true, "confusion_counts", "true")
    _check_same_length("confusion_counts", predicted=predicted, true=true)
    class_count = _class_count(classes, predicted, true)
    for name, labels in (("predicted", predicted), ("true", true)):
        if labels.size and labels.max() >= class_count:
            raise ValueError(
                f"confusion_counts: {name} has label {labels.max()} but there are only {class_count} classes"
            )
    # Each (true, predicted) pair gets its own bin: one pass, no Python loop over samples.
    flat = np.bincount(true * class_count + predicted, minlength=class_count * class_count)
    return flat.reshape(class_count, class_count).astype(np.int64)


def confusion_matrix(predicted, true, path, classes=None, title=None, dpi=120):
    """The confusion matrix as a heat map with the count in every cell and the accuracy in the title.

    Arguments as ``confusion_counts``; class names given in ``classes`` label the axes. Rows are
    the true class, columns the predicted one. Returns ``path``.
    """
    counts = confusion_counts(predicted, true, classes)
    class_count = counts.shape[0]
    names = [str(name) for name in classes] if _is_name_sequence(classes) else [str(i) for i in range(class_count)]
    total = int(counts.sum())
    correct = int(np.trace(counts))
    if title is None:
        accuracy = f"{correct / total:.2%}" if total else "n/a"
        title = f"accuracy {accuracy} ({correct} of {total})"

    side = max(4.0, 0.55 * class_count + 2.0)
    figure = _new_figure(side + 1.0, side)
    axes = figure.subplots()
    image = axes.imshow(counts, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=axes, label="count")
    axes.set_xticks(range(class_count), names)
    axes.set_yticks(range(class_count), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if class_count <= 30:  # beyond that the numbers no longer fit in their cells
        _write_counts_in_cells(axes, counts)
    return _save_atomically(figure, path, dpi)


# --- drawing helpers -----------------------------------------------------------------------------


def _smoothing_window(values, smoothing):
    """The moving average's width for a series, or 0 where it is too short to smooth."""
    window = smoothing if smoothing is not None else len(values) // 25
    return window if window > 1 and len(values) > window else 0


def _draw_smoothed_series(axes, steps, values, name, colour, window):
    """A long, noisy series: the raw values faint, their trailing moving average on top."""
    spacing = _spacing(steps)
    if spacing == 1:
        raw, unit = "each step", "steps"
    else:
        raw, unit = (f"every {spacing:g} steps" if spacing else "each logged value"), "values"
    axes.plot(steps, values, color=colour, alpha=0.25, linewidth=0.8, label=f"{name}, {raw}")
    axes.plot(steps, _moving_average(values, window), color=colour, linewidth=1.6,
              label=f"{name}, moving average of {window} {unit}")


def _draw_marked_series(axes, steps, values, label, colour):
    """A short series, such as one test value per epoch: a marker on each point, above the other lines."""
    axes.plot(steps, values, color=colour, marker="o", markersize=6 if len(values) <= 50 else 3,
              markeredgecolor="white", markeredgewidth=0.8, linewidth=1.6, label=label, zorder=3)


def _spacing(steps):
    """The common difference of evenly spaced steps (1: every step), or None (uneven, or under 2 points)."""
    differences = np.diff(np.asarray(steps, dtype=np.float64))
    if differences.size == 0 or not np.allclose(differences, differences[0]):
        return None
    return float(differences[0])


def _moving_average(values, window):
    """Trailing mean of the last ``window`` values at each point (fewer at the start), same length.

    Trailing, not centred, so the smoothed curve at a step uses nothing from later steps.
    """
    values = np.asarray(values, dtype=np.float64)
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _format_accuracy_axis(axes, splits):
    """Show fractions as percentages; values already in percent are left alone."""
    from matplotlib.ticker import PercentFormatter

    largest = max((np.nanmax(s["accuracy"]) for s in splits.values() if len(s.get("accuracy", ()))), default=0)
    as_fraction = not np.isfinite(largest) or largest <= 1.0
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0 if as_fraction else 100.0))


def _write_counts_in_cells(axes, counts):
    """Each count in its cell, white on dark cells and black on light ones so it stays readable."""
    threshold = counts.max() / 2 if counts.size else 0
    fontsize = 9 if counts.shape[0] <= 12 else 6
    for row, column in np.ndindex(counts.shape):
        count = counts[row, column]
        axes.text(column, row, str(count), ha="center", va="center", fontsize=fontsize,
                  color="white" if count > threshold else "black")


def _new_figure(width, height):
    """A figure on its own Agg canvas: pyplot's figure registry and backend are never involved."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save_atomically(figure, path, dpi):
    """Write the figure atomically (see atomic_file.py). No fsync: a figure is cheap to redraw,
    only half-written files are the risk."""
    path = os.fspath(path)
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise ValueError(f"plot: cannot write {path!r}: it is a directory; give a file name such as 'curves.png'")
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    file_format = suffix or "png"
    supported = figure.canvas.get_supported_filetypes()
    if file_format not in supported:
        raise ValueError(f"plot: cannot write {path!r}: format {file_format!r} is not one of {sorted(supported)}")

    with atomic_write(path) as file:
        figure.savefig(file, format=file_format, dpi=dpi)
    return path


# --- input checks --------------------------------------------------------------------------------


def _to_numpy(values):
    """A NumPy array from an array, a list, or a Tensor (copied to the host first if it lives elsewhere)."""
    if hasattr(values, "numpy"):
        if getattr(values, "device", "cpu") != "cpu" and hasattr(values, "cpu"):
            values = values.cpu()
        return np.asarray(values.numpy())
    return np.asarray(values)


def _checked_history(history):
    """{split: {"step", "loss"?, "accuracy"?}} as float arrays, with every length checked."""
    if not hasattr(history, "items"):
        raise TypeError(
            "training_curves: history must be a dict like {'train': {'step': [...], 'loss': [...]}}, "
            f"got {type(history).__name__}"
        )
    splits = {}
    for name, series in history.items():
        if not hasattr(series, "items"):
            raise TypeError(
                f"training_curves: history[{name!r}] must be a dict of lists with keys {SERIES_KEYS}, "
                f"got {type(series).__name__}"
            )
        unknown = sorted(set(series) - set(SERIES_KEYS))
        if unknown:
            raise ValueError(f"training_curves: history[{name!r}] has unknown keys {unknown}; allowed: {SERIES_KEYS}")
        checked = {}
        for key in ("loss", "accuracy"):
            if key in series and len(series[key]):
                checked[key] = _series_values(series[key], name, key)
        if not checked:
            continue
        length = len(next(iter(checked.values())))
        steps = _series_values(series["step"], name, "step") if "step" in series else np.arange(length)
        for key, values in checked.items():
            if len(values) != len(steps):
                raise ValueError(
                    f"training_curves: history[{name!r}][{key!r}] has {len(values)} values "
                    f"but its 'step' has {len(steps)}"
                )
        splits[name] = {"step": steps, **checked}
    return splits


def _series_values(values, split, key):
    """One series as a float64 array; a list may hold 0-d Tensors (a logged loss, say)."""
    if isinstance(values, (list, tuple)):
        values = [_to_numpy(value) if hasattr(value, "numpy") else value for value in values]
    array = _to_numpy(values).astype(np.float64)
    if array.ndim != 1:
        raise ValueError(f"training_curves: history[{split!r}][{key!r}] must be a flat list of numbers")
    return array


def _greyscale_images(images, function="sample_grid"):
    images = _to_numpy(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(
            f"{function}: images must be greyscale, shaped (N, 1, H, W) or (N, H, W), got shape {images.shape}"
        )
    return images


def _class_indices(values, function, name):
    """Class indices as a 1-D int64 array; (N, C) scores become their argmax."""
    array = _to_numpy(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    elif array.ndim == 2:
        array = array.argmax(axis=1)
    if array.ndim != 1:
        raise ValueError(f"{function}: {name} must be N class indices or (N, C) scores, got shape {array.shape}")
    whole = np.issubdtype(array.dtype, np.integer) or (
        np.issubdtype(array.dtype, np.number) and bool(np.all(array == np.round(array)))
    )
    if array.size and not whole:
        raise ValueError(f"{function}: {name} must hold whole class indices, got dtype {array.dtype}")
    array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise ValueError(f"{function}: {name} has a negative class index {array.min()}")
    return array


def _check_same_length(function, **arrays):
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} {length}" for name, length in lengths.items())
        raise ValueError(f"{function}: inputs must have the same length, got {described}")


def _is_name_sequence(classes):
    return classes is not None and not isinstance(classes, (int, np.integer)) and not isinstance(classes, str)


def _class_count(classes, predicted, true):
    if classes is None:
        if predicted.size == 0:
            raise ValueError("confusion_counts: no labels, so the number of classes is unknown; pass classes=")
        return int(max(predicted.max(), true.max())) + 1
    if isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        if classes < 1:
            raise ValueError(f"confusion_counts: classes must be at least 1, got {classes}")
        return int(classes)
    if _is_name_sequence(classes) and len(classes) > 0:
        return len(classes)
    raise ValueError(f"confusion_counts: classes must be None, a positive int or a sequence of names, got {classes!r}")
