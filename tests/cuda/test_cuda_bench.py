"""``python -m minigrad.bench --device cuda --quick`` runs every part of the GPU suite and prints its figures.

Under the simulator the figures time the simulator, so only that they are printed is checked. The
command runs in a process of its own, started through this folder's conftest.py so that the
simulator's shared arrays get the same fix as in the other tests here (the matmul part checks its
result, and the unfixed simulator can get a tile wrong).

Because the command is a process of its own, these tests need no simulator in the test process:
without a GPU they run in the main test session (the command under the simulator), and the
simulator's session, the longer of the two, which runs beside it, leaves this file out
(tests/conftest.py).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from numba import cuda

FOLDER = Path(__file__).resolve().parent
PROGRAM = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); import conftest; "
    "runpy.run_module('minigrad.bench', run_name='__main__')"
)
NUMBER = r"(\d+(?:\.\d+)?(?:e[+-]?\d+)?)"


@pytest.fixture(autouse=True)
def a_gpu_or_the_simulator():
    """Replaces the folder's fixture of that name, which skips without a GPU or the simulator: the
    command brings its own simulator."""


def run_bench(*arguments):
    environment = dict(os.environ)
    if not cuda.is_available():
        environment["NUMBA_ENABLE_CUDASIM"] = "1"
    completed = subprocess.run([sys.executable, "-c", PROGRAM, str(FOLDER), *arguments], env=environment,
                               capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return completed.stdout


def numbers_after(label, output):
    """The numbers on the line that starts with ``label`` (after stripping its indentation)."""
    for line in output.splitlines():
        if line.strip().startswith(label):
            return [float(value) for value in re.findall(NUMBER, line.strip()[len(label):])]
    raise AssertionError(f"no line starting with {label!r} in:\n{output}")


def test_the_quick_suite_prints_every_part_with_its_figures():
    output = run_bench("--device", "cuda", "--quick")
    for section in ("== matmul", "== conv", "== cnn", "== adam"):
        assert section in output
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        assert "simulator" in output and "PyTorch CUDA: not available" in output
    # matmul: first call s, ms, TFLOP/s (and PyTorch's ms, TFLOP/s, ratio where it runs)
    for label in ("64 square", "2x2 @ 2x8 (CNN)"):
        first, milliseconds, tflops = numbers_after(label, output)[:3]
        assert first > 0 and milliseconds > 0 and tflops > 0
    # conv: four layers, first calls, fwd and fwd+bwd milliseconds
    for label in ("conv1 5x5 1->1 same", "pool1 max 2x2", "conv2 5x5 1->2 same", "pool2 max 2x2"):
        assert all(value > 0 for value in numbers_after(label, output)[-3:])
    assert re.search(r"minigrad\s+first call\s+[\d.]+ s\s+[\d.]+ ms/step\s+[\d.]+ img/s\s+last loss [\d.]+", output)
    assert re.search(r"minigrad\s+first call\s+[\d.]+ s\s+[\d.]+ us/step", output)
    assert "Traceback" not in output


def test_a_part_alone_runs_only_that_part():
    output = run_bench("matmul", "--device", "cuda", "--quick", "--repeats", "1")
    assert "== matmul" in output and "64 square" in output
    assert "== conv" not in output and "== cnn" not in output and "== adam" not in output
