"""mg.progress: silent off a terminal, a tqdm bar with loss and img/s on one, and exact summaries."""
import io
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

import minigrad as mg
from minigrad import progress
from minigrad.progress import ProgressBar


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self):
        return True


class DeviceScalar:
    """Stands in for a 0-d tensor on a GPU: counts how often it is read back to the host."""

    reads = 0

    def __init__(self, value):
        self.value = value
        self.device = "cuda"

    def detach(self):
        return self

    def item(self):
        DeviceScalar.reads += 1
        return self.value


def run_epoch(bar, steps=((100, 1.0, 0.5), (50, 4.0, 1.0))):
    for images, loss, accuracy in steps:
        bar.update(images=images, loss=loss, accuracy=accuracy)


# --- drawing or not ------------------------------------------------------------------------------


def test_off_a_terminal_no_bar_is_drawn_but_plain_lines_are_printed(capsys):
    with ProgressBar(total=1000, description="epoch 1/1") as bar:  # pytest's captured stderr is no terminal
        for _ in range(10):
            bar.update(images=100, loss=0.5, accuracy=0.75)
    assert not bar.enabled and bar.lines
    captured = capsys.readouterr()
    assert "\r" not in captured.err and captured.out == ""
    lines = captured.err.splitlines()
    # One line at each 10% but the last, which the caller's summary line covers.
    assert len(lines) == 9
    assert re.fullmatch(r"epoch 1/1: step 3, 300/1,000 img \(30%\), loss 0\.5000, accuracy 75\.00%, "
                        r"[\d,]+ img/s, \d+ (s|min \d+ s|h \d+ min) left", lines[2]), lines[2]


def test_plain_lines_also_come_every_so_many_seconds(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(progress, "perf_counter", lambda: clock[0])
    output = io.StringIO()
    bar = ProgressBar(total=1_000_000, file=output, line_seconds=30)
    for _ in range(10):  # 1 image a second: far from the next 10%, so only the clock speaks
        clock[0] += 1.0
        bar.update(images=1, loss=2.0)
    assert output.getvalue() == ""
    clock[0] += 25.0
    bar.exclude(25.0)  # a compile: its time does not count towards the 30 s
    for _ in range(20):
        clock[0] += 1.0
        bar.update(images=1, loss=2.0)
    lines = output.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0] == "step 30, 30/1,000,000 img (0%), loss 2.0000, 1 img/s, 277 h 46 min left"


def test_lines_can_be_forced_on_or_off(capsys):
    with ProgressBar(total=10, enabled=False) as bar:
        bar.update(images=5)
    with ProgressBar(total=10, lines=False) as bar:
        bar.update(images=5)
    assert capsys.readouterr().err == ""
    terminal = Terminal()
    with ProgressBar(total=10, enabled=False, lines=True, file=terminal) as bar:
        bar.update(images=5)
    assert terminal.getvalue().startswith("step 1, 5/10 img (50%), ")


def test_a_time_left_reads_in_units_that_matter():
    assert progress._duration(46.4) == "46 s"
    assert progress._duration(725) == "12 min 5 s"
    assert progress._duration(2 * 3600 + 3 * 60 + 59) == "2 h 3 min"


def test_a_forced_off_bar_prints_nothing_even_on_a_terminal(capsys):
    terminal = Terminal()
    with ProgressBar(total=150, enabled=False, file=terminal) as bar:
        run_epoch(bar)
    assert terminal.getvalue() == ""
    assert capsys.readouterr() == ("", "")


def test_on_a_terminal_the_bar_is_drawn_by_default():
    terminal = Terminal()
    with ProgressBar(total=150, file=terminal) as bar:
        run_epoch(bar)
    assert bar.enabled
    assert "img/s" in terminal.getvalue()


def test_an_enabled_bar_shows_description_count_rate_loss_and_accuracy():
    output = io.StringIO()
    with ProgressBar(total=150, description="epoch 2/3", enabled=True, file=output, interval=0) as bar:
        run_epoch(bar)
    text = output.getvalue()
    final_line = text.rstrip("\n").split("\r")[-1]
    assert final_line.startswith("epoch 2/3: 100%")
    assert "150/150" in final_line
    assert "img/s" in final_line
    assert "loss=2.0000" in final_line and "acc=66.67%" in final_line
    assert "loss=1.0000, acc=50.00%" in text  # drawn after the first step too, since interval=0


def test_the_postfix_is_redrawn_only_every_interval():
    output = io.StringIO()
    with ProgressBar(total=10_000, enabled=True, file=output, interval=3600) as bar:
        for _ in range(100):
            bar.update(images=100, loss=0.5)
        assert "loss" not in output.getvalue()  # an hour has not passed: only the initial empty bar
    assert "loss=0.5000" in output.getvalue()  # close() draws the final state


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a Linux pseudo-terminal")
def test_a_terminal_that_reports_no_size_still_gets_a_bar():
    import pty

    controller, terminal_descriptor = pty.openpty()  # a fresh pty is 0 x 0, as under `script` in CI
    chunks = []
    try:
        with os.fdopen(terminal_descriptor, "w") as terminal:
            with ProgressBar(total=10, file=terminal) as bar:
                bar.update(images=10, loss=0.5)
        # One read returns what has arrived so far, which on a busy machine may be only the first
        # drawing: read until the closed terminal side reports the end (EIO on Linux).
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(controller)
    assert b"loss=0.5000" in b"".join(chunks)


def test_the_unit_names_the_rate():
    output = io.StringIO()
    with ProgressBar(total=3, unit="batch", enabled=True, file=output) as bar:
        bar.update(images=3)
    assert "batch/s" in output.getvalue()


# --- summary -------------------------------------------------------------------------------------


@pytest.mark.parametrize("enabled", [False, True])
def test_summary_means_are_weighted_by_images(enabled):
    with ProgressBar(total=150, enabled=enabled, file=io.StringIO()) as bar:
        run_epoch(bar)
    summary = bar.summary()
    assert summary["images"] == 150
    assert summary["loss"] == pytest.approx((100 * 1.0 + 50 * 4.0) / 150)
    assert summary["accuracy"] == pytest.approx((100 * 0.5 + 50 * 1.0) / 150)
    assert summary["seconds"] > 0
    assert summary["images_per_second"] == pytest.approx(150 / summary["seconds"])


def test_seconds_run_until_close_and_then_stop():
    bar = ProgressBar(enabled=False)
    bar.update(images=10)
    time.sleep(0.02)
    open_seconds = bar.summary()["seconds"]
    assert open_seconds >= 0.02
    bar.close()
    closed_seconds = bar.summary()["seconds"]
    time.sleep(0.01)
    assert bar.summary()["seconds"] == closed_seconds >= open_seconds
    bar.close()  # a second close changes nothing
    assert bar.summary()["seconds"] == closed_seconds


def test_metrics_never_given_are_nan_and_left_out_of_the_summary_line():
    with ProgressBar(description="eval", enabled=False) as bar:
        bar.update(images=64)
    summary = bar.summary()
    assert math.isnan(summary["loss"]) and math.isnan(summary["accuracy"])
    assert bar.summary_line().startswith("eval: ") and "loss" not in bar.summary_line()
    assert bar.summary_line().endswith(" s") and "img/s" in bar.summary_line()


def test_summary_line_reads_well():
    with ProgressBar(description="epoch 1/3", enabled=False) as bar:
        run_epoch(bar)
    line = bar.summary_line()
    assert line.startswith("epoch 1/3: loss 2.0000, accuracy 66.67%, ")
    assert " img/s, " in line


def test_loss_may_be_a_tensor_or_a_numpy_scalar():
    with ProgressBar(enabled=False) as bar:
        bar.update(images=2, loss=mg.tensor(1.0), accuracy=np.float32(0.5))
        bar.update(images=2, loss=np.float64(3.0), accuracy=mg.tensor(1.0, dtype=mg.float64))
    assert bar.summary()["loss"] == pytest.approx(2.0)
    assert bar.summary()["accuracy"] == pytest.approx(0.75)


def test_device_scalars_are_read_only_when_needed():
    DeviceScalar.reads = 0
    bar = ProgressBar(enabled=False)
    for value in (1.0, 2.0, 3.0):
        bar.update(images=1, loss=DeviceScalar(value))
    assert DeviceScalar.reads == 0  # no device synchronisation per step
    assert bar.summary()["loss"] == pytest.approx(2.0)
    assert DeviceScalar.reads == 3


def test_pending_device_scalars_are_bounded():
    DeviceScalar.reads = 0
    bar = ProgressBar(enabled=False)
    for _ in range(progress.PENDING_LIMIT + 5):
        bar.update(images=1, loss=DeviceScalar(1.0))
    assert DeviceScalar.reads == progress.PENDING_LIMIT
    assert bar.summary()["loss"] == pytest.approx(1.0)


# --- imports -------------------------------------------------------------------------------------


def test_importing_minigrad_imports_neither_tqdm_nor_matplotlib():
    script = (
        "import sys, minigrad, minigrad.plot, minigrad.progress\n"
        "bar = minigrad.progress.ProgressBar(enabled=False)\n"
        "bar.update(images=1, loss=0.5)\n"
        "bar.close()\n"
        "loaded = sorted(name for name in ('tqdm', 'matplotlib') if name in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- the first run's compile ---------------------------------------------------------------------


def test_excluded_seconds_leave_the_rate_and_the_summary():
    for enabled in (False, True):
        bar = ProgressBar(total=200, enabled=enabled, file=Terminal())
        time.sleep(0.2)  # stands in for a step that compiled its kernels
        bar.exclude(0.2)
        bar.update(images=100)
        bar.close()
        assert bar.summary()["seconds"] < 0.1
        assert bar.summary()["images_per_second"] > 1000


def test_compile_notice_speaks_only_when_kernels_compile():
    import numba

    @numba.njit
    def double(x):
        return 2 * x

    out = io.StringIO()
    with progress.compile_notice(file=out) as compiling:
        double(1.0)
    assert compiling.seconds > 0
    assert out.getvalue().startswith("compiling minigrad's kernels for this machine on first use")
    assert out.getvalue().splitlines()[-1].startswith("compiled in ")
    out = io.StringIO()
    with progress.compile_notice(file=out) as compiling:
        double(2.0)  # compiled already: nothing happens, nothing is said
    assert compiling.seconds == 0.0 and out.getvalue() == ""


def test_a_cache_load_is_not_a_compile(tmp_path):
    """Numba announces only real compiles: a second process loading the kernel from its cache
    hears nothing."""
    script = tmp_path / "kernel.py"
    script.write_text("import io, numba\nfrom minigrad import progress\n"
                      "@numba.njit(cache=True)\ndef triple(x):\n    return 3 * x\n"
                      "out = io.StringIO()\n"
                      "with progress.compile_notice(file=out) as compiling:\n    triple(1.0)\n"
                      "print(compiling.seconds > 0, repr(out.getvalue()[:9]))\n")
    runs = [subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                           check=True, env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))).stdout
            for _ in range(2)]
    assert runs == ["True 'compiling'\n", "False ''\n"]


def test_a_compile_notice_under_a_drawn_bar_gets_its_own_line():
    terminal = Terminal()
    with ProgressBar(total=10, description="epoch 1/1", file=terminal) as bar:
        bar.update(images=1)
        progress._say("compiling ...", terminal)
        written = terminal.getvalue()
    before = written[:written.index("compiling ...")]
    assert before.endswith("\r"), repr(written)  # the bar was cleared first, not written after
    assert "compiling ...\n" in written
