"""examples/mnist_cnn.py --distributed under `mpiexec -n 2`: Ctrl-C and --resume give the uninterrupted
run, rank 0 alone prints and writes, and a launch without --distributed is refused."""
import os
import pathlib
import re
import signal
import subprocess
import sys

import pytest

from mpi_launch import find_mpiexec, needs_mpi, run_ranks

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "mnist_cnn.py"
COMMON = ["--train-limit", "2000", "--test-limit", "500"]

needs_mnist = pytest.mark.skipif(not os.path.isdir(os.environ.get("MINIGRAD_DATA", "")),
                                 reason="set MINIGRAD_DATA to a directory with the MNIST IDX files")


def epoch_lines(output):  # each epoch's figures, without its speed and timing
    return re.findall(r"^(epoch \d/2: .*?), [\d,]+ img/s", output, re.MULTILINE)


def launch(*arguments):
    result = run_ranks(EXAMPLE, ranks=2, timeout=300, args=arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@needs_mpi
@needs_mnist
def test_ctrl_c_then_resume_on_two_processes_gives_the_uninterrupted_run(tmp_path):
    uninterrupted = launch("--distributed", "--epochs", "2", *COMMON, "--plot", str(tmp_path / "figures"))
    assert len(epoch_lines(uninterrupted)) == 2  # one line per epoch: rank 0 speaks for both
    assert uninterrupted.count("final test_accuracy=") == 1
    assert sorted(os.listdir(tmp_path / "figures")) == ["confusion.png", "curves.png", "samples.png"]

    checkpoint = tmp_path / "run.npz"
    environment = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    interrupted = subprocess.Popen(
        [find_mpiexec(), "-n", "2", sys.executable, str(EXAMPLE), "--distributed", "--epochs", "2",
         "--save", str(checkpoint), *COMMON],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    for line in interrupted.stderr:  # mpiexec passes Ctrl-C on to both processes
        if line.startswith("epoch 1/2: step "):
            interrupted.send_signal(signal.SIGINT)
            break
    stdout, stderr = interrupted.communicate(timeout=300)
    assert interrupted.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert len(re.findall(r"^interrupted after (step|epoch) .*: run saved to .*run\.npz", stdout, re.MULTILINE)) == 1
    assert sorted(os.listdir(tmp_path)) == ["figures", "run.npz"]  # one file, written by rank 0 alone, whole

    resumed = launch("--distributed", "--resume", str(checkpoint), *COMMON)
    assert re.search(r"^resumed .* of a 2-epoch run\)$", resumed, re.MULTILINE), resumed
    # Each process's dropout masks and shard continue where they stopped: the same figures.
    assert epoch_lines(resumed)[-1] == epoch_lines(uninterrupted)[-1]
    assert re.search(r"final test_accuracy=(\S+)", resumed).group(1) == \
        re.search(r"final test_accuracy=(\S+)", uninterrupted).group(1)


@needs_mpi
@needs_mnist
def test_two_processes_without_distributed_are_refused():
    result = run_ranks(EXAMPLE, ranks=2, timeout=120, args=("--epochs", "1", *COMMON))
    assert result.returncode != 0
    assert "launched as 2 processes: add --distributed" in result.stderr
