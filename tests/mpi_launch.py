"""Run a Python script on several MPI ranks from a test: ``run_ranks`` and the ``needs_mpi`` mark.

    from mpi_launch import needs_mpi, run_ranks

    @needs_mpi
    def test_something():
        result = run_ranks("import minigrad as mg; mg.distributed.init(); ...", ranks=2, timeout=60)
        assert result.returncode == 0, result.stderr

Each rank runs with one Numba thread and one OpenMP thread: the CI machine has two cores, and two
ranks with a thread each fill them. The launcher is the venv's ``mpiexec`` (the mpich wheel puts it
next to the interpreter) before any on PATH, so the MPI that mpi4py was built for is the one used.
"""
import importlib.util
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def find_mpiexec():
    """The mpiexec beside sys.executable, else the one on PATH, else None."""
    beside = pathlib.Path(sys.executable).parent / "mpiexec"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("mpiexec")


def mpi_missing_reason():
    if importlib.util.find_spec("mpi4py") is None:
        return 'mpi4py is not installed (pip install -e ".[distributed]")'
    if find_mpiexec() is None:
        return 'no mpiexec next to the interpreter or on PATH (pip install -e ".[distributed]")'
    return None


needs_mpi = pytest.mark.skipif(mpi_missing_reason() is not None, reason=str(mpi_missing_reason()))


def run_ranks(script, ranks=2, timeout=120, env=None, args=()):
    """``mpiexec -n ranks python script *args``; the CompletedProcess, stdout and stderr as text.

    ``script`` is a path to a Python file, or Python source (written to a temporary file). ``env``
    adds to (or, with None values, removes from) this process's environment. A job still running
    after ``timeout`` seconds is killed and subprocess.TimeoutExpired raised.
    """
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise RuntimeError(mpi_missing_reason())
    environment = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = str(value)
    with tempfile.TemporaryDirectory(prefix="mpi_launch_") as folder:
        path = pathlib.Path(script) if _is_path(script) else pathlib.Path(folder) / "ranks_script.py"
        if not _is_path(script):
            path.write_text(script)
        command = [mpiexec, "-n", str(ranks), sys.executable, str(path), *map(str, args)]
        # A session of its own, so a timeout kills mpiexec and every rank, not mpiexec alone.
        process = subprocess.Popen(command, env=environment, cwd=str(ROOT), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise subprocess.TimeoutExpired(command, timeout, stdout, stderr) from None
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _is_path(script):
    if isinstance(script, os.PathLike):
        return True
    return "\n" not in script and script.endswith(".py") and pathlib.Path(script).is_file()
