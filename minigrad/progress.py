"""A progress bar for training loops: images/s, running loss and accuracy, and an end-of-epoch summary.

    with mg.progress.ProgressBar(total=len(train_images), description="epoch 1/3") as bar:
        for images, labels in loader:
            ...
            bar.update(images=len(images), loss=loss_value, accuracy=batch_accuracy)
    print(bar.summary_line())      # epoch 1/3: loss 0.2141, accuracy 93.70%, 5,210 img/s, 11.5 s

The bar is drawn by tqdm on stderr when stderr is a terminal. Elsewhere (a log file, a pipe, nohup,
a CI job) a bar's carriage returns would make a mess, so plain lines are printed instead, at a
steady pace: every 10% of ``total`` or every 30 s, whichever comes first, each with the step, the
images so far, the running loss and accuracy, the rate and the time left:

    epoch 1/3: step 60, 6,000/60,000 img (10%), loss 0.4521, accuracy 86.20%, 1,180 img/s, 46 s left

``summary()`` / ``summary_line()`` give the one line per epoch worth keeping. The bar counts *images* (or whatever ``unit`` is), not steps: ``total`` is the number of
images in the epoch and each ``update`` says how many the step processed, so the rate tqdm shows
is images per second: tqdm's smoothed current rate while the bar runs, the average over the whole
bar on its final line (the same figure as ``summary()["images_per_second"]``).

Loss and accuracy are running means over the whole bar, weighted by each step's image count, so
at the end they are exactly the per-image means of the epoch (a short last batch counts for what
it is worth). Not an exponential moving average: it answers "how did this epoch go" and agrees
with the summary.

The first run on a machine compiles minigrad's kernels (Numba caches them on disk for later runs):
``compile_notice()`` around a step says so when, and only when, it compiles, and how long that
took; ``bar.exclude(seconds)`` leaves that time out of the bar's rate and summary, which measure
training:

    with mg.progress.compile_notice() as compiling:
        ... one training step ...
    bar.exclude(compiling.seconds)

Cost: a silent bar does a few additions per ``update``; a drawn one or one printing lines also
reads the clock, and hands its counts to tqdm or formats a line only every ``interval`` seconds
or at its next 10%. tqdm is imported only when a bar is
drawn, so ``import minigrad`` does not import it.
"""
import contextlib
import math
import os
import sys
from time import perf_counter

__all__ = ["ProgressBar", "compile_notice"]

# A value that is not a plain number (a Tensor on a GPU, say) is kept, detached, until this many
# have piled up or the bar needs the mean: converting it with .item() would wait for the device.
PENDING_LIMIT = 1024


class ProgressBar:
    """A tqdm bar over a count of images, with the running loss and accuracy in its postfix.

    Arguments:
        total: images in the whole bar (for example the epoch), or None when unknown.
        description: text before the bar, such as "epoch 1/3"; also starts ``summary_line()``.
        unit: what is counted; the rate is shown as ``unit``/s.
        enabled: None draws the bar only when ``file`` is a terminal; True or False forces it.
        file: where the bar goes, stderr by default.
        interval: seconds between redraws; the postfix is formatted only then.
        leave: keep the finished bar on screen (True) or erase it.
        lines: print plain progress lines instead of a bar. None (the default) prints them when
            ``enabled`` is None and ``file`` is not a terminal; True or False forces it.
        line_seconds, line_fraction: a line is printed every ``line_seconds`` of training time
            and each time another ``line_fraction`` of ``total`` is done, whichever comes first.

    ``update(images, loss, accuracy)`` takes ``loss`` and ``accuracy`` (a fraction in [0, 1]) as
    Python floats, or as anything with ``.item()`` such as a 0-d Tensor: a CPU tensor is read at
    once, one on another device only when the bar is redrawn or the summary asked for, so it
    does not force a device synchronisation every step.
    """

    def __init__(self, total=None, description=None, unit="img", enabled=None, file=None, interval=0.25,
                 leave=True, lines=None, line_seconds=30.0, line_fraction=0.1):
        self.total = total
        self.description = description
        self.unit = unit
        self.file = sys.stderr if file is None else file  # looked up now: tests and notebooks replace sys.stderr
        terminal = _is_terminal(self.file)
        self.enabled = terminal if enabled is None else bool(enabled)
        self.lines = (enabled is None and not terminal) if lines is None else bool(lines)
        self.interval = interval
        self.line_seconds = line_seconds
        self.line_images = total * line_fraction if total else math.inf
        self.images = 0
        self.steps = 0
        self._loss = _RunningMean()
        self._accuracy = _RunningMean()
        self._end = None
        self._bar = _new_tqdm(total, description, unit, self.file, leave) if self.enabled else None
        self._start = perf_counter()  # after tqdm's first import, which is not training time
        self._next_draw = self._start + interval
        self._drawn_images = 0
        self._next_line_time = self._start + line_seconds
        self._next_line_images = self.line_images

    def update(self, images=1, loss=None, accuracy=None):
        """Count ``images`` more, and add this step's loss and accuracy (each weighted by ``images``)."""
        self.images += images
        self.steps += 1
        if loss is not None:
            self._loss.add(loss, images)
        if accuracy is not None:
            self._accuracy.add(accuracy, images)
        if self._bar is not None:
            now = perf_counter()
            if now >= self._next_draw:
                self._draw(now)
        if self.lines:
            now = perf_counter()
            if now >= self._next_line_time or self.images >= self._next_line_images:
                self._print_line(now)

    def exclude(self, seconds):
        """Leave ``seconds`` just spent (a step that compiled kernels, say) out of the bar's time:
        its rate, its estimate of the time left and ``summary()`` count only the rest."""
        if seconds <= 0:
            return
        self._start += seconds
        self._next_draw += seconds
        self._next_line_time += seconds
        if self._bar is not None:
            self._bar.start_t += seconds
            self._bar.last_print_t += seconds

    def close(self):
        """Stop the clock and draw the final state of the bar. Safe to call twice."""
        if self._end is None:
            self._end = perf_counter()
        if self._bar is not None:
            # tqdm.close() draws the final line itself (with the average rate), so only the
            # count and postfix are brought up to date here rather than drawing twice.
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            self._bar.n = self.images
            self._bar.close()
            self._bar = None

    def summary(self):
        """The bar's totals as a dict, whether or not it was drawn.

        ``loss`` and ``accuracy`` are the image-weighted means (NaN when never given), ``images``
        the count, ``seconds`` the time from creation to ``close()`` (or to now while open), and
        ``images_per_second`` their ratio.
        """
        seconds = (perf_counter() if self._end is None else self._end) - self._start
        return {
            "loss": self._loss.mean(),
            "accuracy": self._accuracy.mean(),
            "images": self.images,
            "seconds": seconds,
            "images_per_second": self.images / seconds if seconds > 0 else math.nan,
        }

    def summary_line(self):
        """One line for a log: ``epoch 1/3: loss 0.2141, accuracy 93.70%, 5,210 img/s, 11.5 s``."""
        summary = self.summary()
        parts = self._metrics(loss_label="loss ", accuracy_label="accuracy ")
        parts.append(f"{summary['images_per_second']:,.0f} {self.unit}/s")
        parts.append(f"{summary['seconds']:.1f} s")
        line = ", ".join(parts)
        return f"{self.description}: {line}" if self.description else line

    def __enter__(self):
        return self

    def __exit__(self, *exception_info):
        self.close()
        return False

    def _draw(self, now):
        """Hand tqdm the images counted since the last draw, with a fresh postfix; tqdm redraws."""
        self._bar.set_postfix_str(self._postfix(), refresh=False)
        self._bar.update(self.images - self._drawn_images)
        self._drawn_images = self.images
        self._next_draw = now + self.interval

    def _print_line(self, now):
        """One plain progress line, for a file that is not a terminal; none once ``total`` is
        reached, where the caller's summary line says it all."""
        while self._next_line_images <= self.images:
            self._next_line_images += self.line_images
        self._next_line_time = now + self.line_seconds
        if self.total and self.images >= self.total:
            return
        seconds = now - self._start
        rate = self.images / seconds if seconds > 0 else math.nan
        parts = [f"step {self.steps:,}"]
        if self.total:
            parts.append(f"{self.images:,}/{self.total:,} {self.unit} ({self.images / self.total:.0%})")
        else:
            parts.append(f"{self.images:,} {self.unit}")
        parts += self._metrics(loss_label="loss ", accuracy_label="accuracy ")
        parts.append(f"{rate:,.0f} {self.unit}/s")
        if self.total and rate > 0:
            parts.append(f"{_duration((self.total - self.images) / rate)} left")
        line = ", ".join(parts)
        print(f"{self.description}: {line}" if self.description else line, file=self.file, flush=True)

    def _postfix(self):
        return ", ".join(self._metrics(loss_label="loss=", accuracy_label="acc="))

    def _metrics(self, loss_label, accuracy_label):
        """The running loss and accuracy as labelled strings, leaving out those never given."""
        parts = []
        loss = self._loss.mean()
        if not math.isnan(loss):
            parts.append(f"{loss_label}{loss:.4f}")
        accuracy = self._accuracy.mean()
        if not math.isnan(accuracy):
            parts.append(f"{accuracy_label}{accuracy:.2%}")
        return parts


class CompileTime:
    """What ``compile_notice`` saw: ``seconds`` spent compiling kernels in its block (0.0 when every
    kernel came from the cache or was compiled earlier in the process)."""

    def __init__(self):
        self.seconds = 0.0
        self.depth = 0         # compiles under way: Numba compiles a kernel's helpers inside it
        self.started = None    # when the outermost compile under way began


@contextlib.contextmanager
def compile_notice(file=None):
    """Say when the block compiles kernels, as minigrad's first run on a machine does, and how long
    it took; nothing when every kernel it needs is in Numba's on-disk cache.

    Numba announces an event only around a real compile (a cache miss), never around a load from
    the cache, so a warm run prints nothing. The message goes to ``file`` (stdout by default),
    flushed, so a log shows it during the wait rather than after. Yields a ``CompileTime``.
    """
    from numba.core import event  # minigrad's kernels need Numba anyway; imported on first use

    file = sys.stdout if file is None else file
    compile_time = CompileTime()

    class Listener(event.Listener):
        def on_start(self, compile_event):
            if compile_time.depth == 0:
                if compile_time.seconds == 0.0 and compile_time.started is None:
                    _say("compiling minigrad's kernels for this machine on first use "
                         "(once: Numba caches them for later runs) ...", file)
                compile_time.started = perf_counter()
            compile_time.depth += 1

        def on_end(self, compile_event):
            compile_time.depth -= 1
            if compile_time.depth == 0:
                compile_time.seconds += perf_counter() - compile_time.started

    with event.install_listener("numba:compile", Listener()):
        yield compile_time
    if compile_time.seconds > 0:
        _say(f"compiled in {compile_time.seconds:.1f} s", file)


def _say(message, file):
    """Print a line; while a tqdm bar is on screen, through tqdm.write, which clears the bar, prints
    and redraws it, so the line does not land in the middle of the bar."""
    tqdm_module = sys.modules.get("tqdm")
    if tqdm_module is not None and getattr(tqdm_module.tqdm, "_instances", None):
        tqdm_module.tqdm.write(message, file=file)
        file.flush()
    else:
        print(message, file=file, flush=True)


class _RunningMean:
    """A weighted mean that accepts floats at once and holds device scalars until they are needed."""

    __slots__ = ("pending", "total", "weight")

    def __init__(self):
        self.total = 0.0
        self.weight = 0
        self.pending = []

    def add(self, value, weight):
        if isinstance(value, (float, int)):
            self.total += value * weight
            self.weight += weight
        elif getattr(value, "device", "cpu") == "cpu" and hasattr(value, "item"):
            self.total += value.item() * weight  # a CPU tensor or NumPy scalar: reading it is free
            self.weight += weight
        else:
            # Detached so a loss tensor does not keep its whole graph (and activations) alive.
            self.pending.append((value.detach() if hasattr(value, "detach") else value, weight))
            if len(self.pending) >= PENDING_LIMIT:
                self.resolve()

    def resolve(self):
        for value, weight in self.pending:
            self.total += (value.item() if hasattr(value, "item") else float(value)) * weight
            self.weight += weight
        self.pending.clear()

    def mean(self):
        self.resolve()
        return self.total / self.weight if self.weight else math.nan


def _duration(seconds):
    """``46 s``, ``12 min 5 s``, ``2 h 3 min``: a time left, to the precision that matters."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _is_terminal(file):
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed file
        return False


def _terminal_columns(file):
    try:
        return os.get_terminal_size(file.fileno()).columns
    except (AttributeError, ValueError, OSError):  # not a terminal, or no file descriptor (StringIO)
        return None


def _new_tqdm(total, description, unit, file, leave):
    from tqdm import tqdm

    # A terminal that reports a zero size (a pty nobody sized, as `script` or `docker -t` in CI
    # can give) makes tqdm draw nothing at all; give it an ordinary 80 x 24 there instead.
    columns = _terminal_columns(file)
    size = {"ncols": 80, "nrows": 24} if columns == 0 else {"dynamic_ncols": True}
    # mininterval=0 and miniters=0: tqdm redraws on every update it gets, and it gets one only
    # every `interval` seconds from ProgressBar, which keeps the per-step cost to a clock read.
    return tqdm(total=total, desc=description, unit=unit, unit_scale=True, file=file, leave=leave,
                mininterval=0, miniters=0, **size)
