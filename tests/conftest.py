"""What the whole test session shares: the CUDA simulator's suite running beside it, and the fixed
small graph the tests of explain() and mg.viz use.

The simulator suite (tests/cuda/ under NUMBA_ENABLE_CUDASIM=1) needs a process of its own: the
simulator must be switched on before Numba is imported. It takes about as long as all the other
tests together, so it starts as soon as collection has found its test, runs on the second core
while this process works through the rest, and its test, moved to the end of the run, collects
its result (tests/test_cuda_kernels.py).
"""
import itertools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import minigrad as mg
from minigrad import autograd

SIMULATOR_TEST = "test_cuda_kernels_match_the_cpu_ones_under_the_simulator"
SIMULATOR_TIMEOUT = 1800


class SimulatorSuite:
    """``pytest tests/cuda`` in a child process with the CUDA simulator on, output to a temporary file."""

    def __init__(self):
        self.output = tempfile.TemporaryFile(mode="w+")
        folder = Path(__file__).resolve().parent / "cuda"
        # test_cuda_bench.py starts its own simulated process, so it runs in the main session
        # instead, evening out the two sessions' lengths.
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=10",
                   f"--ignore={folder / 'test_cuda_bench.py'}", str(folder)]
        environment = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", NUMBA_NUM_THREADS="1")
        self.process = subprocess.Popen(command, env=environment,
                                        stdout=self.output, stderr=subprocess.STDOUT, text=True)
        self.result = None

    def wait(self):
        """(return code, output): waits for the child the first time."""
        if self.result is None:
            try:
                self.process.wait(timeout=SIMULATOR_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.output.seek(0)
            self.result = (self.process.returncode, self.output.read())
        return self.result


def pytest_collection_modifyitems(session, config, items):
    """The simulator suite's test runs last, so the suite has the whole session to finish beside it."""
    simulator = [item for item in items if item.name == SIMULATOR_TEST]
    items[:] = [item for item in items if item.name != SIMULATOR_TEST] + simulator


def pytest_collection_finish(session):
    if any(item.name == SIMULATOR_TEST for item in session.items):
        session.config.simulator_suite = SimulatorSuite()


def pytest_unconfigure(config):
    suite = getattr(config, "simulator_suite", None)
    if suite is not None and suite.result is None:  # the session stopped early: do not leave it running
        suite.process.kill()
        suite.process.wait()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The simulator suite's own slowest tests and summary, after this session's."""
    suite = getattr(config, "simulator_suite", None)
    if suite is None or suite.result is None:
        return
    _, output = suite.result
    start = output.find("slowest")
    if start != -1:
        terminalreporter.write_sep("=", "the CUDA simulator suite (tests/cuda, a process of its own)")
        terminalreporter.write_line(output[output.find("\n", start) + 1 :].rstrip())


@pytest.fixture
def simulator_suite(request):
    """The simulator suite's (return code, output), once it has finished."""
    suite = getattr(request.config, "simulator_suite", None)
    if suite is None:  # collected in an unusual way (by name from another hook): run it now
        suite = request.config.simulator_suite = SimulatorSuite()
    return suite.wait()


@pytest.fixture
def fresh_sequence_numbers(monkeypatch):
    """Sequence numbers come from one global counter; start it at 0 so expected texts are fixed."""
    monkeypatch.setattr(autograd, "_sequence_numbers", itertools.count())


@pytest.fixture
def small_graph(fresh_sequence_numbers):
    """(x, w, b, relu(x @ w + b).sum()) with x = [[1, -1]]: x @ w + b = [2.5, -1.5], one unit passes."""
    x = mg.tensor([[1.0, -1.0]], dtype=mg.float64)
    w = mg.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([0.5, -0.5], dtype=mg.float64, requires_grad=True)
    return x, w, b, (x @ w + b).relu().sum()
